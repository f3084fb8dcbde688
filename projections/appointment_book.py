"""The appointment book: every appointment as it stands now.

One row per appointment, keyed by id and updated by its events, behind the clinician and practice
calendars, a client's appointment history, the front desk's today board, the .ics feeds and the
sweep that flags visits left open. It holds ids, codes and times only; names are looked up (and
their reading recorded) by the API that shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.scheduling.appointment import Appointment
from projections.base import View

OPEN_STATUSES = ("scheduled", "confirmed", "checked_in")
COLUMNS = (
    "appointment_id, practice_id, client_id, clinician_id, appointment_type, modality, starts_at, ends_at, status, "
    "series_id, rescheduled_from, replacement_id, booked_at, cancelled_by, late, unrecorded_at, version, changed_at"
)


@dataclass(frozen=True)
class AppointmentRow:
    appointment_id: UUID
    practice_id: UUID
    client_id: UUID
    clinician_id: UUID
    appointment_type: str
    modality: str
    starts_at: datetime
    ends_at: datetime
    status: str
    series_id: UUID | None
    rescheduled_from: UUID | None
    replacement_id: UUID | None
    booked_at: datetime
    cancelled_by: str | None
    late: bool
    unrecorded_at: datetime | None
    version: int
    changed_at: datetime


def _row(r: dict[str, Any]) -> AppointmentRow:
    return AppointmentRow(**r)


class AppointmentBookView(View):
    tables = ("appointment_book",)

    def _select(self, where: str, params: tuple[Any, ...], limit: int = 2000) -> list[AppointmentRow]:
        sql = f"SELECT {COLUMNS} FROM appointment_book WHERE {where} ORDER BY starts_at, appointment_id LIMIT %s"
        return [_row(r) for r in self.query(sql, (*params, limit))]

    def get(self, practice_id: UUID, appointment_id: UUID) -> AppointmentRow | None:
        rows = self._select("practice_id = %s AND appointment_id = %s", (practice_id, appointment_id))
        return rows[0] if rows else None

    def clinician_calendar(
        self, practice_id: UUID, clinician_id: UUID, start: datetime, end: datetime
    ) -> list[AppointmentRow]:
        return self._select(
            "clinician_id = %s AND practice_id = %s AND starts_at < %s AND ends_at > %s",
            (clinician_id, practice_id, end, start),
        )

    def practice_calendar(
        self, practice_id: UUID, start: datetime, end: datetime,
        clinician_ids: frozenset[UUID] | None = None, client_ids: frozenset[UUID] | None = None,
    ) -> list[AppointmentRow]:
        where, params = "practice_id = %s AND starts_at < %s AND ends_at > %s", [practice_id, end, start]
        if clinician_ids is not None:
            where += " AND clinician_id = ANY(%s)"
            params.append(list(clinician_ids))
        if client_ids is not None:
            where += " AND client_id = ANY(%s)"
            params.append(list(client_ids))
        return self._select(where, tuple(params))

    def client_history(self, practice_id: UUID, client_id: UUID, limit: int = 500) -> list[AppointmentRow]:
        return self._select("client_id = %s AND practice_id = %s", (client_id, practice_id), limit)

    def next_open(self, practice_id: UUID, client_id: UUID, after: datetime) -> AppointmentRow | None:
        rows = self._select(
            "client_id = %s AND practice_id = %s AND status IN ('scheduled', 'confirmed') AND starts_at > %s",
            (client_id, practice_id, after), 1,
        )
        return rows[0] if rows else None

    def unrecorded(self, practice_id: UUID, limit: int = 200) -> list[AppointmentRow]:
        """Flagged visits (open a day after they began) whose attendance is still not recorded."""
        return self._select(
            "practice_id = %s AND unrecorded_at IS NOT NULL AND status IN ('scheduled', 'confirmed', 'checked_in')",
            (practice_id,), limit,
        )

    def left_open(self, started_before: datetime, limit: int = 500) -> list[AppointmentRow]:
        """Visits still open that began before `started_before` and were not flagged yet."""
        return self._select(
            "status IN ('scheduled', 'confirmed', 'checked_in') AND unrecorded_at IS NULL AND starts_at < %s",
            (started_before,), limit,
        )


class AppointmentBook(Projection[AppointmentBookView]):
    name = "appointments"
    topics = (
        Appointment.Booked.TOPIC, Appointment.Confirmed.TOPIC, Appointment.CheckedIn.TOPIC,
        Appointment.Completed.TOPIC, Appointment.MarkedNoShow.TOPIC, Appointment.Cancelled.TOPIC,
        Appointment.Rescheduled.TOPIC, Appointment.AttendanceUnrecorded.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    def _update(self, e: Any, assignments: str, params: tuple[Any, ...] = ()) -> None:
        self.view.curs.execute(
            f"UPDATE appointment_book SET {assignments}, version = %s, changed_at = %s "
            "WHERE appointment_id = %s",
            (*params, e.originator_version, e.timestamp, e.originator_id),
        )

    @process_event.register
    def _(self, e: Appointment.Booked, tracking: Tracking) -> None:
        self.view.curs.execute(
            f"INSERT INTO appointment_book ({COLUMNS}) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, 'scheduled', %s, %s, NULL, %s, NULL, false, NULL, %s, %s) "
            "ON CONFLICT (appointment_id) DO NOTHING",
            (e.originator_id, e.practice_id, e.client_id, e.clinician_id, e.appointment_type, e.modality,
             e.starts_at, e.ends_at, e.series_id, e.rescheduled_from, e.booked_at, e.originator_version, e.timestamp),
        )

    @process_event.register
    def _(self, e: Appointment.Confirmed, tracking: Tracking) -> None:
        self._update(e, "status = 'confirmed'")

    @process_event.register
    def _(self, e: Appointment.CheckedIn, tracking: Tracking) -> None:
        self._update(e, "status = 'checked_in'")

    @process_event.register
    def _(self, e: Appointment.Completed, tracking: Tracking) -> None:
        self._update(e, "status = 'completed'")

    @process_event.register
    def _(self, e: Appointment.MarkedNoShow, tracking: Tracking) -> None:
        self._update(e, "status = 'no_show'")

    @process_event.register
    def _(self, e: Appointment.Cancelled, tracking: Tracking) -> None:
        self._update(e, "status = 'cancelled', cancelled_by = %s, late = %s", (e.by, e.late))

    @process_event.register
    def _(self, e: Appointment.Rescheduled, tracking: Tracking) -> None:
        self._update(
            e, "status = 'rescheduled', cancelled_by = %s, late = %s, replacement_id = %s",
            (e.by, e.late, e.replacement_id),
        )

    @process_event.register
    def _(self, e: Appointment.AttendanceUnrecorded, tracking: Tracking) -> None:
        self._update(e, "unrecorded_at = %s", (e.at,))
