from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidCommand
from domain.scheduling.waitlist import (
    WINDOW_PASSED,
    AlreadyWaiting,
    Entry,
    NoOpenOffer,
    OfferLapsed,
    UnknownEntry,
    Waitlist,
    matches,
    waitlist_id_for,
)
from tests.domain.scheduling.replay import replayed
from tests.gwt import given, then_events, then_no_new_events

NY = "America/New_York"
NEW_YORK = ZoneInfo(NY)
PRACTICE, DR_A, DR_B = uuid4(), uuid4(), uuid4()
NOW = datetime(2026, 3, 2, 14, tzinfo=UTC)  # Monday 2 March 2026, 09:00 in New York
TODAY = date(2026, 3, 2)
TTL = timedelta(hours=24)
THERAPY = "therapy_session"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), NEW_YORK)


def entry(**overrides: Any) -> Entry:
    values: dict[str, Any] = {
        "entry_id": uuid4(), "client_id": uuid4(), "clinician_id": None, "appointment_type": None,
        "earliest_date": date(2026, 3, 1), "latest_date": date(2026, 3, 31), "weekdays": None,
        "earliest_time": None, "latest_time": None, "joined_at": NOW,
    }
    return Entry(**{**values, **overrides})


def slot_matches(e: Entry, start: datetime, minutes: int = 53, clinician: UUID = DR_A, kind: str = THERAPY) -> bool:
    return matches(e, clinician, kind, start, start + timedelta(minutes=minutes), NY)


def opened() -> Waitlist:
    return given(Waitlist.open(PRACTICE))


def join(waitlist: Waitlist, client_id: UUID | None = None, **criteria: Any) -> UUID:
    criteria.setdefault("earliest_date", date(2026, 3, 1))
    criteria.setdefault("latest_date", date(2026, 3, 31))
    return waitlist.join(client_id or uuid4(), today=TODAY, now=NOW, **criteria)


def offer(waitlist: Waitlist, start: datetime, clinician: UUID = DR_A, now: datetime = NOW,
          kind: str = THERAPY) -> UUID | None:
    return waitlist.offer_slot(clinician, kind, start, start + timedelta(minutes=53), time_zone=NY, now=now,
                               offer_ttl=TTL)


# --- matching ---------------------------------------------------------------------------------------


def test_any_clinician_and_any_type_match_everything_in_the_window() -> None:
    e = entry()
    assert slot_matches(e, local(date(2026, 3, 10), 10), clinician=DR_B, kind="group_therapy")
    assert not slot_matches(e, local(date(2026, 4, 1), 10))
    assert not slot_matches(e, local(date(2026, 2, 28), 10))


def test_a_named_clinician_and_type_must_be_the_slots() -> None:
    e = entry(clinician_id=DR_A, appointment_type=THERAPY)
    start = local(date(2026, 3, 10), 10)
    assert slot_matches(e, start)
    assert not slot_matches(e, start, clinician=DR_B)
    assert not slot_matches(e, start, kind="medication_management")


def test_dates_are_the_practices_local_dates() -> None:
    """23:30 on 31 March in New York is already 1 April in UTC: still inside the window."""
    late_evening = local(date(2026, 3, 31), 23, 0)
    assert late_evening.astimezone(UTC).date() == date(2026, 4, 1)
    assert slot_matches(entry(), late_evening, minutes=30)
    # ... and 1 March 00:30 UTC is still 28 February in New York: outside.
    assert not slot_matches(entry(), datetime(2026, 3, 1, 0, 30, tzinfo=UTC), minutes=30)


def test_weekdays_are_counted_in_local_time() -> None:
    tuesdays = entry(weekdays=frozenset({1}))
    assert slot_matches(tuesdays, local(date(2026, 3, 10), 10))  # a Tuesday
    assert not slot_matches(tuesdays, local(date(2026, 3, 11), 10))  # a Wednesday
    # Tuesday 21:00 in New York is Wednesday 01:00 UTC: a Tuesday for the practice.
    assert slot_matches(tuesdays, local(date(2026, 3, 10), 21))


