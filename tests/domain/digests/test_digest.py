"""The Digest aggregate: one per member, kind and local date; claimed before mailing; sent once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from domain.digests.digest import (
    DIGEST_RETRY,
    Digest,
    DigestClaimHeld,
    DigestClosed,
    DigestKey,
    digest_id_for,
    digest_period,
)
from domain.errors import IllegalTransition, InvalidCommand
from tests.gwt import given, then_events, then_no_new_events

T0 = datetime(2026, 3, 9, 12, 5, tzinfo=UTC)
LEASE = timedelta(minutes=10)
MONDAY = date(2026, 3, 9)


def opened(kind: str = "daily") -> Digest:
    return given(Digest.open(uuid4(), uuid4(), kind, MONDAY, T0))


def test_one_digest_per_member_kind_and_date() -> None:
    d = opened()
    assert d.id == digest_id_for(d.member_id, "daily", MONDAY) == DigestKey(d.practice_id, d.member_id, "daily",
                                                                              MONDAY).id
    assert digest_id_for(d.member_id, "weekly", MONDAY) != d.id
    assert digest_id_for(d.member_id, "daily", MONDAY + timedelta(days=1)) != d.id


def test_periods() -> None:
    assert digest_period("daily", MONDAY) == (date(2026, 3, 8), date(2026, 3, 8))
    assert digest_period("weekly", MONDAY) == (date(2026, 3, 2), date(2026, 3, 8))
    with pytest.raises(InvalidCommand):
        digest_period("weekly", MONDAY + timedelta(days=1))
    with pytest.raises(InvalidCommand):
        Digest.open(uuid4(), uuid4(), "monthly", MONDAY, T0)


def test_claim_then_sent_once() -> None:
    d = opened("weekly")
    d.claim("w1", T0, LEASE)
    d.record_sent("w1", {"scheduled": 4, "completed": 3}, "mail-1", T0 + timedelta(seconds=2))
    [claimed, sent] = d.collect_events()
    assert isinstance(claimed, Digest.Claimed) and (claimed.attempt, claimed.takeover) == (1, False)
    assert isinstance(sent, Digest.Sent)
    assert (sent.kind, sent.period_start, sent.period_end, sent.counts, sent.message_key) == (
        "weekly", date(2026, 3, 2), date(2026, 3, 8), {"scheduled": 4, "completed": 3}, "mail-1")
    assert d.done and d.message_key == "mail-1"
    with pytest.raises(DigestClosed):
        d.claim("w2", T0 + timedelta(hours=1), LEASE)
    with pytest.raises(DigestClosed):
        d.record_sent("w1", {}, "mail-2", T0)
    then_no_new_events(d)


def test_a_held_claim_refuses_others_until_its_lease_runs_out() -> None:
    d = opened()
    d.claim("w1", T0, LEASE)
    with pytest.raises(DigestClaimHeld):
        d.claim("w2", T0 + timedelta(minutes=9), LEASE)
    with pytest.raises(DigestClaimHeld):
        d.record_sent("w2", {}, "mail-1", T0)
    assert d.held(T0 + timedelta(minutes=9)) and d.in_doubt(T0 + LEASE)
    d.claim("w2", T0 + LEASE, LEASE)
    assert [(e.attempt, e.takeover) for e in d.collect_events() if isinstance(e, Digest.Claimed)] == [
        (1, False), (2, True)]
    with pytest.raises(DigestClaimHeld):
        d.record_sent("w1", {}, "mail-1", T0 + LEASE)  # the first worker lost its claim


def test_failures_retry_then_give_up() -> None:
    d = opened()
    d.claim("w1", T0, LEASE)
    d.record_failure("w1", "mail_failed", False, T0, DIGEST_RETRY)
    assert (d.status, d.retry_at) == ("retrying", T0 + timedelta(minutes=15))
    assert d.waiting(T0 + timedelta(minutes=14)) and not d.ready(T0 + timedelta(minutes=14))
    with pytest.raises(IllegalTransition):
        d.claim("w1", T0 + timedelta(minutes=14), LEASE)
    d.claim("w1", T0 + timedelta(minutes=15), LEASE)
    d.record_failure("w1", "mail_failed", False, T0 + timedelta(minutes=15), DIGEST_RETRY)
    assert d.retry_at == T0 + timedelta(minutes=75)
    d.claim("w1", T0 + timedelta(minutes=75), LEASE)
    d.record_failure("w1", "mail_failed", False, T0 + timedelta(minutes=75), DIGEST_RETRY)
    assert (d.status, d.retry_at, d.done) == ("failed", None, True)
    assert then_events(d) == ["Claimed", "Failed", "Claimed", "Failed", "Claimed", "Failed"]


def test_a_permanent_failure_gives_up_at_once() -> None:
    d = opened()
    d.claim("w1", T0, LEASE)
    d.record_failure("w1", "invalid_address", True, T0, DIGEST_RETRY)
    assert d.status == "failed" and d.error == "invalid_address"


def test_bad_outcomes_are_refused_and_change_nothing() -> None:
    d = opened()
    with pytest.raises(IllegalTransition):
        d.record_sent("w1", {}, "mail-1", T0)  # not claimed
    d.claim("w1", T0, LEASE)
    d.collect_events()
    for counts in ({"Client Name": 1}, {"scheduled": "4"}, {"scheduled": True}, {f"c{i}": 1 for i in range(65)}):
        with pytest.raises(InvalidCommand):
            d.record_sent("w1", counts, "mail-1", T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        d.record_sent("w1", {}, "", T0)
    with pytest.raises(InvalidCommand):
        d.record_failure("w1", "SMTP said: no", False, T0, DIGEST_RETRY)
    with pytest.raises(InvalidCommand):
        d.claim("w2", T0 + LEASE, timedelta(0))
    then_no_new_events(d)
