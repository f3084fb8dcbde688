"""When an appointment's reminders fall due, and when a due reminder is no longer worth sending.

A practice's offsets (e.g. 48, 24 and 2 hours) are counted back from the start. A reminder whose
due time had already passed when the appointment was booked is never scheduled: a visit booked
10 hours ahead gets only its 2-hour reminder, one booked 1 hour ahead gets none (the client has
just arranged it). Nothing is sent late either: once a smaller offset is due as well, the larger
one is superseded, and once the appointment has started every reminder is too late.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def due_at(starts_at: datetime, offset_hours: int) -> datetime:
    return starts_at - timedelta(hours=offset_hours)


def planned_offsets(
    starts_at: datetime, booked_at: datetime, offsets_hours: Iterable[int]
) -> list[tuple[int, datetime]]:
    """(offset, due time) of the reminders a booking gets, earliest due first."""
    planned = {(h, due_at(starts_at, h)) for h in offsets_hours}
    return sorted(((h, at) for h, at in planned if at > booked_at), key=lambda p: p[1])


def lateness(
    offset_hours: int, starts_at: datetime, booked_at: datetime, offsets_hours: Iterable[int], now: datetime
) -> str | None:
    """"too_late" once the appointment has started, "superseded" once a smaller scheduled offset
    is due too; None while this reminder is still the one to send."""
    if now >= starts_at:
        return "too_late"
    for h, at in planned_offsets(starts_at, booked_at, offsets_hours):
        if h < offset_hours and at <= now:
            return "superseded"
    return None
