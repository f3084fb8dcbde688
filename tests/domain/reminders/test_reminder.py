"""The Reminder aggregate's state machine, the timing rules and the text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import IllegalTransition
from domain.reminders.message import REPLY_OPTIONS, compose
from domain.reminders.reminder import ClaimHeld, Reminder, ReminderClosed, RetryPolicy, reminder_id_for
from domain.reminders.timing import lateness, planned_offsets
from tests.domain.scheduling.replay import replayed
from tests.gwt import given, then_events, then_no_new_events

T0 = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
APPOINTMENT = uuid4()


def scheduled() -> Reminder:
    return given(Reminder.schedule(uuid4(), uuid4(), APPOINTMENT, 24, T0))


def test_one_reminder_per_appointment_and_offset() -> None:
    r = scheduled()
    assert r.id == reminder_id_for(APPOINTMENT, 24) == r.key.id
    assert reminder_id_for(APPOINTMENT, 2) != r.id


def test_claim_send_once() -> None:
    r = scheduled()
    r.claim("w1", "sms", T0, LEASE)
    r.record_sent("w1", "sms", "SM1", T0 + timedelta(seconds=1))
    assert then_events(r) == ["Claimed", "Sent"]
    assert r.done and r.provider_id == "SM1"
    with pytest.raises(ReminderClosed):
        r.claim("w2", "sms", T0 + timedelta(hours=1), LEASE)
    with pytest.raises(ReminderClosed):
        r.record_sent("w1", "sms", "SM2", T0)
    then_no_new_events(r)


def test_a_held_claim_refuses_others_until_its_lease_ends() -> None:
    r = scheduled()
    r.claim("w1", "sms", T0, LEASE)
    r.collect_events()
    with pytest.raises(ClaimHeld):
        r.claim("w2", "sms", T0 + LEASE - timedelta(seconds=1), LEASE)
    with pytest.raises(ClaimHeld):
        r.record_sent("w2", "sms", "SM9", T0)
    with pytest.raises(ClaimHeld):
        r.skip("w2", "too_late", T0)
    assert r.in_doubt(T0 + LEASE)
    r.claim("w2", "email", T0 + LEASE, LEASE)  # a takeover keeps the channel and the doubt's start
    [claimed] = r.collect_events()
    assert isinstance(claimed, Reminder.Claimed) and claimed.takeover and claimed.attempt == 2
    assert r.channel == "sms" and r.in_doubt_since == T0 and r.claimed_by == "w2"
    r.record_sent("w2", "sms", "SM1", T0 + LEASE, reconciled=True)
    assert r.status == "sent"


def test_retryable_failures_back_off_then_give_up() -> None:
    policy = RetryPolicy(max_attempts=2, backoff=(timedelta(minutes=1),))
    r = scheduled()
    r.claim("w", "sms", T0, LEASE)
    r.record_failure("w", "sms_20429", False, T0, policy)
    assert r.status == "retrying" and r.retry_at == T0 + timedelta(minutes=1)
    assert r.waiting(T0 + timedelta(seconds=30))
    with pytest.raises(IllegalTransition):
        r.claim("w", "sms", T0 + timedelta(seconds=30), LEASE)
    r.claim("w", "sms", T0 + timedelta(minutes=1), LEASE)
    r.record_failure("w", "sms_20429", False, T0 + timedelta(minutes=1), policy)
    assert r.status == "failed" and r.retry_at is None and r.done


def test_permanent_failure_is_final() -> None:
    r = scheduled()
    r.claim("w", "sms", T0, LEASE)
    r.record_failure("w", "sms_21211", True, T0, RetryPolicy())
    assert r.status == "failed"
    with pytest.raises(ReminderClosed):
        r.claim("w", "sms", T0 + timedelta(days=1), LEASE)


def test_events_round_trip() -> None:
    r = Reminder.schedule(uuid4(), uuid4(), APPOINTMENT, 24, T0)
    r.claim("w", "email", T0, LEASE)
    r.record_sent("w", "email", "m1", T0)
    copy = replayed(r.collect_events())
    assert (copy.status, copy.channel, copy.provider_id, copy.attempts) == ("sent", "email", "m1", 1)


def test_offsets_past_at_booking_are_not_scheduled() -> None:
    start = T0 + timedelta(hours=10)
    assert [h for h, _ in planned_offsets(start, T0, (48, 24, 2))] == [2]
    assert [h for h, _ in planned_offsets(start + timedelta(days=3), T0, (48, 24, 2))] == [48, 24, 2]
    assert planned_offsets(T0 + timedelta(hours=1), T0, (48, 24, 2)) == []


def test_a_reminder_is_superseded_by_a_later_one_and_never_sent_after_the_start() -> None:
    start = T0 + timedelta(days=3)
    assert lateness(48, start, T0, (48, 24, 2), start - timedelta(hours=47)) is None
    assert lateness(48, start, T0, (48, 24, 2), start - timedelta(hours=23)) == "superseded"
    assert lateness(2, start, T0, (48, 24, 2), start - timedelta(minutes=1)) is None
    assert lateness(2, start, T0, (48, 24, 2), start) == "too_late"


def test_the_text_is_local_and_never_asks_for_cancel() -> None:
    m = compose("Ana", "Peachtree Counseling", "Therapy Session", datetime(2026, 3, 10, 19, 30, tzinfo=UTC),
                "America/New_York", "+14045550100")
    assert m.sms.startswith("Hi Ana, a reminder from Peachtree Counseling: your Therapy Session is on "
                            "Tuesday, March 10 at 3:30 PM EDT.")
    assert REPLY_OPTIONS in m.sms and "Reply C to confirm or R to reschedule" in m.sms
    assert "cancel" not in m.sms.lower() and "cancel" not in m.email.lower()
    assert "+14045550100" in m.email
    winter = compose("Ana", "P", "Follow-Up", datetime(2026, 1, 5, 17, 0, tzinfo=UTC), "America/New_York")
    assert "Monday, January 5 at 12:00 PM EST" in winter.sms
