from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4

import pytest

from domain.errors import IllegalTransition, InvalidCommand
from domain.scheduling.schedule import ClinicianSchedule, SlotTaken, schedule_id_for
from tests.domain.scheduling.replay import replayed
from tests.gwt import given, then_events, then_no_new_events

PRACTICE, CLINICIAN = uuid4(), uuid4()
NOW = datetime(2026, 3, 9, 12, tzinfo=UTC)
TEN = datetime(2026, 3, 10, 15, tzinfo=UTC)  # 10:00 in New York
HOUR, TEN_MIN, NO_BUFFER = timedelta(hours=1), timedelta(minutes=10), timedelta(0)


def opened() -> ClinicianSchedule:
    return given(ClinicianSchedule.open(PRACTICE, CLINICIAN))


def with_ten_o_clock() -> tuple[ClinicianSchedule, UUID]:
    """A 10:00-11:00 session with a 10-minute buffer after it: held 10:00-11:10."""
    schedule = opened()
    held = uuid4()
    schedule.reserve(held, TEN, TEN + HOUR, NO_BUFFER, TEN_MIN, now=NOW)
    schedule.collect_events()
    return schedule, held


def test_one_schedule_per_clinician() -> None:
    first, second = ClinicianSchedule.open(PRACTICE, CLINICIAN), ClinicianSchedule.open(PRACTICE, CLINICIAN)
    assert first.id == second.id == schedule_id_for(CLINICIAN)
    assert ClinicianSchedule.open(PRACTICE, uuid4()).id != first.id


def test_reserving_holds_the_appointment_and_its_buffers() -> None:
    schedule = opened()
    appointment = uuid4()
    schedule.reserve(appointment, TEN, TEN + HOUR, timedelta(minutes=5), TEN_MIN, now=NOW)
    [event] = schedule.collect_events()
    assert isinstance(event, ClinicianSchedule.Reserved)
    assert (event.blocked_from, event.blocked_until) == (TEN - timedelta(minutes=5), TEN + HOUR + TEN_MIN)
    assert schedule.busy() == [(TEN - timedelta(minutes=5), TEN + HOUR + TEN_MIN)]


@pytest.mark.parametrize(
    ("start", "buffer_before"),
    [
        (TEN, NO_BUFFER),  # the same slot
        (TEN + timedelta(minutes=30), NO_BUFFER),  # inside it
        (TEN - timedelta(minutes=30), NO_BUFFER),  # runs into it
        (TEN - timedelta(minutes=59), NO_BUFFER),  # runs a minute into it
        (TEN + timedelta(minutes=69), NO_BUFFER),  # starts a minute before its buffer ends
        (TEN + timedelta(minutes=65), NO_BUFFER),  # inside the buffer after it
        (TEN + timedelta(minutes=75), timedelta(minutes=10)),  # own buffer reaches back into it
    ],
)
def test_a_double_booking_is_refused(start: datetime, buffer_before: timedelta) -> None:
    schedule, _ = with_ten_o_clock()
    with pytest.raises(SlotTaken) as info:
        schedule.reserve(uuid4(), start, start + HOUR, buffer_before, NO_BUFFER, now=NOW)
    assert isinstance(info.value, IllegalTransition)
    assert (info.value.code, info.value.kind) == ("slot_taken", "conflict")
    then_no_new_events(schedule)
    assert len(schedule.reservations) == 1


def test_back_to_back_after_the_buffer_is_fine() -> None:
    schedule, _ = with_ten_o_clock()
    schedule.reserve(uuid4(), TEN + timedelta(minutes=70), TEN + timedelta(minutes=130), NO_BUFFER, NO_BUFFER, now=NOW)
    schedule.reserve(uuid4(), TEN - HOUR, TEN, NO_BUFFER, NO_BUFFER, now=NOW)
    assert then_events(schedule) == ["Reserved", "Reserved"]


def test_releasing_frees_the_time_and_is_idempotent() -> None:
    schedule, held = with_ten_o_clock()
    assert schedule.release(held) is True
    assert then_events(schedule) == ["Released"]
    assert schedule.release(held) is False
    then_no_new_events(schedule)
    schedule.reserve(uuid4(), TEN, TEN + HOUR, NO_BUFFER, NO_BUFFER, now=NOW)
    assert then_events(schedule) == ["Reserved"]


def test_one_appointment_holds_one_interval() -> None:
    schedule, held = with_ten_o_clock()
    with pytest.raises(IllegalTransition):
        schedule.reserve(held, TEN + timedelta(days=1), TEN + timedelta(days=1, hours=1), NO_BUFFER, NO_BUFFER, now=NOW)
    then_no_new_events(schedule)


def test_intervals_that_ended_before_now_are_pruned_on_the_next_reservation() -> None:
    schedule, held = with_ten_o_clock()
    later = uuid4()
    schedule.reserve(later, TEN + timedelta(days=1), TEN + timedelta(days=1, hours=1), NO_BUFFER, NO_BUFFER, now=NOW)
    newest = uuid4()
    # held ends 11:10 with its buffer; at 11:10 sharp it has ended
    schedule.reserve(newest, TEN + timedelta(days=2), TEN + timedelta(days=2, hours=1), NO_BUFFER, NO_BUFFER,
                     now=TEN + HOUR + TEN_MIN)
    events = schedule.collect_events()
    assert [e.pruned for e in events] == [[], [held]]  # type: ignore[attr-defined]
    assert set(schedule.reservations) == {later, newest}


