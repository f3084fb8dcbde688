from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidCommand
from domain.scheduling.appointment_types import AppointmentType
from domain.scheduling.availability import free_slots, render_slots
from domain.scheduling.schedule import ClinicianSchedule
from domain.scheduling.working_time import Closures

NY = "America/New_York"
EASTERN = ZoneInfo(NY)
EVERY_DAY = {d: [(time(9), time(17))] for d in range(7)}
HOUR_LONG = AppointmentType("hour", "Hour", 60, buffer_after_minutes=0, min_notice_hours=0, booking_window_days=730)
MONDAY = date(2026, 1, 5)
LONG_AGO = datetime(2025, 12, 1, tzinfo=UTC)


def slots(day_from: date, day_to: date | None = None, **kw: object) -> list[tuple[datetime, datetime]]:
    args: dict[str, object] = {
        "working_hours": EVERY_DAY, "appointment_type": HOUR_LONG, "time_zone": NY,
        "date_from": day_from, "date_to": day_to or day_from, "now": LONG_AGO, "step_minutes": 60,
    }
    args.update(kw)
    return free_slots(**args)  # type: ignore[arg-type]


def local(slot_list: list[tuple[datetime, datetime]]) -> list[str]:
    return [start.astimezone(EASTERN).strftime("%m-%d %H:%M") for start, _ in slot_list]


def test_an_ordinary_day_is_cut_into_slots_from_nine_to_five() -> None:
    day = slots(MONDAY)
    assert local(day) == [f"01-05 {h:02}:00" for h in range(9, 17)]
    assert day[0] == (datetime(2026, 1, 5, 14, tzinfo=UTC), datetime(2026, 1, 5, 15, tzinfo=UTC))
    assert all(start.tzinfo is UTC for start, _ in day)


@pytest.mark.parametrize(
    ("before", "change", "after", "utc_hour_before", "utc_hour_change"),
    [
        (date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9), 14, 13),  # spring forward
        (date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2), 13, 14),  # fall back
    ],
)
def test_the_working_day_keeps_its_local_hours_across_daylight_saving_changes(
    before: date, change: date, after: date, utc_hour_before: int, utc_hour_change: int
) -> None:
    three_days = slots(before, after)
    by_day = {d: [s for s in three_days if s[0].astimezone(EASTERN).date() == d] for d in (before, change, after)}
    for day_slots in by_day.values():
        assert [s.astimezone(EASTERN).time() for s, _ in day_slots] == [time(h) for h in range(9, 17)]
        assert all(end - start == timedelta(hours=1) for start, end in day_slots)
    assert by_day[before][0][0].hour == utc_hour_before
    assert by_day[change][0][0].hour == utc_hour_change