def test_the_slot_must_fit_the_time_of_day_window() -> None:
    mornings = entry(earliest_time=time(9), latest_time=time(12))
    day = date(2026, 3, 10)
    assert slot_matches(mornings, local(day, 9), minutes=60)
    assert slot_matches(mornings, local(day, 11), minutes=60)  # ends at 12:00 exactly
    assert not slot_matches(mornings, local(day, 8, 59), minutes=30)  # starts too early
    assert not slot_matches(mornings, local(day, 11, 30), minutes=60)  # runs past 12:00
    evenings = entry(earliest_time=time(18))
    assert slot_matches(evenings, local(day, 18))
    assert not slot_matches(evenings, local(day, 17, 59))
    until_noon = entry(latest_time=time(12))
    assert slot_matches(until_noon, local(day, 7))
    assert not slot_matches(entry(latest_time=time(23, 30)), local(day, 23), minutes=60)  # past midnight


def test_a_time_window_follows_the_wall_clock_across_daylight_saving() -> None:
    """14:00 UTC is 09:00 in New York in winter and 10:00 once clocks go forward (8 March 2026)."""
    from_ten = entry(earliest_time=time(10), latest_time=time(12))
    assert not slot_matches(from_ten, datetime(2026, 3, 6, 14, tzinfo=UTC), minutes=60)  # Friday, EST
    assert slot_matches(from_ten, datetime(2026, 3, 9, 14, tzinfo=UTC), minutes=60)  # Monday, EDT


def test_naive_instants_are_refused() -> None:
    with pytest.raises(InvalidCommand):
        matches(entry(), DR_A, THERAPY, datetime(2026, 3, 10, 10), datetime(2026, 3, 10, 11), NY)


# --- joining ---------------------------------------------------------------------------------------


def test_one_waitlist_per_practice() -> None:
    assert Waitlist.open(PRACTICE).id == waitlist_id_for(PRACTICE) == Waitlist.open(PRACTICE).id
    assert Waitlist.open(uuid4()).id != waitlist_id_for(PRACTICE)


def test_joining_records_the_criteria_and_replays_to_the_same_state() -> None:
    waitlist = opened()
    client = uuid4()
    entry_id = join(waitlist, client, clinician_id=DR_A, appointment_type=THERAPY, weekdays=[3, 1],
                    earliest_time=time(9), latest_time=time(12, 30))
    [joined] = waitlist.collect_events()
    assert isinstance(joined, Waitlist.Joined)
    assert (joined.client_id, joined.entry_id, joined.weekdays) == (client, entry_id, [1, 3])
    assert (joined.earliest_time, joined.latest_time) == ("09:00", "12:30")
    again = replayed([Waitlist.open(PRACTICE).collect_events()[0], joined])
    assert again.entries == waitlist.entries
    assert again.entry(entry_id).weekdays == frozenset({1, 3})
    assert waitlist.status_of(entry_id) == "waiting"


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        ({"earliest_date": date(2026, 3, 20), "latest_date": date(2026, 3, 10)}, "latest_date"),
        ({"earliest_date": date(2026, 2, 1), "latest_date": date(2026, 3, 1)}, "latest_date"),  # passed
        ({"latest_date": date(2027, 6, 1)}, "latest_date"),  # too far ahead
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": [7]}, "weekdays"),
        ({"earliest_date": date(2026, 3, 3), "latest_date": date(2026, 3, 4), "weekdays": [5, 6]}, "weekdays"),
        ({"earliest_time": time(12), "latest_time": time(9)}, "latest_time"),
        ({"earliest_time": time(9, 0, 30)}, "earliest_time"),
        ({"appointment_type": "Therapy!"}, "appointment_type"),
    ],
)
def test_bad_windows_are_refused(criteria: dict[str, Any], field: str) -> None:
    waitlist = opened()
    with pytest.raises(InvalidCommand) as refused:
        join(waitlist, **criteria)
    assert refused.value.details["field"] == field
    then_no_new_events(waitlist)


def test_the_same_request_twice_is_refused_but_a_different_one_is_not() -> None:
    waitlist = opened()
    client = uuid4()
    join(waitlist, client, clinician_id=DR_A)
    with pytest.raises(AlreadyWaiting):
        join(waitlist, client, clinician_id=DR_A)
    join(waitlist, client, clinician_id=DR_B)
    assert len(waitlist.entries) == 2