def test_time_that_has_passed_is_not_held() -> None:
    schedule = opened()
    with pytest.raises(InvalidCommand):
        schedule.reserve(uuid4(), NOW - 2 * HOUR, NOW - HOUR, NO_BUFFER, NO_BUFFER, now=NOW)
    then_no_new_events(schedule)


@pytest.mark.parametrize(
    ("start", "end", "before", "after"),
    [
        (datetime(2026, 3, 10, 15), datetime(2026, 3, 10, 16), NO_BUFFER, NO_BUFFER),
        (TEN, TEN, NO_BUFFER, NO_BUFFER),
        (TEN, TEN + HOUR, -TEN_MIN, NO_BUFFER),
        (TEN, TEN + HOUR, NO_BUFFER, timedelta(hours=3)),
    ],
)
def test_bad_reservations_are_refused(start: datetime, end: datetime, before: timedelta, after: timedelta) -> None:
    with pytest.raises(InvalidCommand):
        opened().reserve(uuid4(), start, end, before, after, now=NOW)


def test_working_hours_and_breaks_are_recorded_once() -> None:
    schedule = opened()
    hours = {d: [(time(9), time(17))] for d in range(5)}
    breaks = {d: [(time(12), time(13))] for d in range(5)}
    schedule.set_working_hours(hours, breaks)
    schedule.set_working_hours(hours, breaks)
    [event] = schedule.collect_events()
    assert isinstance(event, ClinicianSchedule.WorkingHoursSet)
    assert event.hours["monday"] == [["09:00", "17:00"]] and event.breaks["friday"] == [["12:00", "13:00"]]
    assert schedule.working_hours[0] == ((time(9), time(17)),) and 5 not in schedule.working_hours
    with pytest.raises(InvalidCommand):
        schedule.set_working_hours({0: [(time(17), time(9))]})
    then_no_new_events(schedule)


def test_closures_and_holidays() -> None:
    schedule = opened()
    schedule.close(date(2026, 8, 10), date(2026, 8, 14), "vacation")
    schedule.close(date(2026, 8, 10), date(2026, 8, 14), "vacation")
    schedule.close(date(2026, 4, 3), reason_code="training")
    schedule.add_holiday(12, 25, "christmas")
    assert then_events(schedule) == ["ClosureAdded", "ClosureAdded", "HolidayAdded"]
    closures = schedule.closures
    assert closures.closed_on(date(2026, 8, 12)) and closures.closed_on(date(2026, 4, 3))
    assert closures.closed_on(date(2027, 12, 25)) and not closures.closed_on(date(2026, 8, 15))
    schedule.reopen(date(2026, 4, 3))
    schedule.remove_holiday(12, 25)
    assert not schedule.closures.closed_on(date(2026, 4, 3)) and not schedule.closures.closed_on(date(2026, 12, 25))
    with pytest.raises(IllegalTransition):
        schedule.reopen(date(2026, 4, 3))
    with pytest.raises(IllegalTransition):
        schedule.remove_holiday(1, 1)
    with pytest.raises(InvalidCommand):
        schedule.add_holiday(2, 30)
    with pytest.raises(InvalidCommand):
        schedule.close(date(2026, 8, 14), date(2026, 8, 10))
    with pytest.raises(InvalidCommand):
        schedule.close(date(2026, 8, 14), reason_code="Dr. Lee's surgery")


def test_every_event_has_its_own_stable_topic_and_no_client_subject() -> None:
    classes = [v for v in vars(ClinicianSchedule).values()
               if isinstance(v, type) and issubclass(v, ClinicianSchedule.Event) and v is not ClinicianSchedule.Event]
    topics = [c.TOPIC for c in classes]  # type: ignore[attr-defined]
    assert len(topics) == len(set(topics)) == 9
    assert all(t.startswith("careledger/clinician-schedule/") for t in topics)
    assert all(getattr(c, "subject_field", None) is None and getattr(c, "phi_fields", ()) == () for c in classes)


def test_stored_events_rebuild_the_same_schedule() -> None:
    schedule = ClinicianSchedule.open(PRACTICE, CLINICIAN)
    schedule.set_working_hours({0: [(time(9), time(12)), (time(13), time(17))]}, {0: [(time(10), time(10, 15))]})
    schedule.close(date(2026, 8, 10), date(2026, 8, 14), "vacation")
    schedule.add_holiday(7, 4, "independence_day")
    first, second = uuid4(), uuid4()
    schedule.reserve(first, TEN, TEN + HOUR, NO_BUFFER, TEN_MIN, now=NOW)
    schedule.reserve(second, TEN + timedelta(days=1), TEN + timedelta(days=1, hours=1), NO_BUFFER, NO_BUFFER,
                     now=TEN + 2 * HOUR)
    copy = replayed(schedule.collect_events())
    assert isinstance(copy, ClinicianSchedule)
    assert copy.reservations == schedule.reservations and set(copy.reservations) == {second}
    assert copy.working_hours == schedule.working_hours and copy.breaks == schedule.breaks
    assert copy.closures == schedule.closures and copy.version == schedule.version
