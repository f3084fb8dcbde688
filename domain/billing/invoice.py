"""A client invoice (seed 000 invoices and service bookings, seed 003 payments and invoicing).

Lines come from two places:
- charge lines: a charge's open balance moved onto the invoice (`Charge.transfer_to_invoice`);
  quantity = units and unit price = the unit fee, for the reader; the amount is the balance
  transferred (less than units x fee when a payer has paid part). Never taxed: medical services
  are usually exempt.
- service lines: a service booking's hours x hourly rate (seed 000), the amount rounded half-up to
  the cent; taxed only when flagged taxable (non-medical services some states tax).

Totals are Decimal cents, each rounded once with ROUND_HALF_UP:

    subtotal = sum of line amounts
    discount = a fixed amount (capped at the subtotal) or percent x subtotal
    tax      = rate x (taxable subtotal - the taxable lines' share of the discount)
               (the discount is spread over the lines in proportion to their amounts)
    total    = subtotal - discount + tax
    balance  = total - paid - written_off, so total = paid + written_off + balance

Lifecycle: a draft (lines, discount, tax rate, due date and notes editable; the number is issued
when it is created) is sent, then partially paid and paid (a balance of zero, written-off
remainders included). The worker's sweep records it overdue the day after its due date while a
balance is open; it stays overdue until paid. Void with a reason, refused while payments are
applied (unapply them first); a void invoice keeps its number. Notes may name the client's care
and are encrypted with the client's key; line descriptions name services, never clinical details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.billing.charge import check_reason
from domain.billing.money import CENTS, ZERO, modifiers, money, procedure_code, units
from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited

LINE_KINDS = ("charge", "service")
STATUSES = ("draft", "sent", "partially_paid", "paid", "overdue", "void")
DISCOUNT_KINDS = ("amount", "percent")
MAX_LINES = 200
MAX_DESCRIPTION = 200
MAX_NOTES = 2000
MAX_HOURS = Decimal(744)  # a month of hours
MAX_MESSAGE = 500
HUNDRED = Decimal(100)
RATE_PLACES = Decimal("0.001")


def cents(value: Decimal) -> Decimal:
    """Rounded to the cent, half up (0.005 -> 0.01): how every invoice figure is rounded."""
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


def check_percent(value: Decimal, field: str, places: Decimal = CENTS, *, positive: bool = False) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidCommand("A percentage is a number.", field=field)
    if value < 0 or value > HUNDRED or (positive and value == 0):
        raise InvalidCommand("A percentage is from 0 to 100.", field=field)
    if value != value.quantize(places):
        raise InvalidCommand(f"A percentage is a number in steps of {places}.", field=field)
    value = abs(value)  # no -0
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def check_description(text: str) -> str:
    clean = " ".join(text.split()) if isinstance(text, str) else ""
    if not 1 <= len(clean) <= MAX_DESCRIPTION:
        raise InvalidCommand(f"A line description is 1 to {MAX_DESCRIPTION} characters.", field="description")
    return clean


def check_notes(notes: str | None) -> str | None:
    if notes is None:
        return None
    if not isinstance(notes, str) or len(notes.strip()) > MAX_NOTES:
        raise InvalidCommand(f"Notes are at most {MAX_NOTES} characters.", field="notes")
    return notes.strip() or None


def check_hours(hours: Decimal) -> Decimal:
    if not isinstance(hours, Decimal) or not hours.is_finite() or not ZERO < hours <= MAX_HOURS:
        raise InvalidCommand(f"Hours are above 0 and at most {MAX_HOURS}.", field="hours")
    if hours != hours.quantize(CENTS):
        raise InvalidCommand("Hours are a number with at most two decimals.", field="hours")
    return hours.quantize(CENTS)


@dataclass(frozen=True)
class Discount:
    kind: str  # amount | percent
    value: Decimal

    @classmethod
    def checked(cls, kind: str, value: Decimal) -> Discount:
        if kind not in DISCOUNT_KINDS:
            raise InvalidCommand("A discount is an amount or a percent.", field="discount.kind",
                                 allowed=list(DISCOUNT_KINDS))
        if kind == "amount":
            return cls(kind, money(value, "discount.value", positive=True))
        return cls(kind, check_percent(value, "discount.value", positive=True))

    def of(self, subtotal: Decimal) -> Decimal:
        if self.kind == "amount":
            return min(self.value, subtotal)
        return cents(subtotal * self.value / HUNDRED)


@dataclass(frozen=True)
class InvoiceLine:
    line_no: int
    kind: str  # charge | service
    description: str
    service_date: date
    quantity: Decimal  # units of the charge, or hours
    unit_price: Decimal  # the unit fee, or the hourly rate
    amount: Decimal
    taxable: bool
    charge_id: UUID | None = None
    cpt: str | None = None
    modifiers: tuple[str, ...] = ()

    def as_event(self) -> dict[str, Any]:
        return {
            "line_no": self.line_no, "kind": self.kind, "description": self.description,
            "service_date": self.service_date, "quantity": self.quantity, "unit_price": self.unit_price,
            "amount": self.amount, "taxable": self.taxable, "charge_id": self.charge_id, "cpt": self.cpt,
            "modifiers": list(self.modifiers),
        }

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> InvoiceLine:
        return cls(**{**data, "modifiers": tuple(data.get("modifiers") or ())})


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    taxable_subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


def compute_totals(lines: list[InvoiceLine], discount: Discount | None, tax_rate: Decimal) -> Totals:
    """The invoice's figures; the one inexact step (the taxable share of the discount) is carried at
    60 digits, so the tax is the exact value rounded once."""
    subtotal = sum((line.amount for line in lines), ZERO)
    taxable = sum((line.amount for line in lines if line.taxable), ZERO)
    off = discount.of(subtotal) if discount is not None else ZERO
    with localcontext() as ctx:
        ctx.prec = 60
        taxable_after_discount = taxable * (subtotal - off) / subtotal if subtotal else ZERO
        tax = cents(taxable_after_discount * tax_rate / HUNDRED)
    return Totals(subtotal=subtotal, taxable_subtotal=taxable, discount=off, tax=tax, total=subtotal - off + tax)


def status_of(*, voided: bool, sent: bool, balance: Decimal, overdue: bool, paid: Decimal,
              written_off: Decimal) -> str:
    """draft | sent | partially_paid | paid | overdue | void (the read model applies the same rule)."""
    if voided:
        return "void"
    if not sent:
        return "draft"
    if balance <= ZERO:
        return "paid"
    if overdue:
        return "overdue"
    return "partially_paid" if paid > ZERO or written_off > ZERO else "sent"


@dataclass(frozen=True)
class PaymentEntry:
    application_id: UUID
    payment_id: UUID
    amount: Decimal
    active: bool = True


@dataclass(frozen=True)
class WriteOff:
    entry_id: str
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class PaymentIntent:
    intent_id: str
    amount: Decimal
    failure: str | None = None


class InvoiceEvent(Aggregate.Event, Audited):
    subject_field = "client_id"
    client_id: UUID


class Invoice(Aggregate):
    TOPIC = "careledger/invoice"

    class Created(Aggregate.Created):
        TOPIC = "careledger/invoice/created"

    class Drafted(Created, InvoiceEvent):
        TOPIC = "careledger/invoice/drafted"
        phi_fields = ("notes",)
        practice_id: UUID
        number: str
        issued_on: date
        due_on: date
        discount_kind: str | None
        discount_value: Decimal | None
        tax_rate: Decimal
        notes: str | None
        at: datetime
        by: UUID | None

    class LineAdded(InvoiceEvent):
        TOPIC = "careledger/invoice/line-added"
        line: dict[str, Any]
        at: datetime

    class LineRemoved(InvoiceEvent):
        TOPIC = "careledger/invoice/line-removed"
        line_no: int
        charge_id: UUID | None
        at: datetime

    class TermsChanged(InvoiceEvent):
        TOPIC = "careledger/invoice/terms-changed"
        phi_fields = ("notes",)
        due_on: date
        discount_kind: str | None
        discount_value: Decimal | None
        tax_rate: Decimal
        notes: str | None
        at: datetime
        by: UUID | None

    class Sent(InvoiceEvent):
        TOPIC = "careledger/invoice/sent"
        emailed: bool
        mail_id: str | None
        subtotal: Decimal
        discount: Decimal
        tax: Decimal
        total: Decimal
        at: datetime
        by: UUID | None

    class PaymentApplied(InvoiceEvent):
        TOPIC = "careledger/invoice/payment-applied"
        application_id: UUID
        payment_id: UUID
        amount: Decimal
        at: datetime

    class PaymentUnapplied(InvoiceEvent):
        TOPIC = "careledger/invoice/payment-unapplied"
        application_id: UUID
        payment_id: UUID
        amount: Decimal
        at: datetime

    class WrittenOff(InvoiceEvent):
        TOPIC = "careledger/invoice/written-off"
        entry_id: str
        amount: Decimal
        reason: str
        at: datetime
        by: UUID | None

    class BecameOverdue(InvoiceEvent):
        TOPIC = "careledger/invoice/became-overdue"
        since: date
        balance: Decimal
        at: datetime

    class Voided(InvoiceEvent):
        TOPIC = "careledger/invoice/voided"
        reason: str
        at: datetime
        by: UUID | None

    class PaymentIntentCreated(InvoiceEvent):
        TOPIC = "careledger/invoice/payment-intent-created"
        intent_id: str
        amount: Decimal
        at: datetime

    class PaymentFailed(InvoiceEvent):
        TOPIC = "careledger/invoice/payment-failed"
        intent_id: str
        message: str
        at: datetime

    @classmethod
    def draft(
        cls, *, invoice_id: UUID, practice_id: UUID, client_id: UUID, number: str, issued_on: date, due_on: date,
        discount: Discount | None, tax_rate: Decimal, notes: str | None, at: datetime, by: UUID | None,
    ) -> Invoice:
        """A new draft under `number` (from the practice's InvoiceSequence, saved with it)."""
        if due_on < issued_on:
            raise InvalidCommand("The due date is on or after the issue date.", field="due_on")
        discount = Discount.checked(discount.kind, discount.value) if discount is not None else None
        return cls._create(
            cls.Drafted, id=invoice_id, practice_id=practice_id, client_id=client_id, number=number,
            issued_on=issued_on, due_on=due_on, discount_kind=discount.kind if discount else None,
            discount_value=discount.value if discount else None,
            tax_rate=check_percent(tax_rate, "tax_rate", RATE_PLACES), notes=check_notes(notes), at=at, by=by,
        )

    @event(Drafted)
    def __init__(
        self, practice_id: UUID, client_id: UUID, number: str, issued_on: date, due_on: date,
        discount_kind: str | None, discount_value: Decimal | None, tax_rate: Decimal, notes: str | None,
        at: datetime, by: UUID | None,
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.number = number
        self.issued_on = issued_on
        self.created_at = at
        self.created_by = by
        self._set_terms(due_on, discount_kind, discount_value, tax_rate, notes)
        self.lines: dict[int, InvoiceLine] = {}
        self.next_line_no = 1
        self.sent_at: datetime | None = None
        self.emailed = False
        self.voided_at: datetime | None = None
        self.void_reason: str | None = None
        self.overdue_since: date | None = None
        self.payments: dict[UUID, PaymentEntry] = {}
        self.write_offs: dict[str, WriteOff] = {}
        self.payment_intents: dict[str, PaymentIntent] = {}

    def _set_terms(self, due_on: date, discount_kind: str | None, discount_value: Decimal | None,
                   tax_rate: Decimal, notes: str | None) -> None:
        self.due_on = due_on
        self.discount = Discount(discount_kind, discount_value) if discount_kind and discount_value else None
        self.tax_rate = tax_rate
        self.notes = notes

    # --- derived ------------------------------------------------------------------------------

    @property
    def line_list(self) -> list[InvoiceLine]:
        return [self.lines[n] for n in sorted(self.lines)]

    @property
    def totals(self) -> Totals:
        return compute_totals(self.line_list, self.discount, self.tax_rate)

    @property
    def subtotal(self) -> Decimal:
        return self.totals.subtotal

    @property
    def total(self) -> Decimal:
        return self.totals.total

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments.values() if p.active), ZERO)

    @property
    def written_off(self) -> Decimal:
        return sum((w.amount for w in self.write_offs.values()), ZERO)

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid - self.written_off

    @property
    def voided(self) -> bool:
        return self.voided_at is not None

    @property
    def sent(self) -> bool:
        return self.sent_at is not None

    @property
    def status(self) -> str:
        return status_of(voided=self.voided, sent=self.sent, balance=self.balance,
                         overdue=self.overdue_since is not None, paid=self.paid, written_off=self.written_off)

    @property
    def charge_ids(self) -> list[UUID]:
        return [line.charge_id for line in self.line_list if line.charge_id is not None]

    def active_payments(self) -> list[PaymentEntry]:
        return [p for p in self.payments.values() if p.active]

    def _require_draft(self, action: str) -> None:
        if self.voided:
            raise IllegalTransition(f"A void invoice cannot be {action}.", status="void")
        if self.sent:
            raise IllegalTransition(f"Only a draft invoice can be {action}.", status=self.status)

    def _require_open(self, action: str) -> None:
        if self.voided:
            raise IllegalTransition(f"A void invoice cannot be {action}.", status="void")
        if not self.sent:
            raise IllegalTransition(f"A draft invoice cannot be {action}; send it first.", status="draft")

    # --- the draft ------------------------------------------------------------------------------

    def _check_room(self) -> None:
        if len(self.lines) >= MAX_LINES:
            raise InvalidCommand(f"An invoice has at most {MAX_LINES} lines.", field="lines")

    def add_charge_line(
        self, *, charge_id: UUID, description: str, service_date: date, cpt: str, charge_modifiers: list[str],
        charge_units: Decimal, unit_fee: Decimal, amount: Decimal, at: datetime,
    ) -> InvoiceLine:
        """A charge's balance, as transferred by `Charge.transfer_to_invoice` (saved together)."""
        self._require_draft("changed")
        self._check_room()
        if charge_id in self.charge_ids:
            raise IllegalTransition("The charge is on this invoice already.", charge_id=str(charge_id))
        line = InvoiceLine(
            line_no=self.next_line_no, kind="charge", description=check_description(description),
            service_date=service_date, quantity=units(charge_units), unit_price=money(unit_fee, "unit_fee"),
            amount=money(amount, positive=True), taxable=False, charge_id=charge_id, cpt=procedure_code(cpt),
            modifiers=modifiers(charge_modifiers),
        )
        self._line_added(client_id=self.client_id, line=line.as_event(), at=at)
        return line

    def add_service_line(
        self, *, description: str, service_date: date, hours: Decimal, rate: Decimal, taxable: bool, at: datetime,
    ) -> InvoiceLine:
        """Hours x hourly rate, rounded half-up to the cent."""
        self._require_draft("changed")
        self._check_room()
        if not isinstance(taxable, bool):
            raise InvalidCommand("taxable is true or false.", field="taxable")
        count = check_hours(hours)
        price = money(rate, "rate", positive=True)
        line = InvoiceLine(
            line_no=self.next_line_no, kind="service", description=check_description(description),
            service_date=service_date, quantity=count, unit_price=price,
            amount=money(cents(count * price), positive=True), taxable=taxable,
        )
        self._line_added(client_id=self.client_id, line=line.as_event(), at=at)
        return line

    @event(LineAdded)
    def _line_added(self, client_id: UUID, line: dict[str, Any], at: datetime) -> None:
        added = InvoiceLine.from_event(line)
        self.lines[added.line_no] = added
        self.next_line_no = added.line_no + 1

    def remove_line(self, line_no: int, *, at: datetime) -> InvoiceLine:
        """Returns the line removed; a charge line's charge is released by the caller (saved together)."""
        self._require_draft("changed")
        line = self.lines.get(line_no)
        if line is None:
            raise InvalidCommand("No such line on this invoice.", field="line_no")
        self._line_removed(client_id=self.client_id, line_no=line_no, charge_id=line.charge_id, at=at)
        return line

    @event(LineRemoved)
    def _line_removed(self, client_id: UUID, line_no: int, charge_id: UUID | None, at: datetime) -> None:
        self.lines.pop(line_no, None)

    def change_terms(
        self, *, due_on: date, discount: Discount | None, tax_rate: Decimal, notes: str | None, at: datetime,
        by: UUID | None,
    ) -> bool:
        """The draft's due date, discount, tax rate and notes as given; False when that changes nothing."""
        self._require_draft("changed")
        if due_on < self.issued_on:
            raise InvalidCommand("The due date is on or after the issue date.", field="due_on")
        rate = check_percent(tax_rate, "tax_rate", RATE_PLACES)
        clean = check_notes(notes)
        discount = Discount.checked(discount.kind, discount.value) if discount is not None else None
        if (due_on, discount, rate, clean) == (self.due_on, self.discount, self.tax_rate, self.notes):
            return False
        self._terms_changed(
            client_id=self.client_id, due_on=due_on, discount_kind=discount.kind if discount else None,
            discount_value=discount.value if discount else None, tax_rate=rate, notes=clean, at=at, by=by,
        )
        return True

    @event(TermsChanged)
    def _terms_changed(self, client_id: UUID, due_on: date, discount_kind: str | None, discount_value: Decimal | None,
                       tax_rate: Decimal, notes: str | None, at: datetime, by: UUID | None) -> None:
        self._set_terms(due_on, discount_kind, discount_value, tax_rate, notes)

    # --- lifecycle ------------------------------------------------------------------------------

    def check_sendable(self) -> None:
        """Raises what `send` would refuse, for a caller that mails the invoice before sending it."""
        self._require_draft("sent")
        if not self.lines:
            raise IllegalTransition("An invoice without lines is not sent.", status="draft")

    def send(self, *, emailed: bool, mail_id: str | None, at: datetime, by: UUID | None) -> None:
        """Sent by email (`emailed`) or marked as sent (handed over, posted)."""
        self.check_sendable()
        t = self.totals
        self._sent(client_id=self.client_id, emailed=emailed, mail_id=mail_id, subtotal=t.subtotal,
                   discount=t.discount, tax=t.tax, total=t.total, at=at, by=by)

    @event(Sent)
    def _sent(self, client_id: UUID, emailed: bool, mail_id: str | None, subtotal: Decimal, discount: Decimal,
              tax: Decimal, total: Decimal, at: datetime, by: UUID | None) -> None:
        self.sent_at = at
        self.emailed = emailed

    def void(self, reason: str, *, at: datetime, by: UUID | None) -> None:
        """Keeps the number; its charge lines' charges are released by the caller (saved together)."""
        if self.voided:
            raise IllegalTransition("The invoice is void already.", status="void")
        if self.paid > ZERO:
            raise IllegalTransition("Payments are applied to this invoice; unapply them first.", status=self.status,
                                    paid=str(self.paid))
        self._voided(client_id=self.client_id, reason=check_reason(reason), at=at, by=by)

    @event(Voided)
    def _voided(self, client_id: UUID, reason: str, at: datetime, by: UUID | None) -> None:
        self.voided_at = at
        self.void_reason = reason

    def mark_overdue(self, today: date, *, at: datetime) -> bool:
        """Recorded once, by the sweep, when the practice-local `today` is after the due date and a
        balance is open; False when that is not (or no longer) the case."""
        if self.voided or not self.sent or self.overdue_since is not None:
            return False
        if today <= self.due_on or self.balance <= ZERO:
            return False
        self._became_overdue(client_id=self.client_id, since=self.due_on + timedelta(days=1), balance=self.balance,
                             at=at)
        return True

    @event(BecameOverdue)
    def _became_overdue(self, client_id: UUID, since: date, balance: Decimal, at: datetime) -> None:
        self.overdue_since = since

    # --- money ----------------------------------------------------------------------------------

    def apply_payment(self, application_id: UUID, payment_id: UUID, amount: Decimal, *, at: datetime) -> None:
        """One step of the two-step application (the Payment's `apply` is the other, saved together)."""
        self._require_open("paid")
        if application_id in self.payments:
            raise IllegalTransition("That application is recorded already.", application_id=str(application_id))
        amount = money(amount, positive=True)
        if amount > self.balance:
            raise InvalidCommand("A payment applied is at most the invoice's balance.", field="amount",
                                 balance=str(self.balance))
        self._payment_applied(client_id=self.client_id, application_id=application_id, payment_id=payment_id,
                              amount=amount, at=at)

    @event(PaymentApplied)
    def _payment_applied(self, client_id: UUID, application_id: UUID, payment_id: UUID, amount: Decimal,
                         at: datetime) -> None:
        self.payments[application_id] = PaymentEntry(application_id, payment_id, amount)

    def unapply_payment(self, application_id: UUID, *, at: datetime) -> Decimal:
        entry = self.payments.get(application_id)
        if entry is None or not entry.active:
            raise IllegalTransition("No such payment on this invoice.", application_id=str(application_id))
        self._payment_unapplied(client_id=self.client_id, application_id=application_id,
                                payment_id=entry.payment_id, amount=entry.amount, at=at)
        return entry.amount

    @event(PaymentUnapplied)
    def _payment_unapplied(self, client_id: UUID, application_id: UUID, payment_id: UUID, amount: Decimal,
                           at: datetime) -> None:
        old = self.payments[application_id]
        self.payments[application_id] = PaymentEntry(old.application_id, old.payment_id, old.amount, active=False)

    def write_off(self, entry_id: str, amount: Decimal, reason: str, *, at: datetime, by: UUID | None) -> bool:
        """An uncollectable remainder, once per `entry_id` (False: recorded already)."""
        if entry_id in self.write_offs:
            return False
        self._require_open("written off")
        if not isinstance(entry_id, str) or not 1 <= len(entry_id) <= 100:
            raise InvalidCommand("A write-off needs an id of 1 to 100 characters.", field="entry_id")
        amount = money(amount, positive=True)
        if amount > self.balance:
            raise InvalidCommand("A write-off is at most the balance.", field="amount", balance=str(self.balance))
        self._written_off(client_id=self.client_id, entry_id=entry_id, amount=amount, reason=check_reason(reason),
                          at=at, by=by)
        return True

    @event(WrittenOff)
    def _written_off(self, client_id: UUID, entry_id: str, amount: Decimal, reason: str, at: datetime,
                     by: UUID | None) -> None:
        self.write_offs[entry_id] = WriteOff(entry_id, amount, reason)

    def record_payment_intent(self, intent_id: str, amount: Decimal, *, at: datetime) -> bool:
        """An online payment started (a Stripe PaymentIntent), once per intent (False: known)."""
        if not isinstance(intent_id, str) or not 1 <= len(intent_id) <= 255:
            raise InvalidCommand("A payment intent id is 1 to 255 characters.", field="intent_id")
        if intent_id in self.payment_intents:
            return False
        self._require_open("paid online")
        amount = money(amount, positive=True)
        if amount > self.balance:
            raise InvalidCommand("A payment intent is at most the invoice's balance.", field="amount",
                                 balance=str(self.balance))
        self._intent_created(client_id=self.client_id, intent_id=intent_id, amount=amount, at=at)
        return True

    @event(PaymentIntentCreated)
    def _intent_created(self, client_id: UUID, intent_id: str, amount: Decimal, at: datetime) -> None:
        self.payment_intents[intent_id] = PaymentIntent(intent_id, amount)

    def record_payment_failure(self, intent_id: str, message: str, *, at: datetime) -> bool:
        """The provider's reason an online payment failed; False when exactly that is recorded."""
        text = " ".join(str(message).split())[:MAX_MESSAGE] or "payment failed"
        known = self.payment_intents.get(intent_id)
        if known is not None and known.failure == text:
            return False
        self._payment_failed(client_id=self.client_id, intent_id=intent_id, message=text, at=at)
        return True

    @event(PaymentFailed)
    def _payment_failed(self, client_id: UUID, intent_id: str, message: str, at: datetime) -> None:
        known = self.payment_intents.get(intent_id)
        self.payment_intents[intent_id] = PaymentIntent(intent_id, known.amount if known else ZERO, message)
