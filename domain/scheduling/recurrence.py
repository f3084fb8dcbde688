"""Recurring series: the occurrences of a weekly, fortnightly or monthly appointment.

Occurrences keep their local wall-clock time: a 10:00 session stays at 10:00 in the practice's
time zone across daylight-saving changes (so its UTC instant moves by an hour). A start time the
clocks skip on one date moves to the moment of the jump (see `local_to_utc`).

Monthly series repeat on the first occurrence's day of the month. A month without that day (the
31st in April, the 29th-31st in February) has no occurrence; the series does not move it to the
month's last day, which would silently change the client's day. `count` counts occurrences that
happen, as RFC 5545's COUNT does, so a count of 3 from 31 January gives 31 January, 31 March and
31 May.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator
from datetime import date, time, timedelta

from domain.errors import InvalidCommand
from domain.scheduling.working_time import UtcInterval, local_to_utc, zone

FREQUENCIES = ("weekly", "biweekly", "monthly")
MAX_OCCURRENCES = 104  # two years of weekly sessions


def expand(
    *,
    first_day: date,
    start_time: time,
    duration: timedelta,
    time_zone: str,
    frequency: str,
    count: int | None = None,
    until: date | None = None,
) -> list[UtcInterval]:
    """The series' (start_utc, end_utc) occurrences, the first on `first_day`; `until` is a local
    date and is included. Exactly one of `count` and `until` ends the series."""
    tz = zone(time_zone)
    if frequency not in FREQUENCIES:
        raise InvalidCommand(f"Unknown frequency {frequency!r}.", field="frequency", allowed=list(FREQUENCIES))
    if (count is None) == (until is None):
        raise InvalidCommand("A series ends after a count or on a date, one of the two.", field="count")
    if count is not None and (isinstance(count, bool) or not 1 <= count <= MAX_OCCURRENCES):
        raise InvalidCommand(f"A series has 1 to {MAX_OCCURRENCES} occurrences.", field="count")
    if until is not None and until < first_day:
        raise InvalidCommand("A series ends on or after its first day.", field="until")
    if not timedelta(0) < duration <= timedelta(hours=12):
        raise InvalidCommand("An occurrence lasts more than nothing and at most 12 hours.", field="duration")
    if start_time.tzinfo is not None:
        raise InvalidCommand("The start time is local practice time, without a zone.", field="start_time")

    occurrences: list[UtcInterval] = []
    for day in _dates(first_day, frequency):
        if until is not None and day > until:
            break
        if len(occurrences) == MAX_OCCURRENCES:
            raise InvalidCommand(f"A series has at most {MAX_OCCURRENCES} occurrences.", field="until")
        start = local_to_utc(day, start_time, tz)
        occurrences.append((start, start + duration))
        if count is not None and len(occurrences) == count:
            break
    return occurrences


def _dates(first_day: date, frequency: str) -> Iterator[date]:
    if frequency in ("weekly", "biweekly"):
        step = timedelta(weeks=1 if frequency == "weekly" else 2)
        day = first_day
        while True:
            yield day
            day += step
    months = 0
    while True:
        year, month = divmod(first_day.month - 1 + months, 12)
        year += first_day.year
        if first_day.day <= monthrange(year, month + 1)[1]:
            yield date(year, month + 1, first_day.day)
        months += 1
