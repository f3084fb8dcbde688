from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidCommand
from domain.scheduling.working_time import (
    Closures,
    as_utc,
    check_weekly_hours,
    hours_from_payload,
    hours_to_payload,
    local_to_utc,
    zone,
)

NY = ZoneInfo("America/New_York")
SPRING = date(2026, 3, 8)  # clocks jump from 02:00 EST to 03:00 EDT
FALL = date(2026, 11, 1)  # clocks go back from 02:00 EDT to 01:00 EST


def test_an_ordinary_local_time_maps_with_the_day_s_offset() -> None:
    assert local_to_utc(date(2026, 1, 5), time(9), NY) == datetime(2026, 1, 5, 14, tzinfo=UTC)
    assert local_to_utc(date(2026, 7, 6), time(9), NY) == datetime(2026, 7, 6, 13, tzinfo=UTC)


@pytest.mark.parametrize("at", [time(2), time(2, 30), time(2, 59)])
def test_a_skipped_time_becomes_the_moment_of_the_jump(at: time) -> None:
    assert local_to_utc(SPRING, at, NY) == datetime(2026, 3, 8, 7, tzinfo=UTC)  # 03:00 EDT


def test_times_around_the_gap_are_exact() -> None:
    assert local_to_utc(SPRING, time(1, 59), NY) == datetime(2026, 3, 8, 6, 59, tzinfo=UTC)
    assert local_to_utc(SPRING, time(3), NY) == datetime(2026, 3, 8, 7, tzinfo=UTC)


def test_an_ambiguous_time_is_its_first_occurrence() -> None:
    assert local_to_utc(FALL, time(1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert local_to_utc(FALL, time(2), NY) == datetime(2026, 11, 1, 7, tzinfo=UTC)  # 02:00 EST


def test_a_half_hour_gap_is_handled_too() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # +10:30 -> +11:00 at 02:00 on 4 October 2026
    instant = local_to_utc(date(2026, 10, 4), time(2, 15), lord_howe)
    assert instant.astimezone(lord_howe).time() == time(2, 30)


@pytest.mark.parametrize("day", [SPRING, FALL])
def test_the_mapping_never_runs_backwards(day: date) -> None:
    instants = [local_to_utc(day, time(m // 60, m % 60), NY) for m in range(24 * 60)]
    assert instants == sorted(instants)


def test_unknown_time_zones_and_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidCommand) as info:
        zone("Mars/Olympus_Mons")
    assert info.value.details["field"] == "time_zone"
    with pytest.raises(InvalidCommand):
        zone("../etc/passwd")
    with pytest.raises(InvalidCommand):
        as_utc(datetime(2026, 1, 1, 9), "starts_at")
    assert as_utc(datetime(2026, 1, 1, 9, tzinfo=NY), "x") == datetime(2026, 1, 1, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    "hours",
    [
        {7: [(time(9), time(17))]},
        {0: [(time(17), time(9))]},
        {0: [(time(9), time(9))]},
        {0: [(time(9), time(13)), (time(12), time(17))]},
        {0: [(time(9, 0, 30), time(17))]},
        {0: [(time(9, tzinfo=UTC), time(17))]},
    ],
)
def test_bad_weekly_hours_are_refused(hours: dict[int, list[tuple[time, time]]]) -> None:
    with pytest.raises(InvalidCommand):
        check_weekly_hours(hours, "hours")


def test_weekly_hours_are_sorted_and_survive_the_payload_form() -> None:
    checked = check_weekly_hours({0: [(time(13), time(17)), (time(9), time(12))], 4: [], 6: [(time(10), time(14))]}, "h")
    assert checked == {0: ((time(9), time(12)), (time(13), time(17))), 6: ((time(10), time(14)),)}
    payload = hours_to_payload(checked)
    assert payload == {"monday": [["09:00", "12:00"], ["13:00", "17:00"]], "sunday": [["10:00", "14:00"]]}
    assert hours_from_payload(payload) == checked


def test_closures_cover_dates_yearly_holidays_and_inclusive_ranges() -> None:
    closures = Closures(
        dates=frozenset({date(2026, 4, 3)}),
        holidays=frozenset({(12, 25), (2, 29)}),
        ranges=((date(2026, 8, 10), date(2026, 8, 14)),),
    )
    assert closures.closed_on(date(2026, 4, 3)) and not closures.closed_on(date(2027, 4, 3))
    assert closures.closed_on(date(2026, 12, 25)) and closures.closed_on(date(2031, 12, 25))
    assert closures.closed_on(date(2028, 2, 29)) and not closures.closed_on(date(2027, 3, 1))
    assert closures.closed_on(date(2026, 8, 10)) and closures.closed_on(date(2026, 8, 14))
    assert not closures.closed_on(date(2026, 8, 9)) and not closures.closed_on(date(2026, 8, 15))
    merged = closures.merged(Closures(dates=frozenset({date(2026, 5, 1)})))
    assert merged.closed_on(date(2026, 5, 1)) and merged.closed_on(date(2026, 12, 25))


def test_impossible_closures_are_refused() -> None:
    with pytest.raises(InvalidCommand):
        Closures(holidays=frozenset({(2, 30)}))
    with pytest.raises(InvalidCommand):
        Closures(ranges=((date(2026, 8, 14), date(2026, 8, 10)),))


def test_one_day_has_twenty_three_hours_in_spring() -> None:
    length = local_to_utc(SPRING + timedelta(days=1), time(0), NY) - local_to_utc(SPRING, time(0), NY)
    assert length == timedelta(hours=23)
