"""A Stripe webhook event we handled, recorded once per Stripe event id.

Stripe delivers each event at least once, sometimes twice at the same moment. The receipt's id
derives from the event id and it is saved in the same `store.save` as whatever the event changed
(the payment, the invoice): a second delivery finds the receipt, and a concurrent one collides on
the receipt's first version and rolls back whole. So each event changes the books exactly once.
Nothing here is about a client's care: ids, the event type and what came of it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidCommand
from domain.events import Audited

STRIPE_EVENT_NAMESPACE = UUID("c4a1f0d2-7b3e-4e59-8a16-2f9d0b7c5e31")
OUTCOMES = (
    "payment_recorded", "payment_failed", "refund_recorded", "already_recorded", "ignored",
)
MAX_ID = 255


def stripe_event_receipt_id(stripe_event_id: str) -> UUID:
    return uuid5(STRIPE_EVENT_NAMESPACE, stripe_event_id)


def _checked_id(value: str | None, field: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID:
        raise InvalidCommand(f"A Stripe {field} is 1 to {MAX_ID} characters.", field=field)
    return value


class StripeEventReceipt(Aggregate):
    TOPIC = "careledger/stripe-event-receipt"

    class Created(Aggregate.Created):
        TOPIC = "careledger/stripe-event-receipt/created"

    class Recorded(Created, Audited):
        TOPIC = "careledger/stripe-event-receipt/recorded"
        stripe_event_id: str
        event_type: str
        practice_id: UUID
        intent_id: str | None
        invoice_id: UUID | None
        payment_id: UUID | None
        outcome: str
        event_created: datetime
        at: datetime

    @classmethod
    def record(
        cls, *, stripe_event_id: str, event_type: str, practice_id: UUID, intent_id: str | None,
        invoice_id: UUID | None, payment_id: UUID | None, outcome: str, event_created: datetime, at: datetime,
    ) -> StripeEventReceipt:
        event_id = _checked_id(stripe_event_id, "event_id", required=True)
        assert event_id is not None
        if outcome not in OUTCOMES:
            raise InvalidCommand("Unknown webhook outcome.", field="outcome", allowed=list(OUTCOMES))
        return cls._create(
            cls.Recorded, id=stripe_event_receipt_id(event_id), stripe_event_id=event_id,
            event_type=_checked_id(event_type, "event_type", required=True), practice_id=practice_id,
            intent_id=_checked_id(intent_id, "intent_id"), invoice_id=invoice_id, payment_id=payment_id,
            outcome=outcome, event_created=event_created, at=at,
        )

    @event(Recorded)
    def __init__(
        self, stripe_event_id: str, event_type: str, practice_id: UUID, intent_id: str | None,
        invoice_id: UUID | None, payment_id: UUID | None, outcome: str, event_created: datetime, at: datetime,
    ) -> None:
        self.stripe_event_id = stripe_event_id
        self.event_type = event_type
        self.practice_id = practice_id
        self.intent_id = intent_id
        self.invoice_id = invoice_id
        self.payment_id = payment_id
        self.outcome = outcome
        self.event_created = event_created
        self.at = at
