from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidCommand
from domain.scheduling.recurrence import MAX_OCCURRENCES, expand

NY = "America/New_York"
EASTERN = ZoneInfo(NY)
HOUR = timedelta(minutes=53)


def series(first_day: date, frequency: str = "weekly", at: time = time(10), **kw: object) -> list[tuple[datetime, datetime]]:
    return expand(first_day=first_day, start_time=at, duration=HOUR, time_zone=NY, frequency=frequency, **kw)  # type: ignore[arg-type]


def local_days(occurrences: list[tuple[datetime, datetime]]) -> list[date]:
    return [start.astimezone(EASTERN).date() for start, _ in occurrences]


def test_weekly_sessions_stay_at_ten_local_across_spring_forward() -> None:
    weekly = series(date(2026, 2, 23), count=4)
    assert local_days(weekly) == [date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    assert all(start.astimezone(EASTERN).time() == time(10) for start, _ in weekly)
    assert [start.hour for start, _ in weekly] == [15, 15, 14, 14]  # EST, then EDT
    assert all(end - start == HOUR for start, end in weekly)


def test_weekly_sessions_stay_at_ten_local_across_fall_back() -> None:
    weekly = series(date(2026, 10, 26), count=2)
    assert [start for start, _ in weekly] == [datetime(2026, 10, 26, 14, tzinfo=UTC), datetime(2026, 11, 2, 15, tzinfo=UTC)]


def test_every_two_weeks_until_a_date_that_is_included() -> None:
    fortnightly = series(date(2026, 1, 5), "biweekly", until=date(2026, 2, 2))
    assert local_days(fortnightly) == [date(2026, 1, 5), date(2026, 1, 19), date(2026, 2, 2)]
    assert local_days(series(date(2026, 1, 5), "biweekly", until=date(2026, 2, 1)))[-1] == date(2026, 1, 19)


def test_monthly_on_the_31st_skips_months_without_one_and_counts_only_real_occurrences() -> None:
    assert local_days(series(date(2026, 1, 31), "monthly", count=3)) == [
        date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31),
    ]


def test_monthly_on_the_30th_skips_february_also_in_a_leap_year() -> None:
    assert local_days(series(date(2024, 1, 30), "monthly", until=date(2024, 4, 30))) == [
        date(2024, 1, 30), date(2024, 3, 30), date(2024, 4, 30),
    ]
    assert local_days(series(date(2024, 1, 29), "monthly", count=2)) == [date(2024, 1, 29), date(2024, 2, 29)]


def test_monthly_runs_over_the_year_end() -> None:
    assert local_days(series(date(2026, 11, 15), "monthly", count=3)) == [
        date(2026, 11, 15), date(2026, 12, 15), date(2027, 1, 15),
    ]


def test_a_start_time_the_clocks_skip_moves_to_the_jump_on_that_day_only() -> None:
    weekly = series(date(2026, 3, 1), at=time(2, 30), count=3)
    assert [start.astimezone(EASTERN).time() for start, _ in weekly] == [time(2, 30), time(3), time(2, 30)]


def test_a_single_occurrence() -> None:
    assert len(series(date(2026, 1, 5), count=1)) == 1
    assert len(series(date(2026, 1, 5), until=date(2026, 1, 5))) == 1


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"count": 3, "until": date(2026, 3, 1)},
        {"count": 0},
        {"count": MAX_OCCURRENCES + 1},
        {"count": True},
        {"until": date(2026, 1, 4)},
        {"until": date(2028, 1, 5)},  # more than 104 weekly occurrences
        {"count": 3, "frequency": "daily"},
        {"count": 3, "duration": timedelta(0)},
        {"count": 3, "time_zone": "Atlantis/Capital"},
        {"count": 3, "start_time": time(10, tzinfo=UTC)},
    ],
)
def test_bad_series_are_refused(kw: dict[str, object]) -> None:
    args: dict[str, object] = {
        "first_day": date(2026, 1, 5), "start_time": time(10), "duration": HOUR, "time_zone": NY, "frequency": "weekly",
    }
    args.update(kw)
    with pytest.raises(InvalidCommand):
        expand(**args)  # type: ignore[arg-type]


def test_the_longest_series_is_allowed() -> None:
    assert len(series(date(2026, 1, 5), count=MAX_OCCURRENCES)) == MAX_OCCURRENCES
    assert len(series(date(2026, 1, 5), until=date(2026, 1, 5) + timedelta(weeks=MAX_OCCURRENCES - 1))) == MAX_OCCURRENCES
