from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import InvalidCommand
from domain.scheduling.metrics import (
    METRICS,
    MetricValue,
    average_lead_time,
    cancellation_rate,
    kept_visit_rate,
    late_cancellation_rate,
    no_show_rate,
    prime_minutes,
    prime_time_utilization,
    rebook_rate,
    schedule_fill_rate,
    sessions_per_working_day,
)

NY = "America/New_York"


def test_seed_001_s_clinician_week_gives_its_numbers() -> None:
    """Seed 001: 18 of 25 scheduled completed (72% KVR), 3 no-shows (12%), 4 cancellations (16%)."""
    assert kept_visit_rate(18, 25) == MetricValue(Decimal("72.0"), 18, 25, ">= 85%", "alert")
    assert no_show_rate(3, 25) == MetricValue(Decimal("12.0"), 3, 25, "<= 10%", "watch")
    assert cancellation_rate(4, 25) == MetricValue(Decimal("16.0"), 4, 25, "<= 15%", "watch")
    late = late_cancellation_rate(2, 25)
    assert (late.value, late.status) == (Decimal("8.0"), "no_benchmark")


Rate = Callable[[int, int], MetricValue]


@pytest.mark.parametrize(
    ("metric", "part", "whole", "value", "status"),
    [
        (kept_visit_rate, 17, 20, "85.0", "on_target"),
        (kept_visit_rate, 81, 100, "81.0", "watch"),
        (kept_visit_rate, 80, 100, "80.0", "watch"),
        (kept_visit_rate, 1999, 2500, "80.0", "alert"),  # 79.96 shows as 80.0 but is below 80
        (no_show_rate, 10, 100, "10.0", "on_target"),
        (no_show_rate, 15, 100, "15.0", "watch"),
        (no_show_rate, 16, 100, "16.0", "alert"),
        (cancellation_rate, 15, 100, "15.0", "on_target"),
        (cancellation_rate, 20, 100, "20.0", "watch"),
        (cancellation_rate, 21, 100, "21.0", "alert"),
        (rebook_rate, 15, 20, "75.0", "on_target"),
        (rebook_rate, 13, 20, "65.0", "watch"),
        (rebook_rate, 12, 20, "60.0", "alert"),
        (schedule_fill_rate, 102, 125, "81.6", "watch"),  # seed 001's capacity line
        (schedule_fill_rate, 85, 100, "85.0", "on_target"),
        (schedule_fill_rate, 74, 100, "74.0", "alert"),
        (prime_time_utilization, 87, 100, "87.0", "watch"),
        (prime_time_utilization, 9, 10, "90.0", "on_target"),
        (prime_time_utilization, 79, 100, "79.0", "alert"),
        (kept_visit_rate, 1, 16, "6.3", "alert"),  # 6.25 rounds half up
        (kept_visit_rate, 2, 3, "66.7", "alert"),
    ],
)
def test_rates(metric: Rate, part: int, whole: int, value: str, status: str) -> None:
    result = metric(part, whole)
    assert (result.value, result.status, result.numerator, result.denominator) == (Decimal(value), status, part, whole)


@pytest.mark.parametrize(
    ("completed", "days", "value", "status"),
    [(31, 5, "6.2", "on_target"), (25, 5, "5.0", "on_target"), (35, 5, "7.0", "on_target"),
     (9, 2, "4.5", "watch"), (15, 2, "7.5", "watch"), (8, 1, "8.0", "watch"),
     (17, 2, "8.5", "alert"), (3, 1, "3.0", "alert")],
)
def test_sessions_per_working_day(completed: int, days: int, value: str, status: str) -> None:
    result = sessions_per_working_day(completed, days)
    assert (result.value, result.status) == (Decimal(value), status)


@pytest.mark.parametrize(
    ("total", "booked", "value", "status"),
    [(timedelta(days=100), 10, "10.0", "on_target"), (timedelta(days=60), 10, "6.0", "watch"),
     (timedelta(days=40), 10, "4.0", "alert"), (timedelta(days=220), 10, "22.0", "alert"),
     (timedelta(days=7, hours=12), 1, "7.5", "on_target")],
)
def test_average_lead_time_in_days(total: timedelta, booked: int, value: str, status: str) -> None:
    result = average_lead_time(total, booked)
    assert (result.value, result.status, result.denominator) == (Decimal(value), status, booked)
    assert result.numerator == Decimal(total.total_seconds()) / 86400


def test_no_denominator_means_no_data() -> None:
    for result in (kept_visit_rate(0, 0), sessions_per_working_day(0, 0), average_lead_time(timedelta(0), 0)):
        assert result.value is None and result.status == "no_data"


@pytest.mark.parametrize(
    "call",
    [
        lambda: kept_visit_rate(26, 25),
        lambda: no_show_rate(-1, 25),
        lambda: cancellation_rate(True, 25),
        lambda: sessions_per_working_day(5, -1),
        lambda: average_lead_time(timedelta(days=-1), 3),
    ],
)
def test_impossible_counts_are_refused(call: Callable[[], MetricValue]) -> None:
    with pytest.raises(InvalidCommand):
        call()


def test_the_dictionary_names_every_metric_with_its_benchmark() -> None:
    assert set(METRICS) == {
        "kept_visit_rate", "no_show_rate", "cancellation_rate", "late_cancellation_rate", "rebook_rate",
        "sessions_per_day", "schedule_fill_rate", "prime_time_utilization", "average_lead_time",
    }
    assert METRICS["kept_visit_rate"].alert_below == Decimal(80)
    assert METRICS["average_lead_time"].alert_above == Decimal(21)
    assert {m.category for m in METRICS.values()} == {"clinical_productivity", "schedule_optimization"}


def test_prime_time_is_monday_to_thursday_nine_to_five_practice_time() -> None:
    monday_8 = datetime(2026, 1, 5, 13, tzinfo=UTC)  # 08:00 EST
    assert prime_minutes(monday_8, monday_8 + timedelta(hours=2), NY) == 60
    thursday_1630 = datetime(2026, 1, 8, 21, 30, tzinfo=UTC)
    assert prime_minutes(thursday_1630, thursday_1630 + timedelta(hours=2), NY) == 30
    friday_10 = datetime(2026, 1, 9, 15, tzinfo=UTC)
    assert prime_minutes(friday_10, friday_10 + timedelta(hours=1), NY) == 0
    # Thursday 16:00 to Monday 10:00: one hour on Thursday, one on Monday
    assert prime_minutes(datetime(2026, 1, 8, 21, tzinfo=UTC), datetime(2026, 1, 12, 15, tzinfo=UTC), NY) == 120
    # in summer 09:00 New York time is 13:00 UTC
    assert prime_minutes(datetime(2026, 7, 6, 12, tzinfo=UTC), datetime(2026, 7, 6, 14, tzinfo=UTC), NY) == 60
