"""Paying an invoice by card through Stripe: a PaymentIntent for its balance, and the webhook that
records what came of it.

Starting: the client (or billing staff) asks for a PaymentIntent for the invoice's balance; the
browser confirms it with the `client_secret`. The idempotency key names the invoice's version and
balance, so a retried request never makes a second intent for the same state; an open intent for
the same balance is handed out again. Metadata carries opaque ids only (Stripe is no business
associate).

The webhook (signature checked by the port before a byte is trusted) is handled once per Stripe
event id: a `StripeEventReceipt` is saved in the same `store.save` as the payment and invoice
changes, so a replay finds it and a concurrent duplicate collides and rolls back whole.

- payment_intent.succeeded: a card Payment (its id derived from the intent) is received and
  applied to the invoice, at most the invoice's balance; money that does not fit (the invoice was
  paid meanwhile) stays unapplied on the payment, a credit the practice sees.
- payment_intent.payment_failed: the reason is recorded on the invoice.
- charge.refunded: the refunded total not yet recorded (Stripe's cumulative `amount_refunded`
  less what the payment has refunded) is refunded, unapplying from the invoice first as needed;
  what was unapplied beyond the refund goes back on. Events arrive in any order: a refund that
  comes before its payment's success records the payment first.

The practice comes from the metadata and the invoice must be that practice's; events we cannot
place (another deployment's, a deleted practice) are answered "ignored" and logged, never failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid5

from application import access, audit
from application.billing.scope import billing_scope
from application.card_payments import CardPayments, PaymentIntentNotFound, PaymentIntentRef, WebhookEvent
from application.errors import Conflict, Forbidden, NotFound
from application.ports import Clock
from application.retry import retrying
from application.store import EventStore
from domain.billing.charge import Charge
from domain.billing.invoice import Invoice
from domain.billing.money import ZERO
from domain.billing.payment import Application, Payment, payment_id_for
from domain.billing.stripe_event import StripeEventReceipt, stripe_event_receipt_id
from domain.errors import DomainError, IllegalTransition
from domain.identity.permissions import Permission
from domain.practices.practice import Practice
from domain.scheduling.working_time import zone

ATTEMPTS = 5
ACTOR = "webhook:stripe"
PAYABLE = ("sent", "partially_paid", "overdue")
REUSABLE = ("requires_payment_method", "requires_confirmation", "requires_action", "processing")
REFUND_REASON = "Refunded through Stripe"
SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"
REFUNDED = "charge.refunded"

log = logging.getLogger(__name__)


class CardPaymentsNotConfigured(DomainError):
    code = "card_payments_not_configured"
    kind = "unavailable"


@dataclass(frozen=True)
class WebhookOutcome:
    """outcome: payment_recorded | payment_failed | refund_recorded | already_recorded (nothing
    new in it) | ignored (not ours to act on) | duplicate (this event id was handled before)."""

    event_id: str
    event_type: str
    outcome: str
    payment_id: UUID | None = None
    invoice_id: UUID | None = None


class Ignored(Exception):
    """The event cannot be placed in our books; `reason` goes to the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CardCheckoutService:
    def __init__(self, store: EventStore, clock: Clock, payments: CardPayments | None, *,
                 currency: str = "usd") -> None:
        self.store = store
        self.clock = clock
        self.payments = payments
        self.currency = currency.lower()

    def _port(self) -> CardPayments:
        if self.payments is None:
            raise CardPaymentsNotConfigured(
                "Card payments are not configured (CARELEDGER_STRIPE_API_KEY and CARELEDGER_STRIPE_WEBHOOK_SECRET).")
        return self.payments

    # --- starting a payment ---------------------------------------------------------------------

    def start(self, practice_id: UUID, invoice_id: UUID) -> PaymentIntentRef:
        """A PaymentIntent for the invoice's balance (sent, partially paid or overdue). For
        practice-wide billing staff, and for the client (or family member) the invoice is for."""

        def attempt() -> PaymentIntentRef:
            invoice = self._payable(practice_id, invoice_id)
            port = self._port()
            balance = invoice.balance
            reused = self._open_intent(port, practice_id, invoice, balance)
            if reused is not None:
                return reused
            ref = port.create_payment_intent(
                amount=balance, currency=self.currency, idempotency_key=f"{invoice.id}:{invoice.version}:{balance}",
                metadata={"practice_id": str(practice_id), "invoice_id": str(invoice.id),
                          "invoice_number": invoice.number},
                description=f"Invoice {invoice.number}",
            )
            if invoice.record_payment_intent(ref.id, ref.amount, at=self.clock.now()):
                self.store.save(invoice)
            return ref

        return retrying(attempt, ATTEMPTS)

    def _payable(self, practice_id: UUID, invoice_id: UUID) -> Invoice:
        refusal = NotFound(f"No invoice {invoice_id}.")
        try:
            invoice: Invoice = self.store.load(invoice_id, Invoice)
        except NotFound:
            raise refusal from None
        scope = billing_scope()
        if invoice.practice_id != practice_id or not scope.sees_payment(invoice.client_id):
            raise refusal
        if scope.clients is not None:
            if invoice.status == "draft":
                raise refusal
        else:
            grant = access.current()
            if grant is not None and not grant.can(Permission.EDIT_BILLING):
                raise Forbidden("Starting a card payment for a client takes the edit_billing permission.")
        if invoice.status not in PAYABLE or invoice.balance <= ZERO:
            raise IllegalTransition("Only a sent invoice with a balance open is paid by card.",
                                    status=invoice.status, balance=str(invoice.balance))
        return invoice

    def _open_intent(
        self, port: CardPayments, practice_id: UUID, invoice: Invoice, balance: Decimal
    ) -> PaymentIntentRef | None:
        """The newest intent for exactly this balance that can still be paid; a succeeded one not
        yet recorded means the money is on its way, so no second intent is made."""
        for known in reversed(list(invoice.payment_intents.values())):
            if known.amount != balance:
                continue
            try:
                ref = port.retrieve_payment_intent(known.intent_id)
            except PaymentIntentNotFound:
                continue
            if ref.status in REUSABLE:
                return ref
            if ref.status == "succeeded" and not self.store.exists(payment_id_for(practice_id, ref.id)):
                raise Conflict("A card payment of this invoice has gone through and is being recorded; "
                               "reload the invoice shortly.")
        return None

    # --- the webhook ----------------------------------------------------------------------------

    def handle_webhook(self, payload: bytes, signature: str) -> WebhookOutcome:
        """Verifies and handles one Stripe delivery. Raises InvalidWebhook (answer 400, nothing
        recorded) and CardPaymentsNotConfigured."""
        event = self._port().parse_webhook(payload, signature)
        practice_id = _uuid(event.metadata.get("practice_id"))
        if practice_id is None:
            return self._ignored(event, "no practice_id in the metadata")
        with audit.acting(self._context(practice_id)):
            if self.store.exists(stripe_event_receipt_id(event.id)):
                return WebhookOutcome(event.id, event.type, "duplicate")
            try:
                practice: Practice = self.store.load(practice_id, Practice)
            except NotFound:
                return self._ignored(event, "unknown practice")
            return retrying(lambda: self._handle(practice, event), ATTEMPTS)

    @staticmethod
    def _context(practice_id: UUID) -> audit.AuditContext:
        ctx = audit.system(ACTOR, practice_id=practice_id)
        request = audit.peek()
        if request is not None:
            ctx = replace(ctx, request_id=request.request_id, client_ip=request.client_ip,
                          user_agent=request.user_agent)
        return ctx

    @staticmethod
    def _ignored(event: WebhookEvent, reason: str) -> WebhookOutcome:
        log.info("stripe event %s (%s) ignored: %s", event.id, event.type, reason)
        return WebhookOutcome(event.id, event.type, "ignored")

    def _handle(self, practice: Practice, event: WebhookEvent) -> WebhookOutcome:
        """One attempt: the receipt and every change in one save. A concurrent delivery of the
        same event makes the save collide; the retry then finds the receipt."""
        receipt_id = stripe_event_receipt_id(event.id)
        if self.store.exists(receipt_id):
            return WebhookOutcome(event.id, event.type, "duplicate")
        now = self.clock.now()
        changed: list[Payment | Invoice | Charge] = []
        payment_id: UUID | None = None
        invoice_id = _uuid(event.metadata.get("invoice_id"))
        try:
            if event.type not in (SUCCEEDED, FAILED, REFUNDED):
                raise Ignored("an event type we do not act on")
            invoice = self._invoice(practice.id, invoice_id)
            if event.intent_id is None:
                raise Ignored("no payment intent")
            if (event.currency or "").lower() != self.currency:
                raise Ignored(f"currency {event.currency} is not {self.currency}")
            if event.type == FAILED:
                outcome = "already_recorded"
                if invoice.record_payment_failure(event.intent_id, event.failure_message or "", at=now):
                    outcome = "payment_failed"
                    changed.append(invoice)
            else:
                payment_id = payment_id_for(practice.id, event.intent_id)
                payment, outcome = self._payment(practice, invoice, event, payment_id, now, changed)
                if event.type == REFUNDED:
                    outcome = self._refund(payment, invoice, event, now, changed) or outcome
        except Ignored as e:
            log.info("stripe event %s (%s) ignored: %s", event.id, event.type, e.reason)
            outcome = "ignored"
            changed.clear()
        receipt = StripeEventReceipt.record(
            stripe_event_id=event.id, event_type=event.type, practice_id=practice.id, intent_id=event.intent_id,
            invoice_id=invoice_id, payment_id=payment_id, outcome=outcome, event_created=event.created, at=now,
        )
        self.store.save(receipt, *{aggregate.id: aggregate for aggregate in changed}.values())
        return WebhookOutcome(event.id, event.type, outcome, payment_id, invoice_id)

    def _invoice(self, practice_id: UUID, invoice_id: UUID | None) -> Invoice:
        if invoice_id is None:
            raise Ignored("no invoice_id in the metadata")
        try:
            invoice: Invoice = self.store.load(invoice_id, Invoice)
        except NotFound:
            raise Ignored("no such invoice in the practice") from None
        if invoice.practice_id != practice_id:
            raise Ignored("no such invoice in the practice")
        return invoice

    def _payment(
        self, practice: Practice, invoice: Invoice, event: WebhookEvent, payment_id: UUID, now: datetime,
        changed: list[Payment | Invoice | Charge],
    ) -> tuple[Payment, str]:
        """The intent's payment, received and applied to the invoice now if it is not yet."""
        try:
            found: Payment = self.store.load(payment_id, Payment)
            return found, "already_recorded"
        except NotFound:
            pass
        if event.amount is None or event.amount <= ZERO:
            raise Ignored("no amount collected")
        local = zone(practice.time_zone)
        today = now.astimezone(local).date()
        received_on: date = min(event.created.astimezone(local).date(), today)
        payment = Payment.receive(
            practice_id=practice.id, client_id=invoice.client_id, payer=None, method="card", amount=event.amount,
            received_on=received_on, received_at=now, by=None, today=today, source="card",
            reference=event.intent_id, payment_id=payment_id,
        )
        changed.append(payment)
        fits = min(event.amount, invoice.balance) if invoice.status in PAYABLE else ZERO
        if fits > ZERO:
            application_id = uuid5(payment.id, f"invoice:{invoice.id}")
            payment.apply(application_id, "invoice", invoice.id, fits, at=now, by=None)
            invoice.apply_payment(application_id, payment.id, fits, at=now)
            changed.append(invoice)
        if fits < event.amount:
            log.info("card payment %s: %s of %s left unapplied (invoice %s is %s)", payment.id,
                     event.amount - fits, event.amount, invoice.id, invoice.status)
        return payment, "payment_recorded"

    def _refund(
        self, payment: Payment, invoice: Invoice, event: WebhookEvent, now: datetime,
        changed: list[Payment | Invoice | Charge],
    ) -> str | None:
        """Refund what Stripe has refunded beyond what the payment records (None: nothing new)."""
        delta = (event.amount_refunded or ZERO) - payment.refunded
        if delta <= ZERO:
            return None
        refund_id = f"{event.charge_id}:{event.amount_refunded}"
        if event.refunds and event.refunds[0].amount == delta and event.refunds[0].id not in payment.refunds:
            refund_id = event.refunds[0].id
        need = delta - payment.unapplied
        last: tuple[Application, Invoice | Charge] | None = None
        for application in self._unapply_order(payment, invoice):
            if need <= ZERO:
                break
            target = self._target(application, invoice, changed)
            payment.unapply(application.application_id, REFUND_REASON, at=now, by=None)
            if isinstance(target, Charge):
                target.unapply_payment(str(application.application_id), at=now)
            else:
                target.unapply_payment(application.application_id, at=now)
            need -= application.amount
            last = (application, target)
            changed.extend((payment, target))
        payment.refund(refund_id, delta, REFUND_REASON, at=now, by=None, reference=event.charge_id)
        changed.append(payment)
        if need < ZERO and last is not None:
            self._reapply(payment, last, min(-need, last[1].balance), refund_id, now)
        return "refund_recorded"

    @staticmethod
    def _unapply_order(payment: Payment, invoice: Invoice) -> list[Application]:
        """The intent's own invoice first, then the newest applications elsewhere."""
        active = list(reversed(payment.active_applications()))
        return sorted(active, key=lambda a: a.target_id != invoice.id)

    def _target(self, application: Application, invoice: Invoice,
                changed: list[Payment | Invoice | Charge]) -> Invoice | Charge:
        if application.target_id == invoice.id:
            return invoice
        for known in changed:
            if isinstance(known, Invoice | Charge) and known.id == application.target_id:
                return known
        cls: type[Invoice | Charge] = Invoice if application.target == "invoice" else Charge
        target: Invoice | Charge = self.store.load(application.target_id, cls)
        return target

    @staticmethod
    def _reapply(payment: Payment, last: tuple[Application, Invoice | Charge], amount: Decimal, refund_id: str,
                 now: datetime) -> None:
        """What was unapplied beyond the refund goes back where it was, as far as it fits."""
        application, target = last
        if amount <= ZERO:
            return
        again = uuid5(payment.id, f"{application.target}:{target.id}:{refund_id}")
        payment.apply(again, application.target, target.id, amount, at=now, by=None)
        if isinstance(target, Charge):
            target.apply_payment(str(again), payment.id, amount, source=payment.source, at=now)
        else:
            target.apply_payment(again, payment.id, amount, at=now)


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None
