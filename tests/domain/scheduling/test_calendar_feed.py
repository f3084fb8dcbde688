from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.errors import IllegalTransition, InvalidCommand
from domain.scheduling.calendar_feed import REPLACED, CalendarFeed, calendar_feed_id_for
from tests.domain.scheduling.replay import replayed
from tests.gwt import given, then_events, then_no_new_events

PRACTICE, CLINICIAN = uuid4(), uuid4()
NOW = datetime(2026, 3, 9, 12, tzinfo=UTC)
FIRST, SECOND = hashlib.sha256(b"first").hexdigest(), hashlib.sha256(b"second").hexdigest()


def issued() -> CalendarFeed:
    feed = CalendarFeed.open(PRACTICE, CLINICIAN)
    feed.issue(FIRST, NOW)
    return given(feed)


def test_one_feed_per_clinician() -> None:
    assert CalendarFeed.open(PRACTICE, CLINICIAN).id == calendar_feed_id_for(CLINICIAN)
    assert CalendarFeed.open(PRACTICE, uuid4()).id != calendar_feed_id_for(CLINICIAN)


def test_a_new_feed_has_no_link_until_issued() -> None:
    feed = CalendarFeed.open(PRACTICE, CLINICIAN)
    assert not feed.active and not feed.accepts(FIRST) and not feed.accepts("")
    feed.issue(FIRST, NOW)
    assert then_events(feed) == ["Opened", "Issued"]
    assert feed.accepts(FIRST) and not feed.accepts(SECOND)


def test_issuing_again_revokes_the_previous_secret_first() -> None:
    feed = issued()
    feed.issue(SECOND, NOW)
    events = feed.collect_events()
    assert [type(e).__name__ for e in events] == ["Revoked", "Issued"]
    assert events[0].reason_code == REPLACED
    assert feed.accepts(SECOND) and not feed.accepts(FIRST)


def test_revoking_ends_the_link_and_replays() -> None:
    feed = issued()
    feed.revoke("lost_device", NOW)
    assert then_events(feed) == ["Revoked"]
    assert not feed.active and not feed.accepts(FIRST)
    with pytest.raises(IllegalTransition):
        feed.revoke("lost_device", NOW)
    then_no_new_events(feed)
    again = CalendarFeed.open(PRACTICE, CLINICIAN)
    again.issue(FIRST, NOW)
    again.revoke("lost_device", NOW)
    rebuilt = replayed(again.collect_events())
    assert rebuilt.__dict__ == again.__dict__ and not rebuilt.active


def test_refuses_free_text_reasons_naive_times_and_raw_secrets() -> None:
    feed = issued()
    with pytest.raises(InvalidCommand):
        feed.revoke("Dr. Smith's phone was stolen", NOW)
    with pytest.raises(InvalidCommand):
        feed.issue(SECOND, datetime(2026, 3, 9, 12))
    with pytest.raises(InvalidCommand):
        feed.issue("not-a-hash", NOW)
    then_no_new_events(feed)
    assert feed.accepts(FIRST)
