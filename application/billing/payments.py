"""Payments received by hand (cash, check, card at the desk, insurance checks, other) and their
two-step application to charges and invoices, unapplying, and refunds of unapplied money.

Applying moves money on two aggregates, the payment and its target; both are saved in one
`store.save`, so either both change or neither does, and two clerks applying the same payment at
once cannot spend its unapplied money twice (the later save collides, is retried on the state
that won, and refused if the money is gone).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID, uuid4

from application.billing.scope import acting_member, billing_scope, require_practice_wide
from application.errors import NotFound
from application.ports import Clock
from application.retry import retrying
from application.store import EventStore, Saved
from domain.billing.charge import Charge
from domain.billing.invoice import Invoice
from domain.billing.payment import METHODS, TARGETS, Payment
from domain.clients.client import Client
from domain.errors import InvalidCommand
from domain.practices.practice import Practice
from domain.scheduling.working_time import zone

ATTEMPTS = 5


class PaymentReadModel(Protocol):
    """The billing ledger (projections/billing_ledger.py)."""

    def payments(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, client_id: UUID | None = None,
        method: str | None = None, first: date | None = None, last: date | None = None,
        unapplied_only: bool = False, cursor: str | None = None, limit: int = 100,
    ) -> Any: ...


@dataclass(frozen=True)
class PaymentFilter:
    client_id: UUID | None = None
    method: str | None = None
    first: date | None = None
    last: date | None = None
    unapplied_only: bool = False
    cursor: str | None = None
    limit: int = 100


class PaymentService:
    def __init__(self, store: EventStore, clock: Clock, ledger: PaymentReadModel) -> None:
        self.store = store
        self.clock = clock
        self.ledger = ledger

    def _payment(self, practice_id: UUID, payment_id: UUID) -> Payment:
        try:
            payment: Payment = self.store.load(payment_id, Payment)
        except NotFound:
            raise NotFound(f"No payment {payment_id}.") from None
        if payment.practice_id != practice_id or not billing_scope().sees_payment(payment.client_id):
            raise NotFound(f"No payment {payment_id}.")
        return payment

    def _today(self, practice_id: UUID) -> date:
        practice: Practice = self.store.load(practice_id, Practice)
        return self.clock.now().astimezone(zone(practice.time_zone)).date()

    def receive(
        self, practice_id: UUID, *, method: str, amount: Decimal, client_id: UUID | None = None,
        payer: str | None = None, received_on: date | None = None, check_number: str | None = None,
        reference: str | None = None,
    ) -> Saved:
        """Record money received (default: today, practice-local). A check names its number, an
        insurance payment its payer; every other payment names the client."""
        require_practice_wide("Recording a payment")
        if client_id is not None:
            try:
                client: Client = self.store.load(client_id, Client)
            except NotFound:
                raise NotFound(f"No client {client_id}.") from None
            if client.practice_id != practice_id:
                raise NotFound(f"No client {client_id}.")
        today = self._today(practice_id)
        payment = Payment.receive(
            practice_id=practice_id, client_id=client_id, payer=payer, method=method, amount=amount,
            received_on=received_on or today, received_at=self.clock.now(), by=acting_member(practice_id),
            today=today, source="manual", check_number=check_number, reference=reference,
        )
        return self.store.save_one(payment)

    def apply(
        self, practice_id: UUID, payment_id: UUID, *, target: str, target_id: UUID, amount: Decimal,
        application_id: UUID | None = None,
    ) -> Saved:
        """Apply part of the payment's unapplied money to a charge or an invoice of the same client
        (an insurance payment without a client to any charge), at most the target's balance. The
        answer's id is the application's. Repeating a request with the same `application_id`
        changes nothing."""
        require_practice_wide("Applying a payment")
        if target not in TARGETS:
            raise InvalidCommand("A payment applies to a charge or an invoice.", field="target", allowed=list(TARGETS))
        app_id = application_id or uuid4()
        by = acting_member(practice_id)

        def attempt() -> Saved:
            payment = self._payment(practice_id, payment_id)
            done = payment.applications.get(app_id)
            if done is not None and (done.target, done.target_id, done.amount) == (target, target_id, amount):
                return Saved(app_id, payment.version, 0)
            now = self.clock.now()
            goal = self._target(practice_id, target, target_id)
            if payment.client_id is not None and goal.client_id != payment.client_id:
                raise InvalidCommand(f"The {target} is another client's.", field="target_id")
            if isinstance(goal, Charge) and isinstance(amount, Decimal) and amount > goal.balance:
                raise InvalidCommand("A payment applied is at most the charge's balance.", field="amount")
            payment.apply(app_id, target, target_id, amount, at=now, by=by)
            if isinstance(goal, Charge):
                goal.apply_payment(str(app_id), payment.id, amount, source=payment.source, at=now)
            else:
                goal.apply_payment(app_id, payment.id, amount, at=now)
            recordings = self.store.save(payment, goal)
            return Saved(app_id, payment.version, max(r.notification.id for r in recordings))

        return retrying(attempt, ATTEMPTS)

    def _target(self, practice_id: UUID, target: str, target_id: UUID) -> Charge | Invoice:
        cls: type[Charge | Invoice] = Charge if target == "charge" else Invoice
        try:
            goal: Charge | Invoice = self.store.load(target_id, cls)
        except NotFound:
            raise NotFound(f"No {target} {target_id}.") from None
        if goal.practice_id != practice_id:
            raise NotFound(f"No {target} {target_id}.")
        return goal

    def unapply(self, practice_id: UUID, payment_id: UUID, application_id: UUID, reason: str) -> Saved:
        """Take an application back from its charge or invoice; the money is unapplied again."""
        require_practice_wide("Unapplying a payment")
        by = acting_member(practice_id)

        def attempt() -> Saved:
            payment = self._payment(practice_id, payment_id)
            now = self.clock.now()
            application = payment.unapply(application_id, reason, at=now, by=by)
            goal = self._target(practice_id, application.target, application.target_id)
            if isinstance(goal, Charge):
                goal.unapply_payment(str(application_id), at=now)
            else:
                goal.unapply_payment(application_id, at=now)
            recordings = self.store.save(payment, goal)
            return Saved(application_id, payment.version, max(r.notification.id for r in recordings))

        return retrying(attempt, ATTEMPTS)

    def refund(
        self, practice_id: UUID, payment_id: UUID, *, amount: Decimal, reason: str, reference: str | None = None,
        refund_id: str | None = None,
    ) -> Saved:
        """Return unapplied money to the payer; the same `refund_id` again changes nothing."""
        require_practice_wide("Refunding a payment")
        by = acting_member(practice_id)
        key = refund_id or str(uuid4())

        def attempt() -> Saved:
            payment = self._payment(practice_id, payment_id)
            payment.refund(key, amount, reason, at=self.clock.now(), by=by, reference=reference)
            return self.store.save_one(payment)

        return retrying(attempt, ATTEMPTS)

    def get(self, practice_id: UUID, payment_id: UUID) -> Payment:
        return self._payment(practice_id, payment_id)

    def list(self, practice_id: UUID, filters: PaymentFilter) -> Any:
        if filters.method is not None and filters.method not in METHODS:
            raise InvalidCommand("Unknown payment method.", field="method", allowed=list(METHODS))
        if filters.first and filters.last and filters.first > filters.last:
            raise InvalidCommand("The date range ends before it starts.", field="to")
        scope = billing_scope()
        return self.ledger.payments(
            practice_id, only_clients=scope.clients if scope.payments else frozenset(), client_id=filters.client_id,
            method=filters.method, first=filters.first, last=filters.last, unapplied_only=filters.unapplied_only,
            cursor=filters.cursor, limit=filters.limit,
        )
