"""Booking and the appointment lifecycle: the write path of scheduling.

No double booking is an invariant of one aggregate, the clinician's ClinicianSchedule. Every
command that takes or frees a clinician's time saves the Appointment(s) and the schedule(s) in
one transaction; the event store's optimistic concurrency on the schedule's version refuses the
second of two racing writers. The loser reloads and tries again, so two bookings of different
hours both succeed, while two bookings of the same hour end in one success and one SlotTaken.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from application import access, audit
from application.errors import Conflict, Forbidden, NotFound
from application.ports import Clock
from application.retry import retrying
from application.store import EventStore, Saved
from domain.clients.client import Client
from domain.errors import IllegalTransition, InvalidCommand
from domain.identity.membership import Membership
from domain.identity.permissions import Scope
from domain.practices.practice import Practice
from domain.scheduling.appointment import Appointment
from domain.scheduling.appointment_types import AppointmentType
from domain.scheduling.availability import free_slots
from domain.scheduling.consents import check_booking_consents
from domain.scheduling.recurrence import expand
from domain.scheduling.schedule import ClinicianSchedule, SlotTaken, schedule_id_for
from domain.scheduling.series import AppointmentSeries
from domain.scheduling.working_time import LocalInterval, UtcInterval, as_utc, zone

CLINICAL_ROLES = frozenset({"clinician", "supervisor"})
ATTEMPTS = 12
T = TypeVar("T")


class SeriesConflicts(Conflict):
    code = "series_conflicts"


class OutsideTeam(Forbidden):
    code = "outside_team"


class OutsideWorkingHours(InvalidCommand):
    code = "outside_working_hours"


class FreedSlots(Protocol):
    """Who hears that a clinician's time came free (the waitlist)."""

    def offer_freed_slot(
        self, practice_id: UUID, clinician_id: UUID, appointment_type: str, starts_at: datetime, ends_at: datetime
    ) -> UUID | None: ...


@dataclass(frozen=True)
class Booking:
    client_id: UUID
    clinician_id: UUID
    appointment_type: str
    starts_at: datetime
    modality: str | None = None
    allow_outside_hours: bool = False


@dataclass(frozen=True)
class SeriesRequest:
    client_id: UUID
    clinician_id: UUID
    appointment_type: str
    first_day: date
    start_time: time
    frequency: str
    count: int | None = None
    until: date | None = None
    modality: str | None = None


@dataclass(frozen=True)
class SeriesBooked:
    series_id: UUID
    appointment_ids: list[UUID]
    position: int