# --- offering --------------------------------------------------------------------------------------


def test_the_first_matching_entry_in_line_gets_the_offer() -> None:
    waitlist = opened()
    wants_b = join(waitlist, clinician_id=DR_B)
    first = join(waitlist, clinician_id=DR_A)
    second = join(waitlist)
    waitlist.collect_events()
    start = local(date(2026, 3, 10), 10)
    assert offer(waitlist, start) == first
    [offered] = waitlist.collect_events()
    assert isinstance(offered, Waitlist.Offered)
    assert offered.entry_id == first and offered.client_id == waitlist.entries[first].client_id
    assert (offered.starts_at, offered.expires_at) == (start.astimezone(UTC), NOW + TTL)
    assert waitlist.status_of(first) == "offered"
    assert {wants_b, second} <= set(waitlist.entries) and waitlist.status_of(second) == "waiting"


def test_an_entry_with_an_open_offer_is_skipped() -> None:
    waitlist = opened()
    first, second = join(waitlist), join(waitlist)
    assert offer(waitlist, local(date(2026, 3, 10), 10)) == first
    assert offer(waitlist, local(date(2026, 3, 11), 10)) == second
    assert offer(waitlist, local(date(2026, 3, 12), 10)) is None


def test_a_client_holds_one_open_offer_at_a_time() -> None:
    waitlist = opened()
    client = uuid4()
    join(waitlist, client, clinician_id=DR_A)
    join(waitlist, client, clinician_id=None)
    other = join(waitlist)
    offer(waitlist, local(date(2026, 3, 10), 10))
    assert offer(waitlist, local(date(2026, 3, 11), 10), clinician=DR_B) == other


def test_entries_whose_window_has_passed_are_skipped_and_closed_by_the_sweep() -> None:
    waitlist = opened()
    early = join(waitlist, earliest_date=date(2026, 3, 2), latest_date=date(2026, 3, 3))
    later = join(waitlist)
    waitlist.collect_events()
    a_week_on = NOW + timedelta(days=7)
    assert offer(waitlist, local(date(2026, 3, 12), 10), now=a_week_on) == later
    assert waitlist.close_passed(date(2026, 3, 9), a_week_on) == [early]
    events: list[Any] = list(waitlist.collect_events())
    assert then_names(events) == ["Offered", "Left"]
    assert events[-1].reason_code == WINDOW_PASSED and events[-1].entry_id == early
    assert list(waitlist.entries) == [later]


def test_an_entry_whose_window_ended_is_not_offered_a_slot_in_it_after_the_fact() -> None:
    """The slot lies in the window, but the window has passed by `now`: the slot has too."""
    waitlist = opened()
    join(waitlist, earliest_date=date(2026, 3, 2), latest_date=date(2026, 3, 3))
    waitlist.collect_events()
    assert offer(waitlist, local(date(2026, 3, 3), 10), now=NOW + timedelta(days=3)) is None
    then_no_new_events(waitlist)


def test_a_slot_that_has_started_or_is_on_offer_already_is_offered_to_nobody() -> None:
    waitlist = opened()
    join(waitlist), join(waitlist)
    assert offer(waitlist, NOW - timedelta(minutes=5)) is None
    start = local(date(2026, 3, 10), 10)
    assert offer(waitlist, start) is not None
    assert offer(waitlist, start) is None  # the same slot again
    assert offer(waitlist, start + timedelta(minutes=30)) is None  # overlapping the one on offer
    assert offer(waitlist, start + timedelta(minutes=30), clinician=DR_B) is not None


def test_an_offer_for_a_slot_soon_expires_when_the_slot_starts() -> None:
    waitlist = opened()
    entry_id = join(waitlist)
    soon = NOW + timedelta(hours=3)
    offer(waitlist, soon)
    assert waitlist.offers[entry_id].expires_at == soon


# --- declining, lapsing, accepting, leaving --------------------------------------------------------


