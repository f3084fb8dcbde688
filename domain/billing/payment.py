"""A payment received (seed 001 Module 5, seed 003): cash, check, card, insurance or other.

Payments are applied in a second step (the "two-step workflow"): receiving records the money,
applying assigns part of it to a charge or an invoice, so `amount = applied + refunded +
unapplied` always holds. An application can be taken back (unapplied) and re-applied elsewhere;
a refund returns unapplied money to the payer. A card payment's id derives from its Stripe
PaymentIntent, and an insurance payment from an 835's trace number, so each is recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain.billing.charge import check_reason
from domain.billing.money import ZERO, money
from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited

METHODS = ("cash", "check", "card", "insurance", "other")
SOURCES = ("manual", "card", "remittance")
TARGETS = ("charge", "invoice")
PAYMENT_NAMESPACE = UUID("3e9b8f61-0c7d-4a55-b2e4-9d1f6a8c7e02")


def payment_id_for(practice_id: UUID, external_reference: str) -> UUID:
    """The id of the payment that an outside reference (a PaymentIntent, an 835 trace) records."""
    return uuid5(PAYMENT_NAMESPACE, f"{practice_id}/{external_reference}")


@dataclass(frozen=True)
class Application:
    application_id: UUID
    target: str
    target_id: UUID
    amount: Decimal
    active: bool = True


class Payment(Aggregate):
    TOPIC = "careledger/payment"

    class Created(Aggregate.Created):
        TOPIC = "careledger/payment/created"

    class Received(Created, Audited):
        TOPIC = "careledger/payment/received"
        practice_id: UUID
        client_id: UUID | None
        payer: str | None
        method: str
        source: str
        amount: Decimal
        received_on: date
        check_number: str | None
        reference: str | None
        received_at: datetime
        by: UUID | None

    class Applied(Aggregate.Event, Audited):
        TOPIC = "careledger/payment/applied"
        application_id: UUID
        target: str
        target_id: UUID
        amount: Decimal
        at: datetime
        by: UUID | None

    class Unapplied(Aggregate.Event, Audited):
        TOPIC = "careledger/payment/unapplied"
        application_id: UUID
        amount: Decimal
        reason: str
        at: datetime
        by: UUID | None

    class Refunded(Aggregate.Event, Audited):
        TOPIC = "careledger/payment/refunded"
        refund_id: str
        amount: Decimal
        reason: str
        reference: str | None
        at: datetime
        by: UUID | None

    @classmethod
    def receive(
        cls, *, practice_id: UUID, client_id: UUID | None, payer: str | None, method: str, amount: Decimal,
        received_on: date, received_at: datetime, by: UUID | None, today: date, source: str = "manual",
        check_number: str | None = None, reference: str | None = None, payment_id: UUID | None = None,
    ) -> Payment:
        if method not in METHODS:
            raise InvalidCommand("Unknown payment method.", field="method", allowed=list(METHODS))
        if source not in SOURCES:
            raise InvalidCommand("Unknown payment source.", field="source", allowed=list(SOURCES))
        if received_on > today:
            raise InvalidCommand("A payment is recorded when it has been received.", field="received_on")
        number = check_number.strip() if isinstance(check_number, str) and check_number.strip() else None
        if method == "check" and number is None:
            raise InvalidCommand("A check payment needs the check number.", field="check_number")
        if number is not None and len(number) > 30:
            raise InvalidCommand("A check number is at most 30 characters.", field="check_number")
        if method == "insurance" and not (payer and payer.strip()):
            raise InvalidCommand("An insurance payment names the payer.", field="payer")
        if method != "insurance" and client_id is None:
            raise InvalidCommand("A patient payment names the client.", field="client_id")
        fields: dict[str, Any] = {
            "practice_id": practice_id, "client_id": client_id, "payer": payer.strip()[:120] if payer else None,
            "method": method, "source": source, "amount": money(amount, positive=method != "insurance"),
            "received_on": received_on, "check_number": number, "reference": (reference or None),
            "received_at": received_at, "by": by,
        }
        return cls._create(cls.Received, id=payment_id or uuid4(), **fields)

    @event(Received)
    def __init__(
        self, practice_id: UUID, client_id: UUID | None, payer: str | None, method: str, source: str,
        amount: Decimal, received_on: date, check_number: str | None, reference: str | None,
        received_at: datetime, by: UUID | None,
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.payer = payer
        self.method = method
        self.source = source
        self.amount = amount
        self.received_on = received_on
        self.check_number = check_number
        self.reference = reference
        self.received_at = received_at
        self.applications: dict[UUID, Application] = {}
        self.refunds: dict[str, Decimal] = {}

    @property
    def applied(self) -> Decimal:
        return sum((a.amount for a in self.applications.values() if a.active), ZERO)

    @property
    def refunded(self) -> Decimal:
        return sum(self.refunds.values(), ZERO)

    @property
    def unapplied(self) -> Decimal:
        return self.amount - self.applied - self.refunded

    def active_applications(self) -> list[Application]:
        return [a for a in self.applications.values() if a.active]

    def apply(self, application_id: UUID, target: str, target_id: UUID, amount: Decimal, *, at: datetime,
              by: UUID | None) -> None:
        if self.source == "remittance":
            raise IllegalTransition("An 835 payment is posted by matching its claims, not by hand.")
        if target not in TARGETS:
            raise InvalidCommand("A payment applies to a charge or an invoice.", field="target", allowed=list(TARGETS))
        amount = money(amount, positive=True)
        if amount > self.unapplied:
            raise InvalidCommand("The payment has less unapplied money than that.", field="amount",
                                 unapplied=str(self.unapplied))
        if application_id in self.applications:
            raise IllegalTransition("That application exists already.", application_id=str(application_id))
        self._applied(application_id, target, target_id, amount, at, by)

    @event(Applied)
    def _applied(self, application_id: UUID, target: str, target_id: UUID, amount: Decimal, at: datetime,
                 by: UUID | None) -> None:
        self.applications[application_id] = Application(application_id, target, target_id, amount)

    def unapply(self, application_id: UUID, reason: str, *, at: datetime, by: UUID | None) -> Application:
        application = self.applications.get(application_id)
        if application is None or not application.active:
            raise IllegalTransition("No such application on this payment.", application_id=str(application_id))
        self._unapplied(application_id, application.amount, check_reason(reason), at, by)
        return application

    @event(Unapplied)
    def _unapplied(self, application_id: UUID, amount: Decimal, reason: str, at: datetime, by: UUID | None) -> None:
        old = self.applications[application_id]
        self.applications[application_id] = Application(old.application_id, old.target, old.target_id, old.amount,
                                                        active=False)

    def refund(self, refund_id: str, amount: Decimal, reason: str, *, at: datetime, by: UUID | None,
               reference: str | None = None) -> bool:
        """Return unapplied money to the payer, once per `refund_id` (False: recorded already)."""
        if refund_id in self.refunds:
            return False
        amount = money(amount, positive=True)
        if amount > self.unapplied:
            raise InvalidCommand("Only unapplied money is refunded; unapply it first.", field="amount",
                                 unapplied=str(self.unapplied))
        self._refunded(refund_id, amount, check_reason(reason), reference, at, by)
        return True

    @event(Refunded)
    def _refunded(self, refund_id: str, amount: Decimal, reason: str, reference: str | None, at: datetime,
                  by: UUID | None) -> None:
        self.refunds[refund_id] = amount
