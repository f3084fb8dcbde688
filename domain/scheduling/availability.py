"""Free appointment slots: working hours minus breaks, closures and booked time.

Working hours, breaks and closures are local practice time; busy intervals, `now` and the slots
returned are UTC instants. Each working interval is turned into UTC once per local date with
`local_to_utc`, and slots are stepped through in real (UTC) time from its start, so a 60-minute
slot always lasts 60 minutes, a day without a clock change starts at the same local time all year,
and the hour clocks skip or repeat never yields a slot at a time that does not exist.

A slot is free when
- the appointment itself lies within one working interval and touches no break,
- the appointment widened by the type's buffers overlaps no busy interval (busy intervals carry
  their own buffers, see ClinicianSchedule),
- it starts at least `min_notice_hours` after `now` and at most `booking_window_days` after it,
- its local date is not closed.
Buffers may reach past the end of working hours or into a break: only bookings compete for them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from domain.errors import InvalidCommand
from domain.scheduling.appointment_types import AppointmentType
from domain.scheduling.working_time import (
    Closures,
    LocalInterval,
    UtcInterval,
    as_utc,
    check_weekly_hours,
    days,
    local_to_utc,
    zone,
)

MAX_STEP_MINUTES = 240


def free_slots(
    *,
    working_hours: Mapping[int, Sequence[LocalInterval]],
    breaks: Mapping[int, Sequence[LocalInterval]] | None = None,
    closures: Closures | None = None,
    busy: Sequence[UtcInterval] = (),
    appointment_type: AppointmentType,
    time_zone: str,
    date_from: date,
    date_to: date,
    now: datetime,
    step_minutes: int = 15,
) -> list[UtcInterval]:
    """Free (start_utc, end_utc) slots on the local dates `date_from` to `date_to`, in time order."""
    tz = zone(time_zone)
    now = as_utc(now, "now")
    if date_to < date_from:
        raise InvalidCommand("The range ends before it starts.", field="date_to")
    if isinstance(step_minutes, bool) or not 1 <= step_minutes <= MAX_STEP_MINUTES:
        raise InvalidCommand(f"The slot step is 1 to {MAX_STEP_MINUTES} minutes.", field="step_minutes")
    hours = check_weekly_hours(working_hours, "working_hours")
    pauses = check_weekly_hours(breaks or {}, "breaks")
    closed = closures or Closures()
    blocked = _merged(sorted((as_utc(s, "busy"), as_utc(e, "busy")) for s, e in busy))
    blocked_ends = [end for _, end in blocked]

    earliest = now + appointment_type.min_notice
    latest = now + appointment_type.booking_window
    duration, step = appointment_type.duration, timedelta(minutes=step_minutes)
    before, after = appointment_type.buffer_before, appointment_type.buffer_after

    def overlaps_busy(start: datetime, end: datetime) -> bool:
        # blocked is merged and sorted, so only the first interval ending after `start` can overlap
        i = bisect_right(blocked_ends, start)
        return i < len(blocked) and blocked[i][0] < end

    slots: list[UtcInterval] = []
    first_day = max(date_from, earliest.astimezone(tz).date())
    last_day = min(date_to, latest.astimezone(tz).date())
    if last_day < first_day:
        return slots
    for day in days(first_day, last_day):
        if closed.closed_on(day):
            continue
        day_breaks = [(local_to_utc(day, s, tz), local_to_utc(day, e, tz)) for s, e in pauses.get(day.weekday(), ())]
        for local_start, local_end in hours.get(day.weekday(), ()):
            start, limit = local_to_utc(day, local_start, tz), local_to_utc(day, local_end, tz)
            while start + duration <= limit:
                end = start + duration
                if (
                    earliest <= start <= latest
                    and not any(s < end and start < e for s, e in day_breaks)
                    and not overlaps_busy(start - before, end + after)
                ):
                    slots.append((start, end))
                start += step
    return slots


def _merged(intervals: list[UtcInterval]) -> list[UtcInterval]:
    merged: list[UtcInterval] = []
    for start, end in intervals:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def render_slots(slots: Sequence[UtcInterval], time_zone: str) -> list[tuple[datetime, datetime]]:
    """The same instants as wall-clock times in `time_zone` (e.g. the client's), offsets attached."""
    tz = zone(time_zone)
    return [(start.astimezone(tz), end.astimezone(tz)) for start, end in slots]