def test_a_declined_entry_keeps_its_place_but_is_not_offered_that_slot_again() -> None:
    waitlist = opened()
    first, second = join(waitlist), join(waitlist)
    start = local(date(2026, 3, 10), 10)
    offer(waitlist, start)
    waitlist.collect_events()
    declined = waitlist.decline(first, NOW + timedelta(hours=1))
    assert declined.slot == (DR_A, start.astimezone(UTC))
    assert then_events(waitlist) == ["OfferDeclined"]
    assert list(waitlist.entries) == [first, second] and waitlist.status_of(first) == "waiting"
    assert offer(waitlist, start) == second  # passed on
    assert offer(waitlist, local(date(2026, 3, 11), 10)) == first  # another slot: first in line again


def test_lapsed_offers_expire_and_put_the_entry_back_in_line() -> None:
    waitlist = opened()
    first = join(waitlist)
    start = local(date(2026, 3, 10), 10)
    offer(waitlist, start)
    waitlist.collect_events()
    assert waitlist.expire_offers(NOW + TTL - timedelta(seconds=1)) == []
    [lapsed] = waitlist.expire_offers(NOW + TTL)
    assert lapsed.entry_id == first
    assert then_events(waitlist) == ["OfferExpired"]
    assert waitlist.status_of(first) == "waiting"
    assert offer(waitlist, start, now=NOW + TTL) is None  # not that slot again


def test_accepting_books_the_entry_off_the_list() -> None:
    waitlist = opened()
    first = join(waitlist)
    offer(waitlist, local(date(2026, 3, 10), 10))
    waitlist.collect_events()
    appointment = uuid4()
    waitlist.accept(first, appointment, NOW + timedelta(hours=1))
    [accepted] = waitlist.collect_events()
    assert isinstance(accepted, Waitlist.Accepted) and accepted.appointment_id == appointment
    assert first not in waitlist.entries and waitlist.offers == {}


def test_accepting_needs_an_offer_that_is_still_open() -> None:
    waitlist = opened()
    first = join(waitlist)
    with pytest.raises(NoOpenOffer):
        waitlist.accept(first, uuid4(), NOW)
    offer(waitlist, local(date(2026, 3, 10), 10))
    waitlist.collect_events()
    with pytest.raises(OfferLapsed):
        waitlist.accept(first, uuid4(), NOW + TTL)
    with pytest.raises(UnknownEntry):
        waitlist.accept(uuid4(), uuid4(), NOW)
    then_no_new_events(waitlist)


def test_leaving_returns_the_offer_it_held() -> None:
    waitlist = opened()
    first, second = join(waitlist), join(waitlist)
    offer(waitlist, local(date(2026, 3, 10), 10))
    waitlist.collect_events()
    held = waitlist.leave(first, "booked_elsewhere", NOW)
    assert held is not None and held.entry_id == first
    assert waitlist.leave(second, "no_longer_needed", NOW) is None
    assert then_events(waitlist) == ["Left", "Left"]
    assert waitlist.entries == {} and waitlist.offers == {}
    with pytest.raises(UnknownEntry):
        waitlist.leave(first, "again", NOW)


def test_a_reason_to_leave_is_a_code() -> None:
    waitlist = opened()
    first = join(waitlist)
    waitlist.collect_events()
    with pytest.raises(InvalidCommand):
        waitlist.leave(first, "She found another therapist", NOW)
    then_no_new_events(waitlist)


def test_the_whole_story_replays_to_the_same_state() -> None:
    waitlist = Waitlist.open(PRACTICE)
    first, second, third = join(waitlist), join(waitlist), join(waitlist)
    offer(waitlist, local(date(2026, 3, 10), 10))
    offer(waitlist, local(date(2026, 3, 11), 10))
    waitlist.decline(first, NOW)
    waitlist.expire_offers(NOW + TTL)
    offer(waitlist, local(date(2026, 3, 12), 10), now=NOW + TTL)
    waitlist.accept(first, uuid4(), NOW + TTL)
    waitlist.leave(third, "no_longer_needed", NOW + TTL)
    again = replayed(waitlist.collect_events())
    assert (again.entries, again.offers, again.passed) == (waitlist.entries, waitlist.offers, waitlist.passed)
    assert list(again.entries) == [second]


def then_names(events: Any) -> list[str]:
    return [type(e).__name__ for e in events]