class SchedulingService:
    def __init__(self, store: EventStore, clock: Clock, freed: FreedSlots | None = None) -> None:
        self.store = store
        self.clock = clock
        self.freed = freed
        self._locks: weakref.WeakValueDictionary[UUID, threading.Lock] = weakref.WeakValueDictionary()
        self._locks_guard = threading.Lock()

    @contextmanager
    def _serialised(self, *clinician_ids: UUID) -> Iterator[None]:
        """Bookings of one clinician take turns within this process, so racing requests do not
        spend their retries on each other; across processes the schedule's version still decides."""
        with self._locks_guard:
            locks = [self._locks.setdefault(c, threading.Lock()) for c in sorted(set(clinician_ids))]
        with ExitStack() as stack:
            for lock in locks:
                stack.enter_context(lock)
            yield

    # --- loading ------------------------------------------------------------------------------

    def practice(self, practice_id: UUID) -> Practice:
        practice: Practice = self.store.load(practice_id, Practice)
        return practice

    def clinician(self, practice_id: UUID, clinician_id: UUID) -> Membership:
        try:
            member: Membership = self.store.load(clinician_id, Membership)
        except NotFound:
            raise NotFound(f"No clinician {clinician_id}.") from None
        if member.practice_id != practice_id or member.role not in CLINICAL_ROLES:
            raise NotFound(f"No clinician {clinician_id}.")
        return member

    def schedule(self, practice_id: UUID, clinician_id: UUID) -> ClinicianSchedule:
        """The clinician's schedule, opened (unsaved) on first use."""
        try:
            schedule: ClinicianSchedule = self.store.load(schedule_id_for(clinician_id), ClinicianSchedule)
        except NotFound:
            self.clinician(practice_id, clinician_id)
            return ClinicianSchedule.open(practice_id, clinician_id)
        if schedule.practice_id != practice_id:
            raise NotFound(f"No clinician {clinician_id}.")
        return schedule

    def appointment(self, practice_id: UUID, appointment_id: UUID) -> Appointment:
        appointment: Appointment = self.store.load(appointment_id, Appointment)
        if appointment.practice_id != practice_id:
            raise NotFound(f"No appointment {appointment_id}.")
        self._check_scope(practice_id, appointment.client_id, appointment.clinician_id)
        return appointment

    def _client(self, practice_id: UUID, client_id: UUID) -> Client:
        client: Client = self.store.load(client_id, Client)
        if client.practice_id != practice_id:
            raise NotFound(f"No client {client_id}.")
        return client

    def _check_scope(self, practice_id: UUID, client_id: UUID, clinician_id: UUID | None = None) -> Client | None:
        """Record scope: caseload roles act on their clients' visits (or visits they hold), portal
        members on their own. Practice-scope roles need no client load."""
        grant = access.current()
        if grant is None or grant.scope is Scope.PRACTICE:
            return None
        if grant.scope is not Scope.OWN_RECORD and clinician_id is not None and clinician_id in grant.team_ids:
            return None
        client = self._client(practice_id, client_id)
        if not grant.sees(client.id, client.care_team):
            raise access.OutsideCaseload("This client is outside your caseload.")
        return client

    def client_in_scope(self, practice_id: UUID, client_id: UUID) -> Client:
        """The client, when the caller may see their record (404 in another practice)."""
        client = self._client(practice_id, client_id)
        grant = access.current()
        if grant is not None and not grant.sees(client.id, client.care_team):
            raise access.OutsideCaseload("This client is outside your caseload.")
        return client

    def check_calendar_scope(self, clinician_id: UUID) -> None:
        """Whose calendar the caller may read: practice-scope roles any, caseload roles their own
        (and supervisees'), portal members none."""
        grant = access.current()
        if grant is not None and grant.scope is not Scope.PRACTICE and clinician_id not in grant.team_ids:
            raise OutsideTeam("You may read only your own calendar (or your supervisees').")

    def _check_own_schedule(self, clinician_id: UUID) -> None:
        grant = access.current()
        if grant is not None and grant.scope is not Scope.PRACTICE and clinician_id not in grant.team_ids:
            raise OutsideTeam("You may change only your own schedule (or your supervisees').")

    # --- working hours and closures -----------------------------------------------------------

    def set_working_hours(
        self, practice_id: UUID, clinician_id: UUID, hours: Mapping[int, Sequence[LocalInterval]],
        breaks: Mapping[int, Sequence[LocalInterval]] | None = None,
    ) -> Saved:
        return self._change_schedule(practice_id, clinician_id, lambda s: s.set_working_hours(hours, breaks))

    def add_closure(self, practice_id: UUID, clinician_id: UUID, first: date, last: date, reason_code: str) -> Saved:
        return self._change_schedule(practice_id, clinician_id, lambda s: s.close(first, last, reason_code))

    def remove_closure(self, practice_id: UUID, clinician_id: UUID, first: date, last: date) -> Saved:
        return self._change_schedule(practice_id, clinician_id, lambda s: s.reopen(first, last))

    def add_holiday(self, practice_id: UUID, clinician_id: UUID, month: int, day: int, reason_code: str) -> Saved:
        return self._change_schedule(practice_id, clinician_id, lambda s: s.add_holiday(month, day, reason_code))

    def remove_holiday(self, practice_id: UUID, clinician_id: UUID, month: int, day: int) -> Saved:
        return self._change_schedule(practice_id, clinician_id, lambda s: s.remove_holiday(month, day))

    def _change_schedule(
        self, practice_id: UUID, clinician_id: UUID, change: Callable[[ClinicianSchedule], None]
    ) -> Saved:
        self._check_own_schedule(clinician_id)

        def attempt() -> Saved:
            schedule = self.schedule(practice_id, clinician_id)
            change(schedule)
            return self.store.save_one(schedule)

        with self._serialised(clinician_id):
            return _retrying(attempt)

    # --- availability -------------------------------------------------------------------------

    def free_slots(
        self, practice_id: UUID, clinician_id: UUID, appointment_type: str, date_from: date, date_to: date,
        step_minutes: int = 15,
    ) -> list[UtcInterval]:
        if (date_to - date_from).days > 62:
            raise InvalidCommand("Ask for at most 62 days of slots at a time.", field="to")
        practice = self.practice(practice_id)
        kind = practice.appointment_type(appointment_type)
        schedule = self.schedule(practice_id, clinician_id)
        return free_slots(
            working_hours=schedule.working_hours, breaks=schedule.breaks, closures=schedule.closures,
            busy=schedule.busy(), appointment_type=kind, time_zone=practice.time_zone,
            date_from=date_from, date_to=date_to, now=self.clock.now(), step_minutes=step_minutes,
        )

    # --- booking ------------------------------------------------------------------------------

    def book(self, practice_id: UUID, booking: Booking, appointment_id: UUID | None = None) -> Saved:
        now = self.clock.now()
        practice = self.practice(practice_id)
        kind = practice.appointment_type(booking.appointment_type)
        client = self._bookable_client(practice_id, booking.client_id, booking.clinician_id)
        self.clinician(practice_id, booking.clinician_id)
        start = as_utc(booking.starts_at, "starts_at")
        modality = booking.modality or kind.modality
        _check_consents(client, practice, modality, start)
        new_id = appointment_id or uuid4()

        def attempt() -> Saved:
            schedule = self.schedule(practice_id, booking.clinician_id)
            appointment = self._new_appointment(
                practice, schedule, kind, client.id, start, modality, booking.allow_outside_hours, now, new_id,
            )
            recordings = self.store.save(appointment, schedule)
            return Saved(appointment.id, appointment.version, max(r.notification.id for r in recordings))

        with self._serialised(booking.clinician_id):
            return _retrying(attempt)

    def _bookable_client(self, practice_id: UUID, client_id: UUID, clinician_id: UUID) -> Client:
        client = self._client(practice_id, client_id)
        grant = access.current()
        if grant is not None and not grant.sees(client.id, client.care_team) and clinician_id not in grant.team_ids:
            raise access.OutsideCaseload("This client is outside your caseload.")
        if client.erased or client.status == "discharged":
            raise IllegalTransition(f"A {'erased' if client.erased else 'discharged'} client cannot be booked.")
        return client

    def _new_appointment(
        self, practice: Practice, schedule: ClinicianSchedule, kind: AppointmentType, client_id: UUID,
        start: datetime, modality: str, outside_hours_ok: bool, now: datetime, appointment_id: UUID,
        series_id: UUID | None = None, rescheduled_from: UUID | None = None,
    ) -> Appointment:
        """The appointment, with its time reserved on `schedule` (SlotTaken when it is held)."""
        end = start + kind.duration
        if start <= now:
            raise InvalidCommand("An appointment is booked before it starts.", field="starts_at")
        if start.second or start.microsecond:
            raise InvalidCommand("An appointment starts on a whole minute.", field="starts_at")
        if not outside_hours_ok:
            _check_bookable(practice, schedule, kind, start, end, now)
        appointment = Appointment.book(
            practice.id, client_id, schedule.clinician_id, kind.code, modality, start, end,
            series_id=series_id, rescheduled_from=rescheduled_from, appointment_id=appointment_id, booked_at=now,
        )
        schedule.reserve(appointment.id, start, end, kind.buffer_before, kind.buffer_after, now)
        return appointment

    def book_series(self, practice_id: UUID, request: SeriesRequest) -> SeriesBooked:
        """All occurrences or none: every collision is listed in the refusal."""
        now = self.clock.now()
        practice = self.practice(practice_id)
        kind = practice.appointment_type(request.appointment_type)
        client = self._bookable_client(practice_id, request.client_id, request.clinician_id)
        self.clinician(practice_id, request.clinician_id)
        modality = request.modality or kind.modality
        occurrences = expand(
            first_day=request.first_day, start_time=request.start_time, duration=kind.duration,
            time_zone=practice.time_zone, frequency=request.frequency, count=request.count, until=request.until,
        )
        series_id = uuid4()
        ids = [uuid4() for _ in occurrences]

        def attempt() -> SeriesBooked:
            schedule = self.schedule(practice_id, request.clinician_id)
            appointments: list[Appointment] = []
            conflicts: list[dict[str, Any]] = []
            for appointment_id, (start, _) in zip(ids, occurrences, strict=True):
                try:
                    _check_consents(client, practice, modality, start)
                    appointments.append(self._new_appointment(
                        practice, schedule, kind, client.id, start, modality, False, now, appointment_id,
                        series_id=series_id,
                    ))
                except (SlotTaken, InvalidCommand) as e:
                    conflicts.append({"starts_at": start.isoformat(), "code": e.code, "reason": e.message})
            if conflicts:
                raise SeriesConflicts(
                    f"{len(conflicts)} of {len(occurrences)} occurrences cannot be booked; nothing was booked.",
                    conflicts=conflicts,
                )
            series = AppointmentSeries.book(
                series_id, practice_id, client.id, request.clinician_id, request.frequency,
                [(a.id, a.starts_at) for a in appointments],
            )
            recordings = self.store.save(*appointments, schedule, series)
            return SeriesBooked(series_id, [a.id for a in appointments], max(r.notification.id for r in recordings))

        with self._serialised(request.clinician_id):
            return _retrying(attempt)

    # --- lifecycle ----------------------------------------------------------------------------

    def confirm(self, practice_id: UUID, appointment_id: UUID) -> Saved:
        return self._change(practice_id, appointment_id, lambda a: a.confirm())

    def check_in(self, practice_id: UUID, appointment_id: UUID) -> Saved:
        return self._change(practice_id, appointment_id, lambda a: a.check_in(self.clock.now()))

    def complete(self, practice_id: UUID, appointment_id: UUID) -> Saved:
        return self._change(practice_id, appointment_id, lambda a: a.complete(self.clock.now()))

    def no_show(self, practice_id: UUID, appointment_id: UUID) -> Saved:
        return self._change(practice_id, appointment_id, lambda a: a.mark_no_show(self.clock.now()))

    def flag_unrecorded(self, practice_id: UUID, appointment_id: UUID) -> bool:
        """The data-quality alert for a visit still open a day after it began; False if not due."""
        appointment = self.appointment(practice_id, appointment_id)
        if not appointment.flag_unrecorded(self.clock.now()):
            return False
        self.store.save(appointment)
        return True

    def _change(self, practice_id: UUID, appointment_id: UUID, change: Callable[[Appointment], None]) -> Saved:
        appointment = self.appointment(practice_id, appointment_id)
        change(appointment)
        return self.store.save_one(appointment)

    def cancel(self, practice_id: UUID, appointment_id: UUID, by: str, reason_code: str) -> Saved:
        now = self.clock.now()
        practice = self.practice(practice_id)

        def attempt() -> Saved:
            appointment = self.appointment(practice_id, appointment_id)
            appointment.cancel(by, reason_code, now, practice.scheduling.late_window)
            schedule = self.schedule(practice_id, appointment.clinician_id)
            schedule.release(appointment.id)
            with audit.because(reason_code):
                recordings = self.store.save(appointment, schedule)
            self._offer(practice_id, appointment)
            return Saved(appointment.id, appointment.version, max(r.notification.id for r in recordings))

        return _retrying(attempt)

    def cancel_rest_of_series(self, practice_id: UUID, appointment_id: UUID, by: str, reason_code: str) -> list[UUID]:
        """Cancel this occurrence and every later open one of its series; returns the cancelled ids."""
        now = self.clock.now()
        practice = self.practice(practice_id)
        first = self.appointment(practice_id, appointment_id)
        if first.series_id is None:
            raise InvalidCommand("This appointment is not part of a series.", field="appointment_id")
        series: AppointmentSeries = self.store.load(first.series_id, AppointmentSeries)

        def attempt() -> list[UUID]:
            schedule = self.schedule(practice_id, first.clinician_id)
            cancelled: list[Appointment] = []
            for occurrence_id in series.from_occurrence(appointment_id):
                appointment: Appointment = self.store.load(occurrence_id, Appointment)
                if appointment.status not in {"scheduled", "confirmed"}:
                    continue
                appointment.cancel(by, reason_code, now, practice.scheduling.late_window)
                schedule.release(appointment.id)
                cancelled.append(appointment)
            if not cancelled:
                raise IllegalTransition("No open occurrence is left to cancel.")
            with audit.because(reason_code):
                self.store.save(*cancelled, schedule)
            for appointment in cancelled:
                self._offer(practice_id, appointment)
            return [a.id for a in cancelled]

        return _retrying(attempt)

    def reschedule(
        self, practice_id: UUID, appointment_id: UUID, starts_at: datetime, by: str, reason_code: str,
        clinician_id: UUID | None = None, allow_outside_hours: bool = False,
    ) -> Saved:
        """Book the replacement and close the original in one transaction; returns the replacement."""
        now = self.clock.now()
        practice = self.practice(practice_id)
        original = self.appointment(practice_id, appointment_id)
        target = clinician_id or original.clinician_id
        self.clinician(practice_id, target)
        kind = practice.appointment_type(original.appointment_type)
        client = self._client(practice_id, original.client_id)
        start = as_utc(starts_at, "starts_at")
        _check_consents(client, practice, original.modality, start)
        new_id = uuid4()

        def attempt() -> Saved:
            old = self.appointment(practice_id, appointment_id)
            old_schedule = self.schedule(practice_id, old.clinician_id)
            new_schedule = old_schedule if target == old.clinician_id else self.schedule(practice_id, target)
            old.reschedule(new_id, by, reason_code, now, practice.scheduling.late_window)
            old_schedule.release(old.id)  # the new time may overlap the old one
            replacement = self._new_appointment(
                practice, new_schedule, kind, old.client_id, start, old.modality, allow_outside_hours, now, new_id,
                series_id=old.series_id, rescheduled_from=old.id,
            )
            schedules = [old_schedule] if new_schedule is old_schedule else [old_schedule, new_schedule]
            with audit.because(reason_code):
                recordings = self.store.save(old, replacement, *schedules)
            self._offer(practice_id, old)
            return Saved(replacement.id, replacement.version, max(r.notification.id for r in recordings))

        with self._serialised(original.clinician_id, target):
            return _retrying(attempt)

    def _offer(self, practice_id: UUID, freed: Appointment) -> None:
        if self.freed is not None and freed.starts_at > self.clock.now():
            self.freed.offer_freed_slot(
                practice_id, freed.clinician_id, freed.appointment_type, freed.starts_at, freed.ends_at
            )


