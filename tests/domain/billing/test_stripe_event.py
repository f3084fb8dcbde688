"""StripeEventReceipt: one per Stripe event id, holding only ids and what came of the event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from domain.billing.stripe_event import StripeEventReceipt, stripe_event_receipt_id
from domain.errors import InvalidCommand

AT = datetime(2026, 11, 21, 16, tzinfo=UTC)


def receipt(**changes: Any) -> StripeEventReceipt:
    fields: dict[str, Any] = {
        "stripe_event_id": "evt_1", "event_type": "payment_intent.succeeded", "practice_id": uuid4(),
        "intent_id": "pi_1", "invoice_id": uuid4(), "payment_id": uuid4(), "outcome": "payment_recorded",
        "event_created": AT, "at": AT,
    }
    return StripeEventReceipt.record(**(fields | changes))


def test_the_id_follows_from_the_stripe_event_id() -> None:
    r = receipt()
    assert r.id == stripe_event_receipt_id("evt_1") == receipt().id
    assert stripe_event_receipt_id("evt_2") != r.id
    assert (r.event_type, r.intent_id, r.outcome, r.version) == ("payment_intent.succeeded", "pi_1",
                                                                 "payment_recorded", 1)
    [recorded] = r.collect_events()
    assert isinstance(recorded, StripeEventReceipt.Recorded)
    assert StripeEventReceipt.Recorded.TOPIC == "careledger/stripe-event-receipt/recorded"


@pytest.mark.parametrize("changes", [
    {"stripe_event_id": ""}, {"stripe_event_id": "e" * 256}, {"event_type": ""}, {"intent_id": ""},
    {"outcome": "duplicate"},
])
def test_refuses_what_is_not_a_receipt(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidCommand):
        receipt(**changes)
