"""A clinician's schedule: working hours, breaks, closures and the time already promised.

One ClinicianSchedule per clinician (its id follows from the clinician's id), so "one clinician,
one slot" is an invariant of a single aggregate: the application saves the schedule together with
the Appointment, and optimistic concurrency on the schedule's version refuses the second of two
racing bookings.

Each reservation holds the appointment's time widened by its buffers, and two reservations may
not overlap, buffers included (the buffer after a session is the clinician's notes time, the
buffer before is preparation, neither can be shared). Whether a booking lies within working hours
is decided by `free_slots`; the schedule only refuses overlaps, so staff can still book an
exceptional hour.

Pruning keeps the aggregate small: each reservation drops every interval that ended (buffer
included) before the `now` it is given. A finished interval can no longer collide with anything
bookable from `now` on. The dropped ids are recorded in the Reserved event, so a replay drops
exactly the same ones. Releasing an id that is no longer held (pruned or never reserved) changes
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.scheduling.appointment import CODE
from domain.scheduling.working_time import (
    Closures,
    LocalInterval,
    UtcInterval,
    as_utc,
    check_weekly_hours,
    hours_from_payload,
    hours_to_payload,
)

SCHEDULE_NAMESPACE = UUID("5d0f3a8e-2b7c-4e1a-9c64-3f8e1b2a7d90")
MAX_BUFFER = timedelta(hours=2)


def schedule_id_for(clinician_id: UUID) -> UUID:
    return uuid5(SCHEDULE_NAMESPACE, str(clinician_id))


class SlotTaken(IllegalTransition):
    code = "slot_taken"
    kind = "conflict"


class ClinicianSchedule(Aggregate):
    TOPIC = "careledger/clinician-schedule"

    class Created(Aggregate.Created):
        TOPIC = "careledger/clinician-schedule/created"

    class Opened(Created, Audited):
        TOPIC = "careledger/clinician-schedule/opened"
        practice_id: UUID
        clinician_id: UUID

    class WorkingHoursSet(Aggregate.Event, Audited):
        TOPIC = "careledger/clinician-schedule/working-hours-set"
        hours: dict[str, list[list[str]]]
        breaks: dict[str, list[list[str]]]

    class ClosureAdded(Aggregate.Event, Audited):
        TOPIC = "careledger/clinician-schedule/closure-added"
        first_day: date
        last_day: date
        reason_code: str

    class ClosureRemoved(Aggregate.Event, Audited):
        TOPIC = "careledger/clinician-schedule/closure-removed"
        first_day: date
        last_day: date

    class HolidayAdded(Aggregate.Event, Audited):
        TOPIC = "careledger/clinician-schedule/holiday-added"
        month: int
        day: int
        reason_code: str

    class HolidayRemoved(Aggregate.Event, Audited):
        TOPIC = "careledger/clinician-schedule/holiday-removed"
        month: int
        day: int

    class Reserved(Aggregate.Event, Audited):
        TOPIC = "careledger/clinician-schedule/reserved"
        appointment_id: UUID
        blocked_from: datetime
        blocked_until: datetime
        pruned: list[UUID]

    class Released(Aggregate.Event, Audited):
        TOPIC = "careledger/clinician-schedule/released"
        appointment_id: UUID

    @classmethod
    def create_id(cls, clinician_id: UUID, **_: Any) -> UUID:
        return schedule_id_for(clinician_id)

    @classmethod
    def open(cls, practice_id: UUID, clinician_id: UUID) -> ClinicianSchedule:
        return cls(practice_id=practice_id, clinician_id=clinician_id)

    @event(Opened)
    def __init__(self, practice_id: UUID, clinician_id: UUID) -> None:
        self.practice_id = practice_id
        self.clinician_id = clinician_id
        self.working_hours: dict[int, tuple[LocalInterval, ...]] = {}
        self.breaks: dict[int, tuple[LocalInterval, ...]] = {}
        self.closed_ranges: set[tuple[date, date]] = set()
        self.holidays: set[tuple[int, int]] = set()
        self.reservations: dict[UUID, UtcInterval] = {}

    # --- hours and closures -------------------------------------------------------------------

    def set_working_hours(
        self,
        hours: Mapping[int, Sequence[LocalInterval]],
        breaks: Mapping[int, Sequence[LocalInterval]] | None = None,
    ) -> None:
        """Weekly hours and breaks in local practice time, weekday 0 = Monday."""
        checked_hours = check_weekly_hours(hours, "hours")
        checked_breaks = check_weekly_hours(breaks or {}, "breaks")
        payload = hours_to_payload(checked_hours), hours_to_payload(checked_breaks)
        if payload != (hours_to_payload(self.working_hours), hours_to_payload(self.breaks)):
            self._working_hours_set(hours=payload[0], breaks=payload[1])

    @event(WorkingHoursSet)
    def _working_hours_set(self, hours: dict[str, list[list[str]]], breaks: dict[str, list[list[str]]]) -> None:
        self.working_hours = hours_from_payload(hours)
        self.breaks = hours_from_payload(breaks)

    def close(self, first_day: date, last_day: date | None = None, reason_code: str = "closed") -> None:
        """Close one local date, or a range of them (both ends included)."""
        last = first_day if last_day is None else last_day
        if last < first_day:
            raise InvalidCommand("A closure ends on or after its first day.", field="last_day")
        _check_reason(reason_code)
        if (first_day, last) not in self.closed_ranges:
            self._closure_added(first_day=first_day, last_day=last, reason_code=reason_code)

    @event(ClosureAdded)
    def _closure_added(self, first_day: date, last_day: date, reason_code: str) -> None:
        self.closed_ranges.add((first_day, last_day))

    def reopen(self, first_day: date, last_day: date | None = None) -> None:
        last = first_day if last_day is None else last_day
        if (first_day, last) not in self.closed_ranges:
            raise IllegalTransition("There is no such closure.")
        self._closure_removed(first_day=first_day, last_day=last)

    @event(ClosureRemoved)
    def _closure_removed(self, first_day: date, last_day: date) -> None:
        self.closed_ranges.discard((first_day, last_day))

    def add_holiday(self, month: int, day: int, reason_code: str = "holiday") -> None:
        """A closure on the same month and day every year."""
        Closures(holidays=frozenset({(month, day)}))  # validates the day of the year
        _check_reason(reason_code)
        if (month, day) not in self.holidays:
            self._holiday_added(month=month, day=day, reason_code=reason_code)

    @event(HolidayAdded)
    def _holiday_added(self, month: int, day: int, reason_code: str) -> None:
        self.holidays.add((month, day))

    def remove_holiday(self, month: int, day: int) -> None:
        if (month, day) not in self.holidays:
            raise IllegalTransition("There is no such holiday.")
        self._holiday_removed(month=month, day=day)

    @event(HolidayRemoved)
    def _holiday_removed(self, month: int, day: int) -> None:
        self.holidays.discard((month, day))

    @property
    def closures(self) -> Closures:
        return Closures(holidays=frozenset(self.holidays), ranges=tuple(sorted(self.closed_ranges)))

    # --- reservations -------------------------------------------------------------------------

    def reserve(
        self,
        appointment_id: UUID,
        start: datetime,
        end: datetime,
        buffer_before: timedelta,
        buffer_after: timedelta,
        now: datetime,
    ) -> None:
        """Hold [start - buffer_before, end + buffer_after) for the appointment, or raise SlotTaken.

        Time that has wholly passed by `now` is refused (InvalidCommand): it would be pruned at once,
        and an appointment recorded after the fact needs no protection from double booking.
        """
        start, end, now = as_utc(start, "start"), as_utc(end, "end"), as_utc(now, "now")
        if end <= start:
            raise InvalidCommand("An appointment ends after it starts.", field="end")
        for name, buffer in (("buffer_before", buffer_before), ("buffer_after", buffer_after)):
            if not timedelta(0) <= buffer <= MAX_BUFFER:
                raise InvalidCommand(f"{name} is between zero and {MAX_BUFFER}.", field=name)
        if appointment_id in self.reservations:
            raise IllegalTransition("This appointment holds time already; release it first.")
        blocked_from, blocked_until = start - buffer_before, end + buffer_after
        if blocked_until <= now:
            raise InvalidCommand("That time has passed; there is nothing left to hold.", field="end")
        for other_from, other_until in self.reservations.values():
            if blocked_from < other_until and other_from < blocked_until:
                raise SlotTaken(
                    "The clinician is booked at that time.", field="starts_at",
                    blocked_from=other_from.isoformat(), blocked_until=other_until.isoformat(),
                )
        pruned = [held for held, (_, until) in self.reservations.items() if until <= now]
        self._reserved(
            appointment_id=appointment_id, blocked_from=blocked_from, blocked_until=blocked_until, pruned=pruned
        )

    @event(Reserved)
    def _reserved(
        self, appointment_id: UUID, blocked_from: datetime, blocked_until: datetime, pruned: list[UUID]
    ) -> None:
        for held in pruned:
            self.reservations.pop(held, None)
        self.reservations[appointment_id] = (blocked_from, blocked_until)

    def release(self, appointment_id: UUID) -> bool:
        """Free the appointment's time (cancelled, rescheduled); False if it held none."""
        if appointment_id not in self.reservations:
            return False
        self._released(appointment_id=appointment_id)
        return True

    @event(Released)
    def _released(self, appointment_id: UUID) -> None:
        del self.reservations[appointment_id]

    def busy(self) -> list[UtcInterval]:
        """The held intervals, buffers included, in time order: `free_slots`'s `busy` input."""
        return sorted(self.reservations.values())


def _check_reason(reason_code: str) -> None:
    if not CODE.match(reason_code):
        raise InvalidCommand("A reason is a code such as 'vacation' or 'training'.", field="reason_code")
