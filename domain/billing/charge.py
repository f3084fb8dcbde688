"""A charge: one billed service line (seed 001 Module 5) and its ledger.

The amount comes from the fee schedule (unit fee x units) unless entered by hand. Diagnosis codes
are PHI and encrypted with the client's key; the pointers (1-4) say which of them the line is for,
as on a claim. A charge is edited only while unbilled; billing gives it the claim control number the
payer returns as CLP01, and is refused while the visit is on billing hold.

Money moves in ledger entries, each with an id that makes it happen once: payments applied (by
hand, from an invoice-less card payment, or posted from an 835), adjustments and write-offs with
their X12 group and reason codes, reversals of remittance postings (negative amounts), and the
balance transferred to a client invoice (and back when the invoice is voided). At every moment

    amount = paid + adjusted + transferred + balance

which is what the reports reconcile. A charge with money on it is not voided; reverse first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.billing.money import (
    ZERO,
    adjustment_group,
    modifiers,
    money,
    procedure_code,
    reason_code,
    remark_codes,
    units,
)
from domain.clinical.icd10 import normalise_icd10_codes
from domain.errors import DomainError, IllegalTransition, InvalidCommand, ReasonRequired
from domain.events import Audited

MAX_DIAGNOSES = 12
MAX_POINTERS = 4
ENTRY_SOURCES = ("manual", "card", "remittance")
ADJUSTMENT_KINDS = ("adjustment", "write_off")
MAX_REASON = 200


class OnBillingHold(DomainError):
    code = "billing_hold"
    kind = "conflict"


class ChargeEvent(Aggregate.Event, Audited):
    subject_field = "client_id"
    client_id: UUID


def check_pointers(pointers: list[int], diagnoses: int) -> list[int]:
    if not isinstance(pointers, list) or not 1 <= len(pointers) <= MAX_POINTERS:
        raise InvalidCommand(f"A charge points at 1 to {MAX_POINTERS} diagnoses.", field="diagnosis_pointers")
    if len(set(pointers)) != len(pointers) or any(not isinstance(p, int) or not 1 <= p <= diagnoses for p in pointers):
        raise InvalidCommand("Each pointer names one of the charge's diagnoses (1-based), once.",
                             field="diagnosis_pointers")
    return pointers


def check_diagnoses(codes: list[str]) -> list[str]:
    normal = list(normalise_icd10_codes(codes, field="diagnosis_codes"))
    if not 1 <= len(normal) <= MAX_DIAGNOSES:
        raise InvalidCommand(f"A charge has 1 to {MAX_DIAGNOSES} diagnosis codes.", field="diagnosis_codes")
    return normal


def check_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ReasonRequired("A reason is required.", field="reason")
    if len(reason.strip()) > MAX_REASON:
        raise InvalidCommand(f"A reason is at most {MAX_REASON} characters.", field="reason")
    return reason.strip()


@dataclass(frozen=True)
class Entry:
    entry_id: str
    kind: str  # payment | adjustment | write_off | transfer
    amount: Decimal
    source: str
    reference_id: UUID | None
    group: str | None = None
    reason_code: str | None = None
    active: bool = True


class Charge(Aggregate):
    TOPIC = "careledger/charge"

    class Created(Aggregate.Created):
        TOPIC = "careledger/charge/created"

    class Entered(Created, ChargeEvent):
        TOPIC = "careledger/charge/entered"
        phi_fields = ("diagnosis_codes",)
        practice_id: UUID
        clinician_id: UUID
        appointment_id: UUID | None
        service_date: date
        cpt: str
        modifiers: list[str]
        units: Decimal
        diagnosis_codes: list[str]
        diagnosis_pointers: list[int]
        unit_fee: Decimal
        amount: Decimal
        payer: str | None
        line_ref: str
        entered_at: datetime
        by: UUID

    class Edited(ChargeEvent):
        TOPIC = "careledger/charge/edited"
        phi_fields = ("diagnosis_codes",)
        cpt: str
        modifiers: list[str]
        units: Decimal
        diagnosis_codes: list[str]
        diagnosis_pointers: list[int]
        unit_fee: Decimal
        amount: Decimal
        at: datetime
        by: UUID

    class Billed(ChargeEvent):
        TOPIC = "careledger/charge/billed"
        claim_number: str
        payer: str | None
        at: datetime
        by: UUID

    class PaymentApplied(ChargeEvent):
        TOPIC = "careledger/charge/payment-applied"
        entry_id: str
        payment_id: UUID
        amount: Decimal
        source: str
        remittance_id: UUID | None
        payer_claim_number: str | None
        at: datetime

    class PaymentUnapplied(ChargeEvent):
        TOPIC = "careledger/charge/payment-unapplied"
        entry_id: str
        payment_id: UUID
        amount: Decimal
        at: datetime

    class Adjusted(ChargeEvent):
        TOPIC = "careledger/charge/adjusted"
        entry_id: str
        kind: str
        group: str
        reason_code: str
        remark_codes: list[str]
        amount: Decimal
        source: str
        remittance_id: UUID | None
        note: str | None
        at: datetime
        by: UUID | None

    class TransferredToInvoice(ChargeEvent):
        TOPIC = "careledger/charge/transferred-to-invoice"
        invoice_id: UUID
        amount: Decimal
        at: datetime

    class ReleasedFromInvoice(ChargeEvent):
        TOPIC = "careledger/charge/released-from-invoice"
        invoice_id: UUID
        amount: Decimal
        at: datetime

    class Voided(ChargeEvent):
        TOPIC = "careledger/charge/voided"
        reason: str
        at: datetime
        by: UUID

    @classmethod
    def enter(
        cls, *, practice_id: UUID, client_id: UUID, clinician_id: UUID, appointment_id: UUID | None,
        service_date: date, cpt: str, charge_modifiers: list[str], charge_units: Decimal, diagnosis_codes: list[str],
        diagnosis_pointers: list[int], unit_fee: Decimal, payer: str | None, entered_at: datetime, by: UUID,
        today: date, charge_id: UUID | None = None, line_ref: str | None = None,
    ) -> Charge:
        if service_date > today:
            raise InvalidCommand("A charge is entered for a service that has happened.", field="service_date")
        fields = _priced(cpt, charge_modifiers, charge_units, diagnosis_codes, diagnosis_pointers, unit_fee)
        payer_name = payer.strip()[:120] if isinstance(payer, str) and payer.strip() else None
        common: dict[str, Any] = {
            "practice_id": practice_id, "client_id": client_id, "clinician_id": clinician_id,
            "appointment_id": appointment_id, "service_date": service_date, "payer": payer_name,
            "entered_at": entered_at, "by": by, **fields,
        }
        new_id = charge_id or uuid4()
        return cls._create(cls.Entered, id=new_id, line_ref=line_ref or line_ref_for(new_id), **common)

    @event(Entered)
    def __init__(
        self, practice_id: UUID, client_id: UUID, clinician_id: UUID, appointment_id: UUID | None,
        service_date: date, cpt: str, modifiers: list[str], units: Decimal, diagnosis_codes: list[str],
        diagnosis_pointers: list[int], unit_fee: Decimal, amount: Decimal, payer: str | None, line_ref: str,
        entered_at: datetime, by: UUID,
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.clinician_id = clinician_id
        self.appointment_id = appointment_id
        self.service_date = service_date
        self.payer = payer
        self.line_ref = line_ref
        self.entered_at = entered_at
        self.entered_by = by
        self._set_priced(cpt, modifiers, units, diagnosis_codes, diagnosis_pointers, unit_fee, amount)
        self.claim_number: str | None = None
        self.billed_at: datetime | None = None
        self.voided_reason: str | None = None
        self.entries: dict[str, Entry] = {}
        self.invoice_id: UUID | None = None

    def _set_priced(self, cpt: str, modifiers: list[str], units: Decimal, diagnosis_codes: list[str],
                    diagnosis_pointers: list[int], unit_fee: Decimal, amount: Decimal) -> None:
        self.cpt = cpt
        self.modifiers = tuple(modifiers)
        self.units = units
        self.diagnosis_codes = list(diagnosis_codes)
        self.diagnosis_pointers = list(diagnosis_pointers)
        self.unit_fee = unit_fee
        self.amount = amount

    # --- derived ------------------------------------------------------------------------------

    def _total(self, *kinds: str) -> Decimal:
        return sum((e.amount for e in self.entries.values() if e.active and e.kind in kinds), ZERO)

    @property
    def paid(self) -> Decimal:
        return self._total("payment")

    @property
    def adjusted(self) -> Decimal:
        return self._total("adjustment", "write_off")

    @property
    def transferred(self) -> Decimal:
        return self._total("transfer")

    @property
    def balance(self) -> Decimal:
        return self.amount - self.paid - self.adjusted - self.transferred

    @property
    def voided(self) -> bool:
        return self.voided_reason is not None

    @property
    def status(self) -> str:
        if self.voided:
            return "void"
        if self.paid == ZERO and self.adjusted == ZERO:
            return "billed" if self.claim_number is not None or self.transferred else "unbilled"
        if self.balance <= ZERO and not self.transferred:
            return "paid" if self.paid > ZERO else "adjusted"
        if self.balance <= ZERO:
            return "billed"
        return "partially_paid"

    def has_entry(self, entry_id: str) -> bool:
        return entry_id in self.entries

    def _require_open(self, action: str) -> None:
        if self.voided:
            raise IllegalTransition(f"A void charge cannot be {action}.", status="void")

    # --- commands -----------------------------------------------------------------------------

    def edit(self, *, cpt: str | None = None, charge_modifiers: list[str] | None = None,
             charge_units: Decimal | None = None, diagnosis_codes: list[str] | None = None,
             diagnosis_pointers: list[int] | None = None, unit_fee: Decimal | None = None,
             at: datetime, by: UUID) -> None:
        self._require_open("edited")
        if self.claim_number is not None or self.entries:
            raise IllegalTransition("Only an unbilled charge with no money on it is edited.", status=self.status)
        fields = _priced(
            cpt if cpt is not None else self.cpt,
            charge_modifiers if charge_modifiers is not None else list(self.modifiers),
            charge_units if charge_units is not None else self.units,
            diagnosis_codes if diagnosis_codes is not None else self.diagnosis_codes,
            diagnosis_pointers if diagnosis_pointers is not None else self.diagnosis_pointers,
            unit_fee if unit_fee is not None else self.unit_fee,
        )
        self._edited(client_id=self.client_id, at=at, by=by, **fields)

    @event(Edited)
    def _edited(self, client_id: UUID, cpt: str, modifiers: list[str], units: Decimal, diagnosis_codes: list[str],
                diagnosis_pointers: list[int], unit_fee: Decimal, amount: Decimal, at: datetime, by: UUID) -> None:
        self._set_priced(cpt, modifiers, units, diagnosis_codes, diagnosis_pointers, unit_fee, amount)

    def bill(self, claim_number: str, *, payer: str | None, hold_reason: str | None, at: datetime, by: UUID) -> None:
        """Put the charge on a claim. `hold_reason` is the compliance engine's billing hold, if any."""
        self._require_open("billed")
        if hold_reason is not None:
            raise OnBillingHold(f"The charge is on billing hold: {hold_reason}", reason=hold_reason)
        number = claim_number.strip() if isinstance(claim_number, str) else ""
        if not 1 <= len(number) <= 38 or any(c in number for c in "~*:^|>"):
            raise InvalidCommand("A claim number is 1-38 characters without X12 separators.", field="claim_number")
        if self.claim_number == number:
            return
        if self.claim_number is not None:
            raise IllegalTransition("The charge is already on a claim.", claim_number=self.claim_number)
        payer_name = payer.strip()[:120] if isinstance(payer, str) and payer.strip() else self.payer
        self._billed(client_id=self.client_id, claim_number=number, payer=payer_name, at=at, by=by)

    @event(Billed)
    def _billed(self, client_id: UUID, claim_number: str, payer: str | None, at: datetime, by: UUID) -> None:
        self.claim_number = claim_number
        self.payer = payer
        self.billed_at = at

    def apply_payment(
        self, entry_id: str, payment_id: UUID, amount: Decimal, *, source: str, at: datetime,
        remittance_id: UUID | None = None, payer_claim_number: str | None = None,
    ) -> bool:
        """Record money paid against the charge once per `entry_id` (False: already recorded).
        Remittance postings may be negative (a payer's reversal); other payments are positive."""
        if entry_id in self.entries:
            return False
        self._require_open("paid")
        if source not in ENTRY_SOURCES:
            raise InvalidCommand("Unknown payment source.", field="source", allowed=list(ENTRY_SOURCES))
        amount = money(amount, allow_negative=source == "remittance", positive=source != "remittance")
        self._payment_applied(client_id=self.client_id, entry_id=entry_id, payment_id=payment_id, amount=amount,
                              source=source, remittance_id=remittance_id, payer_claim_number=payer_claim_number,
                              at=at)
        return True

    @event(PaymentApplied)
    def _payment_applied(self, client_id: UUID, entry_id: str, payment_id: UUID, amount: Decimal, source: str,
                         remittance_id: UUID | None, payer_claim_number: str | None, at: datetime) -> None:
        self.entries[entry_id] = Entry(entry_id, "payment", amount, source, payment_id)

    def unapply_payment(self, entry_id: str, *, at: datetime) -> Decimal:
        entry = self.entries.get(entry_id)
        if entry is None or entry.kind != "payment" or not entry.active:
            raise IllegalTransition("No such payment on this charge.", entry_id=entry_id)
        if entry.source == "remittance":
            raise IllegalTransition("A remittance posting is undone by the payer's reversal.", entry_id=entry_id)
        assert entry.reference_id is not None
        self._payment_unapplied(client_id=self.client_id, entry_id=entry_id, payment_id=entry.reference_id,
                                amount=entry.amount, at=at)
        return entry.amount

    @event(PaymentUnapplied)
    def _payment_unapplied(self, client_id: UUID, entry_id: str, payment_id: UUID, amount: Decimal,
                           at: datetime) -> None:
        old = self.entries[entry_id]
        self.entries[entry_id] = Entry(old.entry_id, old.kind, old.amount, old.source, old.reference_id, active=False)

    def adjust(
        self, entry_id: str, *, kind: str, group: str, reason: str, amount: Decimal, at: datetime,
        by: UUID | None, source: str = "manual", remark: list[str] | None = None, note: str | None = None,
        remittance_id: UUID | None = None,
    ) -> bool:
        """An adjustment or write-off, once per `entry_id`. Positive amounts reduce the balance;
        negative ones (payers send them, and reversals) raise it; manual ones need a note."""
        if entry_id in self.entries:
            return False
        self._require_open("adjusted")
        if kind not in ADJUSTMENT_KINDS:
            raise InvalidCommand("Unknown adjustment kind.", field="kind", allowed=list(ADJUSTMENT_KINDS))
        if source not in ENTRY_SOURCES:
            raise InvalidCommand("Unknown adjustment source.", field="source", allowed=list(ENTRY_SOURCES))
        amount = money(amount, allow_negative=source == "remittance")
        if amount == ZERO:
            raise InvalidCommand("An adjustment moves money.", field="amount")
        if source == "manual":
            note = check_reason(note or "")
            if kind == "write_off" and amount > self.balance:
                raise InvalidCommand("A write-off is at most the balance.", field="amount", balance=str(self.balance))
        self._adjusted(
            client_id=self.client_id, entry_id=entry_id, kind=kind, group=adjustment_group(group),
            reason_code=reason_code(reason), remark_codes=list(remark_codes(remark or [])), amount=amount,
            source=source, remittance_id=remittance_id, note=note, at=at, by=by,
        )
        return True

    @event(Adjusted)
    def _adjusted(self, client_id: UUID, entry_id: str, kind: str, group: str, reason_code: str,
                  remark_codes: list[str], amount: Decimal, source: str, remittance_id: UUID | None,
                  note: str | None, at: datetime, by: UUID | None) -> None:
        self.entries[entry_id] = Entry(entry_id, kind, amount, source, remittance_id, group, reason_code)

    def transfer_to_invoice(self, invoice_id: UUID, *, at: datetime) -> Decimal:
        """Move the open balance onto a client invoice; returns the amount moved."""
        self._require_open("invoiced")
        if self.invoice_id is not None:
            raise IllegalTransition("The charge is on an invoice already.", invoice_id=str(self.invoice_id))
        if self.balance <= ZERO:
            raise IllegalTransition("The charge has no open balance to invoice.", balance=str(self.balance))
        amount = self.balance
        self._transferred(client_id=self.client_id, invoice_id=invoice_id, amount=amount, at=at)
        return amount

    @event(TransferredToInvoice)
    def _transferred(self, client_id: UUID, invoice_id: UUID, amount: Decimal, at: datetime) -> None:
        self.invoice_id = invoice_id
        self.entries[f"invoice:{invoice_id}"] = Entry(f"invoice:{invoice_id}", "transfer", amount, "manual", invoice_id)

    def release_from_invoice(self, invoice_id: UUID, *, at: datetime) -> None:
        if self.invoice_id != invoice_id:
            raise IllegalTransition("The charge is not on that invoice.", invoice_id=str(invoice_id))
        entry = self.entries[f"invoice:{invoice_id}"]
        self._released(client_id=self.client_id, invoice_id=invoice_id, amount=entry.amount, at=at)

    @event(ReleasedFromInvoice)
    def _released(self, client_id: UUID, invoice_id: UUID, amount: Decimal, at: datetime) -> None:
        self.invoice_id = None
        self.entries.pop(f"invoice:{invoice_id}", None)

    def void(self, reason: str, *, at: datetime, by: UUID) -> None:
        self._require_open("voided")
        if self.paid or self.adjusted or self.transferred:
            raise IllegalTransition("A charge with money on it is reversed, not voided.", status=self.status)
        self._voided(client_id=self.client_id, reason=check_reason(reason), at=at, by=by)

    @event(Voided)
    def _voided(self, client_id: UUID, reason: str, at: datetime, by: UUID) -> None:
        self.voided_reason = reason


def line_ref_for(charge_id: UUID) -> str:
    """The line item control number sent with the service line (REF*6R), returned by payers."""
    return "L" + charge_id.hex[:12].upper()


def _priced(cpt: str, charge_modifiers: list[str], charge_units: Decimal, diagnosis_codes: list[str],
            diagnosis_pointers: list[int], unit_fee: Decimal) -> dict[str, Any]:
    codes = check_diagnoses(diagnosis_codes)
    fee = money(unit_fee, field="unit_fee", positive=True)
    count = units(charge_units)
    return {
        "cpt": procedure_code(cpt), "modifiers": list(modifiers(charge_modifiers)), "units": count,
        "diagnosis_codes": codes, "diagnosis_pointers": check_pointers(diagnosis_pointers, len(codes)),
        "unit_fee": fee, "amount": money((fee * count).quantize(Decimal("0.01")), positive=True),
    }