def _check_consents(client: Client, practice: Practice, modality: str, start: datetime) -> None:
    check_booking_consents(
        date_of_birth=client.demographics["date_of_birth"], modality=modality, starts_at=start,
        time_zone=practice.time_zone, consents=list(client.consents.values()),
    )


def _check_bookable(
    practice: Practice, schedule: ClinicianSchedule, kind: AppointmentType, start: datetime, end: datetime,
    now: datetime,
) -> None:
    """Within working hours, outside breaks and closures, with the type's notice and window.

    Asks `free_slots` for the appointment's own local day on a one-minute grid, with no busy
    time: overlaps with other bookings are the schedule's to refuse, as a 409 rather than a 422.
    """
    local_day = start.astimezone(zone(practice.time_zone)).date()
    open_slots = free_slots(
        working_hours=schedule.working_hours, breaks=schedule.breaks, closures=schedule.closures, busy=(),
        appointment_type=kind, time_zone=practice.time_zone, date_from=local_day, date_to=local_day, now=now,
        step_minutes=1,
    )
    if (start, end) in open_slots:
        return
    if start < now + kind.min_notice:
        raise InvalidCommand(f"{kind.name} needs {kind.min_notice_hours} hours' notice.", field="starts_at")
    if start > now + kind.booking_window:
        raise InvalidCommand(
            f"{kind.name} can be booked at most {kind.booking_window_days} days ahead.", field="starts_at"
        )
    raise OutsideWorkingHours(
        "That time is outside the clinician's working hours, in a break or on a closed day.", field="starts_at"
    )


def _retrying(attempt: Callable[[], T]) -> T:
    """A real collision shows as a domain error after a reload; only a schedule kept busy past
    every attempt is refused as a plain conflict."""
    try:
        return retrying(attempt, ATTEMPTS)
    except IntegrityError:
        raise Conflict("The schedule is busy with other changes; please try again.") from None

