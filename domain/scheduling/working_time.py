"""Local practice time: time zones, weekly working hours and closures.

Working hours, breaks and closures are what a practice writes on its door, so they are kept in
local wall-clock time; everything booked is an instant in UTC. `local_to_utc` is the one place
where the two meet, with one rule for the hours a daylight-saving change skips or repeats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidCommand

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

LocalInterval = tuple[time, time]
WeeklyHours = Mapping[int, Sequence[LocalInterval]]
"""Weekday (0 = Monday, as `date.weekday()`; seed 004 counts from Sunday) -> local intervals."""

UtcInterval = tuple[datetime, datetime]


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`, or InvalidCommand."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCommand(f"Unknown time zone {name!r}.", field="time_zone") from None


def as_utc(value: datetime, field: str) -> datetime:
    """A time-zone-aware instant, normalised to UTC; naive datetimes are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCommand(f"{field} needs a time zone.", field=field)
    return value.astimezone(UTC)


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first instant at which the local clock on `day` reads `at` or later.

    An ambiguous time (the repeated hour when clocks go back) is its first occurrence. A time the
    clocks skip (the lost hour when they go forward) becomes the moment of the jump, so 02:30 on
    the spring-forward day in New York is 03:00 EDT. The mapping never runs backwards, so a local
    interval with start < end never becomes an interval that ends before it starts.
    """
    naive = datetime.combine(day, at)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)
    if _wall(instant, tz) == naive:
        return instant
    # In a gap: fold=1 reads the time with the offset after the change, an instant before the jump.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = 0, int((instant - low).total_seconds())
    while lo < hi:
        mid = (lo + hi) // 2
        if _wall(low + timedelta(seconds=mid), tz) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return low + timedelta(seconds=lo)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def days(first: date, last: date) -> Iterable[date]:
    """Every date from `first` to `last`, both included."""
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def check_weekly_hours(hours: WeeklyHours, field: str) -> dict[int, tuple[LocalInterval, ...]]:
    """Validated, sorted intervals per weekday.

    Each interval lies within one local day (start < end, so nothing runs past midnight), is on
    whole minutes, and no two intervals of one weekday overlap.
    """
    checked: dict[int, tuple[LocalInterval, ...]] = {}
    for weekday, intervals in hours.items():
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise InvalidCommand(f"Weekday {weekday!r} is not 0 (Monday) to 6 (Sunday).", field=field)
        for start, end in intervals:
            for value in (start, end):
                if not isinstance(value, time) or value.tzinfo is not None or value.second or value.microsecond:
                    raise InvalidCommand("Times are local wall-clock times on whole minutes.", field=field)
        ordered = sorted(intervals)
        for start, end in ordered:
            if start >= end:
                raise InvalidCommand(f"{WEEKDAYS[weekday]}: {start:%H:%M} is not before {end:%H:%M}.", field=field)
        for (_, earlier_end), (later_start, _) in pairwise(ordered):
            if later_start < earlier_end:
                raise InvalidCommand(f"{WEEKDAYS[weekday]}: intervals overlap.", field=field)
        if ordered:
            checked[weekday] = tuple(ordered)
    return checked


def hours_to_payload(hours: Mapping[int, Sequence[LocalInterval]]) -> dict[str, list[list[str]]]:
    """Event payload form: {"monday": [["09:00", "12:00"], ...]} (readable in the audit trail)."""
    return {
        WEEKDAYS[weekday]: [[start.strftime("%H:%M"), end.strftime("%H:%M")] for start, end in intervals]
        for weekday, intervals in sorted(hours.items())
    }


def hours_from_payload(payload: Mapping[str, Sequence[Sequence[str]]]) -> dict[int, tuple[LocalInterval, ...]]:
    return {
        WEEKDAYS.index(name): tuple((time.fromisoformat(start), time.fromisoformat(end)) for start, end in intervals)
        for name, intervals in payload.items()
    }


@dataclass(frozen=True)
class Closures:
    """Local dates without appointments: one-off dates, yearly holidays and date ranges.

    A yearly holiday is a (month, day) pair; 29 February therefore closes leap years only.
    Ranges include both ends.
    """

    dates: frozenset[date] = frozenset()
    holidays: frozenset[tuple[int, int]] = frozenset()
    ranges: tuple[tuple[date, date], ...] = ()

    def __post_init__(self) -> None:
        for month, day in self.holidays:
            try:
                date(2000, month, day)  # a leap year, so 29 February is a valid holiday
            except ValueError:
                raise InvalidCommand(f"{month}-{day} is not a day of the year.", field="holidays") from None
        for first, last in self.ranges:
            if last < first:
                raise InvalidCommand("A closure range ends before it starts.", field="ranges")

    def closed_on(self, day: date) -> bool:
        return (
            day in self.dates
            or (day.month, day.day) in self.holidays
            or any(first <= day <= last for first, last in self.ranges)
        )

    def merged(self, other: Closures) -> Closures:
        """Practice-wide closures together with a clinician's own."""
        return Closures(self.dates | other.dates, self.holidays | other.holidays, self.ranges + other.ranges)