def test_night_hours_through_the_spring_gap_offer_no_skipped_time() -> None:
    day = slots(date(2026, 3, 8), working_hours={6: [(time(0), time(6))]}, step_minutes=30)
    starts = [s for s, _ in day]
    # 00:00 EST is 05:00Z, 06:00 EDT is 10:00Z: five real hours, so nine 60-minute slots every 30 minutes
    assert starts == [datetime(2026, 3, 8, 5, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(9)]
    assert all(s.astimezone(EASTERN).hour != 2 for s in starts)
    for start in starts:  # each start is a wall time that exists and maps back to the same instant
        wall = start.astimezone(EASTERN).replace(tzinfo=None)
        assert wall.replace(tzinfo=EASTERN).astimezone(UTC) == start


def test_night_hours_through_the_repeated_hour_use_both_of_its_occurrences() -> None:
    day = slots(date(2026, 11, 1), working_hours={6: [(time(0), time(4))]})
    # 00:00 EDT is 04:00Z, 04:00 EST is 09:00Z: five real hours
    assert [s for s, _ in day] == [datetime(2026, 11, 1, h, tzinfo=UTC) for h in range(4, 9)]
    assert local(day) == ["11-01 00:00", "11-01 01:00", "11-01 01:00", "11-01 02:00", "11-01 03:00"]
    assert len({s for s, _ in day}) == 5


def test_breaks_are_not_bookable() -> None:
    day = slots(MONDAY, breaks={0: [(time(12), time(13))]}, step_minutes=30)
    assert "01-05 12:00" not in local(day) and "01-05 11:30" not in local(day) and "01-05 12:30" not in local(day)
    assert "01-05 11:00" in local(day) and "01-05 13:00" in local(day)


def test_busy_time_and_buffers_are_respected() -> None:
    ten = datetime(2026, 1, 5, 15, tzinfo=UTC)
    busy = [(ten, ten + timedelta(minutes=70))]  # 10:00-11:10 local, buffer included
    assert local(slots(MONDAY, busy=busy, step_minutes=30)) == [
        "01-05 09:00", "01-05 11:30", "01-05 12:00", "01-05 12:30", "01-05 13:00",
        "01-05 13:30", "01-05 14:00", "01-05 14:30", "01-05 15:00", "01-05 15:30", "01-05 16:00",
    ]
    buffered = HOUR_LONG.with_changes(buffer_before_minutes=15, buffer_after_minutes=15)
    assert local(slots(MONDAY, busy=busy, step_minutes=30, appointment_type=buffered))[:2] == [
        "01-05 11:30", "01-05 12:00",
    ]  # 09:00 would run (with its buffer) into 10:00; 11:30's buffer starts 11:15, after 11:10


def test_the_schedule_s_reservations_feed_the_busy_input() -> None:
    schedule = ClinicianSchedule.open(uuid4(), uuid4())
    ten = datetime(2026, 1, 5, 15, tzinfo=UTC)
    schedule.reserve(uuid4(), ten, ten + timedelta(hours=1), timedelta(0), timedelta(minutes=10), now=LONG_AGO)
    assert "01-05 10:00" not in local(slots(MONDAY, busy=schedule.busy()))
    assert "01-05 11:00" not in local(slots(MONDAY, busy=schedule.busy()))
    assert "01-05 11:10" in local(slots(MONDAY, busy=schedule.busy(), step_minutes=10))


def test_closed_days_have_no_slots() -> None:
    closures = Closures(
        dates=frozenset({date(2026, 1, 6)}),
        holidays=frozenset({(1, 8)}),
        ranges=((date(2026, 1, 10), date(2026, 1, 11)),),
    )
    week = slots(MONDAY, date(2026, 1, 11), closures=closures)
    open_days = sorted({s.astimezone(EASTERN).date() for s, _ in week})
    assert open_days == [date(2026, 1, 5), date(2026, 1, 7), date(2026, 1, 9)]


def test_only_working_weekdays_have_slots() -> None:
    week = slots(MONDAY, date(2026, 1, 11), working_hours={0: [(time(9), time(12))], 2: [(time(14), time(16))]})
    assert local(week) == ["01-05 09:00", "01-05 10:00", "01-05 11:00", "01-07 14:00", "01-07 15:00"]


def test_minimum_notice_is_respected() -> None:
    now = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # 09:30 local
    two_hours = HOUR_LONG.with_changes(min_notice_hours=2)
    assert local(slots(MONDAY, now=now, appointment_type=two_hours, step_minutes=30))[0] == "01-05 11:30"


def test_the_booking_window_is_respected_and_the_past_is_not_offered() -> None:
    now = datetime(2026, 1, 5, 17, tzinfo=UTC)  # 12:00 local on Monday
    one_day = HOUR_LONG.with_changes(booking_window_days=1)
    offered = local(slots(date(2026, 1, 1), date(2026, 1, 31), now=now, appointment_type=one_day))
    assert offered == ["01-05 12:00", "01-05 13:00", "01-05 14:00", "01-05 15:00", "01-05 16:00",
                       "01-06 09:00", "01-06 10:00", "01-06 11:00", "01-06 12:00"]


def test_slots_never_run_past_the_end_of_the_working_interval() -> None:
    therapy = HOUR_LONG.with_changes(duration_minutes=53, buffer_after_minutes=10)
    day = slots(MONDAY, appointment_type=therapy, step_minutes=15)
    assert day[-1][1] <= datetime(2026, 1, 5, 22, tzinfo=UTC)
    assert local(day)[-1] == "01-05 16:00"


@pytest.mark.parametrize(
    "overrides",
    [
        {"date_to": date(2026, 1, 4)},
        {"time_zone": "Nowhere/Special"},
        {"step_minutes": 0},
        {"step_minutes": 241},
        {"now": datetime(2026, 1, 1, 9)},
        {"working_hours": {0: [(time(17), time(9))]}},
    ],
)
def test_bad_inputs_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidCommand):
        slots(MONDAY, **overrides)  # type: ignore[arg-type]


def test_slots_render_in_the_client_s_time_zone() -> None:
    [first, *_] = slots(MONDAY)
    [(start, end)] = render_slots([first], "Europe/London")
    assert (start.hour, end.hour, start.utcoffset()) == (14, 15, timedelta(0))
    [(start, _)] = render_slots([first], "America/Los_Angeles")
    assert start.hour == 6 and start == first[0]
