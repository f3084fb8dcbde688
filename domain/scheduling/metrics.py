"""Schedule metrics: seed 001, Module 7, categories 1 (clinical productivity) and 5 (schedule
optimisation). Each metric is a pure function of counts a projection keeps, returning the value,
its numerator and denominator, the benchmark and a status.

Conventions for every metric:
- Periods are local dates of the practice's time zone: a day, an ISO week (Monday to Sunday) or a
  calendar month (`period_bounds`). An appointment belongs to the local date its start falls on.
- "Scheduled appointments" of a period are the appointments whose start falls in the period,
  in any status except `rescheduled` (the replacement appointment counts instead, so a moved
  visit is not counted twice): completed + no-show + cancelled + still open. For a period still
  under way, its future visits are open and in the denominator.
- Percentages are rounded half-up to one decimal; sessions and days too. The status is decided
  on the exact, unrounded value, so 79.96 % shows as 80.0 and is still below an 80 % threshold.
- status: "on_target" inside the benchmark, "alert" past the alert threshold, "watch" between;
  "no_data" when the denominator is zero (value None); "no_benchmark" where the seed sets none.
- A practice's value adds up the numerators and the denominators of its clinicians (so working
  days are clinician-days); it is not an average of their rates.

Working time (the denominators of sessions per day, fill rate and prime-time utilisation):
- A clinician's working time on a local date is the weekly hours of its weekday minus the
  breaks, none when the date is closed (a closure range or a yearly holiday). Hours changed on a
  date apply from that date on; the first hours ever set also apply to every earlier date.
- A clinician is on the schedule from the earlier of the date their schedule was opened and the
  date of their first appointment; dates before that have no working time.
- Minutes are real elapsed minutes (`day_capacity`), so working hours across a daylight-saving
  change count the hour the clocks skip or repeat only once, floored to whole minutes per day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from domain.errors import InvalidCommand
from domain.scheduling.working_time import LocalInterval, UtcInterval, as_utc, local_to_utc, zone

Number = int | Decimal
ONE_PLACE = Decimal("0.1")
HUNDRED = Decimal(100)
PRIME_WEEKDAYS = (0, 1, 2, 3)  # Monday to Thursday
PRIME_START, PRIME_END = time(9), time(17)
PERIODS = ("day", "week", "month")
REBOOK_WINDOW = timedelta(days=30)  # 720 hours, whatever the clocks do in between
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class MetricDefinition:
    code: str
    name: str
    category: str
    formula: str
    unit: str  # "percent" | "sessions" | "days"
    benchmark: str
    target_min: Decimal | None = None
    target_max: Decimal | None = None
    alert_below: Decimal | None = None
    alert_above: Decimal | None = None
    target_below: Decimal | None = None
    """An exclusive upper benchmark ("< 24 hours", "< 30 days"); `target_max` is inclusive."""

    def status(self, exact: Decimal) -> str:
        if self.target_below is not None:
            if self.alert_above is not None and exact > self.alert_above:
                return "alert"
            return "on_target" if exact < self.target_below else "watch"
        if self.target_min is None and self.target_max is None:
            return "no_benchmark"
        if (self.alert_below is not None and exact < self.alert_below) or (
            self.alert_above is not None and exact > self.alert_above
        ):
            return "alert"
        if (self.target_min is None or exact >= self.target_min) and (
            self.target_max is None or exact <= self.target_max
        ):
            return "on_target"
        return "watch"


@dataclass(frozen=True)
class MetricValue:
    value: Decimal | None
    numerator: Number
    denominator: Number
    benchmark: str
    status: str


def _d(text: str) -> Decimal:
    return Decimal(text)


METRICS: dict[str, MetricDefinition] = {
    m.code: m
    for m in (
        MetricDefinition("kept_visit_rate", "Kept Visit Rate (KVR)", "clinical_productivity",
                         "completed / scheduled x 100", "percent", ">= 85%",
                         target_min=_d("85"), alert_below=_d("80")),
        MetricDefinition("no_show_rate", "No-Show Rate", "clinical_productivity",
                         "no-shows / scheduled x 100", "percent", "<= 10%",
                         target_max=_d("10"), alert_above=_d("15")),
        MetricDefinition("cancellation_rate", "Cancellation Rate", "clinical_productivity",
                         "cancelled / scheduled x 100", "percent", "<= 15%",
                         target_max=_d("15"), alert_above=_d("20")),
        MetricDefinition("late_cancellation_rate", "Late Cancellation Rate", "clinical_productivity",
                         "late cancellations / scheduled x 100", "percent", "none in seed 001"),
        MetricDefinition("rebook_rate", "Rebook Rate", "clinical_productivity",
                         "completed visits rebooked within 30 days / completed x 100", "percent", ">= 75%",
                         target_min=_d("75"), alert_below=_d("65")),
        MetricDefinition("sessions_per_day", "Sessions Per Day", "clinical_productivity",
                         "completed sessions / working days", "sessions", "5-7 sessions",
                         target_min=_d("5"), target_max=_d("7"), alert_below=_d("4"), alert_above=_d("8")),
        MetricDefinition("schedule_fill_rate", "Schedule Fill Rate", "schedule_optimization",
                         "booked minutes / available minutes x 100", "percent", ">= 85%",
                         target_min=_d("85"), alert_below=_d("75")),
        MetricDefinition("prime_time_utilization", "Prime Time Utilization", "schedule_optimization",
                         "booked prime minutes / available prime minutes x 100", "percent", ">= 90%",
                         target_min=_d("90"), alert_below=_d("80")),
        MetricDefinition("average_lead_time", "Average Appointment Lead Time", "schedule_optimization",
                         "sum of (start - booked at) in days / appointments booked", "days", "7-14 days",
                         target_min=_d("7"), target_max=_d("14"), alert_below=_d("5"), alert_above=_d("21")),
    )
}


def check_counts(**counts: Number) -> None:
    for name, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int | Decimal) or count < 0:
            raise InvalidCommand(f"{name} is a count, zero or more.", field=name)


def measure(
    definition: MetricDefinition, numerator: Number, denominator: Number, scale: Decimal = Decimal(1)
) -> MetricValue:
    """A metric's value from its counts, rounded and judged by its definition (shared by every
    metric family of the dictionary)."""
    if denominator == 0:
        return MetricValue(None, numerator, denominator, definition.benchmark, "no_data")
    exact = Decimal(numerator) * scale / Decimal(denominator)
    value = exact.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)
    return MetricValue(value, numerator, denominator, definition.benchmark, definition.status(exact))


def rate(definition: MetricDefinition, part: Number, whole: Number, part_name: str, whole_name: str) -> MetricValue:
    check_counts(**{part_name: part, whole_name: whole})
    if part > whole:
        raise InvalidCommand(f"{part_name} cannot exceed {whole_name}.", field=part_name)
    return measure(definition, part, whole, HUNDRED)


def _measure(code: str, numerator: Number, denominator: Number, scale: Decimal = Decimal(1)) -> MetricValue:
    return measure(METRICS[code], numerator, denominator, scale)


def _rate(code: str, part: Number, whole: Number, part_name: str, whole_name: str) -> MetricValue:
    return rate(METRICS[code], part, whole, part_name, whole_name)


def kept_visit_rate(completed: int, scheduled: int) -> MetricValue:
    """Completed appointments / scheduled appointments (see module docstring) x 100."""
    return _rate("kept_visit_rate", completed, scheduled, "completed", "scheduled")


def no_show_rate(no_shows: int, scheduled: int) -> MetricValue:
    """Appointments marked no-show / scheduled appointments x 100."""
    return _rate("no_show_rate", no_shows, scheduled, "no_shows", "scheduled")


def cancellation_rate(cancelled: int, scheduled: int) -> MetricValue:
    """Cancelled appointments (by client or practice, late or not) / scheduled appointments x 100."""
    return _rate("cancellation_rate", cancelled, scheduled, "cancelled", "scheduled")


def late_cancellation_rate(late_cancelled: int, scheduled: int) -> MetricValue:
    """Cancellations flagged late (inside the practice's late window) / scheduled appointments x 100.

    Late reschedules are not counted: the visit still happens. Seed 001 sets no benchmark.
    """
    return _rate("late_cancellation_rate", late_cancelled, scheduled, "late_cancelled", "scheduled")


def rebook_rate(rebooked: int, completed: int) -> MetricValue:
    """Completed appointments of the period after which the same client had a later appointment
    (booked at any time, not cancelled) starting within 30 days / completed appointments x 100.

    "Later" and "within 30 days": the other appointment starts after the completed one starts and
    at most `REBOOK_WINDOW` (720 hours) after it. With any clinician of the practice (continuity of
    care, not of the clinician). "Not cancelled": open, completed or no-show; a rescheduled
    appointment does not count, its replacement does. The count is as of now: a booking made or
    cancelled later changes the rebook rate of past periods.
    """
    return _rate("rebook_rate", rebooked, completed, "rebooked", "completed")


def sessions_per_working_day(completed: int, working_days: int) -> MetricValue:
    """Completed sessions / working days: local dates of the period on which the clinician has
    working time (see the module docstring: hours minus breaks, not closed, on the schedule)."""
    check_counts(completed=completed, working_days=working_days)
    return _measure("sessions_per_day", completed, working_days)


def schedule_fill_rate(booked_minutes: int, available_minutes: int) -> MetricValue:
    """Minutes of appointments (not cancelled or rescheduled; no-shows and open ones count, the time
    was booked) within working time / working minutes (hours minus breaks and closures) x 100.
    Minutes weigh a 90-minute group above a 20-minute check; with one session length it equals
    booked slots / available slots. An appointment counts against the working time of the local
    date it starts on; overlapping appointments count their shared minutes once (`day_booked`),
    so booked never exceeds available."""
    return _rate("schedule_fill_rate", booked_minutes, available_minutes, "booked_minutes", "available_minutes")


def prime_time_utilization(booked_prime_minutes: int, available_prime_minutes: int) -> MetricValue:
    """As schedule_fill_rate, restricted to prime time: Monday to Thursday, 09:00-17:00 practice
    time (see `prime_minutes`)."""
    return _rate("prime_time_utilization", booked_prime_minutes, available_prime_minutes,
                 "booked_prime_minutes", "available_prime_minutes")


def average_lead_time(total_lead_time: timedelta, booked: int) -> MetricValue:
    """Sum over appointments booked in the period of (starts_at - time of booking), in days /
    number of those appointments. The numerator is reported in days (Decimal).

    "Booked in the period": the booking's local date lies in it (whatever became of the
    appointment since). A recurring series is one booking: only its first occurrence counts. An
    appointment recorded after the fact (booked at or after its start) has no lead time and is
    left out.
    """
    check_counts(booked=booked)
    if total_lead_time < timedelta(0):
        raise InvalidCommand("A lead time is zero or more.", field="total_lead_time")
    days = Decimal(total_lead_time // timedelta(microseconds=1)) / Decimal(86_400_000_000)
    return _measure("average_lead_time", days, booked)


def prime_minutes(start: datetime, end: datetime, time_zone: str) -> int:
    """Whole minutes of [start, end) inside prime time (Mon-Thu 09:00-17:00 in `time_zone`)."""
    tz = zone(time_zone)
    start, end = as_utc(start, "start"), as_utc(end, "end")
    total = timedelta(0)
    day = start.astimezone(tz).date()
    while local_to_utc(day, time(0), tz) < end:
        if day.weekday() in PRIME_WEEKDAYS:
            prime_from, prime_to = local_to_utc(day, PRIME_START, tz), local_to_utc(day, PRIME_END, tz)
            overlap = min(end, prime_to) - max(start, prime_from)
            total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    return total // timedelta(minutes=1)


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """First and last local date (both included) of the day, ISO week (Monday to Sunday) or
    calendar month that contains `day`."""
    if period not in PERIODS:
        raise InvalidCommand(f"Unknown period {period!r}.", field="period", allowed=list(PERIODS))
    try:
        if period == "day":
            first, following = day, day + timedelta(days=1)
        elif period == "week":
            first = day - timedelta(days=day.weekday())
            following = first + timedelta(days=7)
        else:
            first = day.replace(day=1)
            following = (first + timedelta(days=31)).replace(day=1)
        if following >= date.max:  # callers look at the midnight that ends the period
            raise OverflowError
    except OverflowError:
        raise InvalidCommand("That period lies outside the calendar.", field="start") from None
    return first, following - timedelta(days=1)


def working_time(
    day: date, hours: Sequence[LocalInterval], breaks: Sequence[LocalInterval], tz: ZoneInfo
) -> list[UtcInterval]:
    """The local date's working intervals with its breaks cut out, as UTC instants in time order
    (`hours` and `breaks` are that weekday's, as `check_weekly_hours` returns them)."""
    pieces: list[UtcInterval] = []
    for start, end in sorted(hours):
        cursor = start
        for pause_start, pause_end in sorted(breaks):
            if pause_end <= cursor or pause_start >= end:
                continue
            if pause_start > cursor:
                pieces.append(_utc(day, cursor, pause_start, tz))
            cursor = max(cursor, pause_end)
        if cursor < end:
            pieces.append(_utc(day, cursor, end, tz))
    return [(s, e) for s, e in pieces if s < e]  # a piece inside a skipped hour has no time


def prime_window(day: date, tz: ZoneInfo) -> list[UtcInterval]:
    """The local date's prime time (Monday to Thursday, 09:00-17:00) as UTC instants."""
    if day.weekday() not in PRIME_WEEKDAYS:
        return []
    return [_utc(day, PRIME_START, PRIME_END, tz)]


def day_capacity(
    day: date, hours: Sequence[LocalInterval], breaks: Sequence[LocalInterval], time_zone: str
) -> tuple[int, int]:
    """(working minutes, prime working minutes) of one open local date; a closed date has none,
    which is the caller's to decide."""
    tz = zone(time_zone)
    working = working_time(day, hours, breaks, tz)
    return _minutes(working), _minutes(_intersection(working, prime_window(day, tz)))


def day_booked(
    day: date, hours: Sequence[LocalInterval], breaks: Sequence[LocalInterval], time_zone: str,
    appointments: Sequence[UtcInterval],
) -> tuple[int, int]:
    """(booked minutes, booked prime minutes) of one open local date: the minutes of working time
    covered by at least one of `appointments`, so never more than `day_capacity`'s."""
    tz = zone(time_zone)
    working = working_time(day, hours, breaks, tz)
    booked = _intersection(_merged(appointments), working)
    return _minutes(booked), _minutes(_intersection(booked, prime_window(day, tz)))


def _utc(day: date, start: time, end: time, tz: ZoneInfo) -> UtcInterval:
    return local_to_utc(day, start, tz), local_to_utc(day, end, tz)


def _minutes(intervals: Sequence[UtcInterval]) -> int:
    return sum((end - start for start, end in intervals), timedelta(0)) // MINUTE


def _merged(intervals: Sequence[UtcInterval]) -> list[UtcInterval]:
    merged: list[UtcInterval] = []
    for start, end in sorted((as_utc(s, "start"), as_utc(e, "end")) for s, e in intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif start < end:
            merged.append((start, end))
    return merged


def _intersection(a: Sequence[UtcInterval], b: Sequence[UtcInterval]) -> list[UtcInterval]:
    """Of two sorted lists of disjoint intervals."""
    out: list[UtcInterval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return out
