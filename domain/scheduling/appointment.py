"""The Appointment aggregate: one booked visit of a client with a clinician.

scheduled -> confirmed -> checked_in -> completed, with the exits no_show (from scheduled or
confirmed, once the start has passed), cancelled and rescheduled. The front desk may record a
completion after the fact without a check-in (seed 001, data-quality rule 1), but never before
the appointment starts. A reschedule closes this appointment and points at its replacement, which
the caller books as a new Appointment with `rescheduled_from`; holding the clinician's time is
the ClinicianSchedule's job, saved together with the appointment.

Every event names the client (`subject_field = "client_id"`), so it belongs to the client's
history; no event carries free text, so none has PHI fields.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.scheduling.appointment_types import CODE, MODALITIES
from domain.scheduling.working_time import as_utc

CANCELLED_BY = ("client", "practice")
OPEN = frozenset({"scheduled", "confirmed"})
CLOSED = frozenset({"completed", "no_show", "cancelled", "rescheduled"})


class NotYetStarted(IllegalTransition):
    code = "appointment_not_started"


class AppointmentEvent(Aggregate.Event, Audited):
    subject_field: ClassVar[str | None] = "client_id"
    client_id: UUID


class Appointment(Aggregate):
    TOPIC = "careledger/appointment"

    class Created(Aggregate.Created):
        TOPIC = "careledger/appointment/created"

    class Booked(Created, AppointmentEvent):
        TOPIC = "careledger/appointment/booked"
        practice_id: UUID
        client_id: UUID
        clinician_id: UUID
        appointment_type: str
        modality: str
        starts_at: datetime
        ends_at: datetime
        series_id: UUID | None
        rescheduled_from: UUID | None
        booked_at: datetime

    class Confirmed(AppointmentEvent):
        TOPIC = "careledger/appointment/confirmed"

    class CheckedIn(AppointmentEvent):
        TOPIC = "careledger/appointment/checked-in"
        at: datetime

    class Completed(AppointmentEvent):
        TOPIC = "careledger/appointment/completed"
        at: datetime

    class MarkedNoShow(AppointmentEvent):
        TOPIC = "careledger/appointment/marked-no-show"
        at: datetime

    class Cancelled(AppointmentEvent):
        TOPIC = "careledger/appointment/cancelled"
        by: str  # "client" | "practice"
        reason_code: str  # coded, never free text that could carry PHI
        late: bool
        at: datetime

    class AttendanceUnrecorded(AppointmentEvent):
        """Seed 001 data-quality rule 1: still open 24 hours after the start. For the front desk."""

        TOPIC = "careledger/appointment/attendance-unrecorded"
        at: datetime

    class Rescheduled(AppointmentEvent):
        TOPIC = "careledger/appointment/rescheduled"
        replacement_id: UUID
        by: str
        reason_code: str
        late: bool
        at: datetime

    @classmethod
    def book(
        cls,
        practice_id: UUID,
        client_id: UUID,
        clinician_id: UUID,
        appointment_type: str,
        modality: str,
        starts_at: datetime,
        ends_at: datetime,
        series_id: UUID | None = None,
        rescheduled_from: UUID | None = None,
        appointment_id: UUID | None = None,
        *,
        booked_at: datetime,
    ) -> Appointment:
        """Checks the booking's own fields; free time, consents and notice are checked by the
        caller with ClinicianSchedule, `free_slots` and `check_booking_consents`."""
        if not CODE.match(appointment_type):
            raise InvalidCommand(f"Unknown appointment type {appointment_type!r}.", field="appointment_type")
        if modality not in MODALITIES:
            raise InvalidCommand(f"Unknown modality {modality!r}.", field="modality", allowed=list(MODALITIES))
        start, end = as_utc(starts_at, "starts_at"), as_utc(ends_at, "ends_at")
        if end <= start:
            raise InvalidCommand("An appointment ends after it starts.", field="ends_at")
        if end - start > timedelta(hours=12):
            raise InvalidCommand("An appointment lasts at most 12 hours.", field="ends_at")
        if rescheduled_from is not None and rescheduled_from == appointment_id:
            raise InvalidCommand("An appointment cannot replace itself.", field="rescheduled_from")
        fields: dict[str, Any] = {
            "practice_id": practice_id,
            "client_id": client_id,
            "clinician_id": clinician_id,
            "appointment_type": appointment_type,
            "modality": modality,
            "starts_at": start,
            "ends_at": end,
            "series_id": series_id,
            "rescheduled_from": rescheduled_from,
            "booked_at": as_utc(booked_at, "booked_at"),
        }
        if appointment_id is not None:
            return cls._create(cls.Booked, id=appointment_id, **fields)
        return cls(**fields)

    @event(Booked)
    def __init__(
        self,
        practice_id: UUID,
        client_id: UUID,
        clinician_id: UUID,
        appointment_type: str,
        modality: str,
        starts_at: datetime,
        ends_at: datetime,
        series_id: UUID | None,
        rescheduled_from: UUID | None,
        booked_at: datetime,
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.clinician_id = clinician_id
        self.appointment_type = appointment_type
        self.modality = modality
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.series_id = series_id
        self.rescheduled_from = rescheduled_from
        self.booked_at = booked_at
        self.status = "scheduled"
        self.replacement_id: UUID | None = None
        self.cancelled_by: str | None = None
        self.late = False
        self.unrecorded_flagged = False

    # --- lifecycle ----------------------------------------------------------------------------

    def _require(self, allowed: frozenset[str], action: str) -> None:
        if self.status not in allowed:
            raise IllegalTransition(
                f"A {self.status} appointment cannot be {action}.", status=self.status, allowed=sorted(allowed)
            )

    def _require_started(self, now: datetime, action: str) -> datetime:
        at = as_utc(now, "now")
        if at < self.starts_at:
            raise NotYetStarted(f"An appointment cannot be {action} before it starts.", status=self.status)
        return at

    def confirm(self) -> None:
        self._require(frozenset({"scheduled"}), "confirmed")
        self._confirmed(client_id=self.client_id)

    @event(Confirmed)
    def _confirmed(self, client_id: UUID) -> None:
        self.status = "confirmed"

    def check_in(self, now: datetime) -> None:
        self._require(OPEN, "checked in")
        self._checked_in(client_id=self.client_id, at=as_utc(now, "now"))

    @event(CheckedIn)
    def _checked_in(self, client_id: UUID, at: datetime) -> None:
        self.status = "checked_in"

    def complete(self, now: datetime) -> None:
        self._require(OPEN | {"checked_in"}, "completed")
        self._completed(client_id=self.client_id, at=self._require_started(now, "completed"))

    @event(Completed)
    def _completed(self, client_id: UUID, at: datetime) -> None:
        self.status = "completed"

    def mark_no_show(self, now: datetime) -> None:
        self._require(OPEN, "marked a no-show")
        self._marked_no_show(client_id=self.client_id, at=self._require_started(now, "marked a no-show"))

    @event(MarkedNoShow)
    def _marked_no_show(self, client_id: UUID, at: datetime) -> None:
        self.status = "no_show"

    def is_late(self, now: datetime, late_window: timedelta) -> bool:
        """Late means less than `late_window` (the practice's policy, e.g. 24 hours) before the start."""
        return self.starts_at - as_utc(now, "now") < late_window

    def cancel(self, by: str, reason_code: str, now: datetime, late_window: timedelta) -> None:
        self._require(OPEN | {"checked_in"}, "cancelled")
        _check_party(by, reason_code)
        self._cancelled(
            client_id=self.client_id, by=by, reason_code=reason_code,
            late=self.is_late(now, late_window), at=as_utc(now, "now"),
        )

    @event(Cancelled)
    def _cancelled(self, client_id: UUID, by: str, reason_code: str, late: bool, at: datetime) -> None:
        self.status = "cancelled"
        self.cancelled_by = by
        self.late = late

    def reschedule(
        self, replacement_id: UUID, by: str, reason_code: str, now: datetime, late_window: timedelta
    ) -> None:
        """Close this appointment in favour of `replacement_id`; a late reschedule is flagged like a
        late cancellation, so a practice's policy can treat the two alike."""
        self._require(OPEN, "rescheduled")
        _check_party(by, reason_code)
        if replacement_id == self.id:
            raise InvalidCommand("An appointment cannot replace itself.", field="replacement_id")
        self._rescheduled(
            client_id=self.client_id, replacement_id=replacement_id, by=by, reason_code=reason_code,
            late=self.is_late(now, late_window), at=as_utc(now, "now"),
        )

    @event(Rescheduled)
    def _rescheduled(
        self, client_id: UUID, replacement_id: UUID, by: str, reason_code: str, late: bool, at: datetime
    ) -> None:
        self.status = "rescheduled"
        self.replacement_id = replacement_id
        self.cancelled_by = by
        self.late = late

    UNRECORDED_AFTER = timedelta(hours=24)

    def flag_unrecorded(self, now: datetime) -> bool:
        """Raise the data-quality alert once, when the visit is still open 24 hours after it began;
        False when there is nothing to flag."""
        at = as_utc(now, "now")
        if self.unrecorded_flagged or self.closed or at < self.starts_at + self.UNRECORDED_AFTER:
            return False
        self._attendance_unrecorded(client_id=self.client_id, at=at)
        return True

    @event(AttendanceUnrecorded)
    def _attendance_unrecorded(self, client_id: UUID, at: datetime) -> None:
        self.unrecorded_flagged = True

    @property
    def closed(self) -> bool:
        return self.status in CLOSED


def _check_party(by: str, reason_code: str) -> None:
    if by not in CANCELLED_BY:
        raise InvalidCommand(f"Unknown party {by!r}.", field="by", allowed=list(CANCELLED_BY))
    if not CODE.match(reason_code):
        raise InvalidCommand("A reason is a code such as 'illness' or 'schedule_conflict'.", field="reason_code")
