"""Calendars (clinician and practice, day/week/month), a client's appointment history and the
front desk's today board. Rows come from the appointment book; client names from the client
directory, and every name shown is recorded as a PHI read."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from application import access
from application.clients import Read
from application.errors import Unavailable
from domain.identity.permissions import Scope
from domain.scheduling.metrics import period_bounds
from domain.scheduling.working_time import local_to_utc, zone
from interfaces.container import Container
from interfaces.http.deps import Caller, ContainerDep, ViewAppointments
from interfaces.http.scheduling_schemas import CalendarEntry, CalendarOut, TodayBoardOut
from projections.appointment_book import AppointmentRow

router = APIRouter(prefix="/api/v1", tags=["calendars"])
View = Literal["day", "week", "month"]
MinPosition = Annotated[int | None, Query(ge=0, description="Wait for this log position")]


def _caught_up(k: Container, min_position: int | None) -> None:
    if min_position and not k.appointment_book.caught_up_to(k.store.name, min_position):
        raise Unavailable("The appointment book has not caught up yet; retry shortly.")


def _window(view: View, day: date, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local day, ISO week (Monday first) or month holding `day`."""
    first, last = period_bounds(view, day)
    tz = zone(time_zone)
    return local_to_utc(first, time(0), tz), local_to_utc(last + timedelta(days=1), time(0), tz)


def _entries(k: Container, caller: Caller, rows: list[AppointmentRow], endpoint: str) -> list[CalendarEntry]:
    client_ids = sorted({r.client_id for r in rows})
    names: dict[UUID, str] = {}
    if client_ids:
        scope = access.list_filter()
        page = k.client_directory.search(
            caller.practice_id, only_clients=client_ids, care_team_any=scope.care_team_any, limit=len(client_ids),
        )
        names = {c.client_id: f"{c.first_name} {c.last_name}" for c in page.items if not c.erased}
        k.clients.record_reads(caller.practice_id, sorted(names), Read(endpoint, "operations"))
    return [
        CalendarEntry(
            id=r.appointment_id, client_id=r.client_id, client_name=names.get(r.client_id),
            clinician_id=r.clinician_id, appointment_type=r.appointment_type, modality=r.modality,
            starts_at=r.starts_at, ends_at=r.ends_at, status=r.status, late=r.late,
            attendance_unrecorded=r.unrecorded_at is not None,
        )
        for r in rows
    ]


def _scope(caller: Caller) -> tuple[frozenset[UUID] | None, frozenset[UUID] | None]:
    """(clinicians, clients) a list narrows to: none for practice roles, the member and their
    supervisees for caseload roles, the linked records for portal members."""
    grant = caller.grant
    clinicians = None if grant.scope in {Scope.PRACTICE, Scope.OWN_RECORD} else grant.team_ids
    clients = grant.client_ids if grant.scope is Scope.OWN_RECORD else None
    return clinicians, clients


@router.get("/calendar/clinicians/{clinician_id}", response_model=CalendarOut)
def clinician_calendar(
    clinician_id: UUID, caller: ViewAppointments, k: ContainerDep, view: View = "week", date: date | None = None,
    min_position: MinPosition = None,
) -> CalendarOut:
    """The clinician's appointments in the local day/week/month holding `date` (default today)."""
    k.scheduling.clinician(caller.practice_id, clinician_id)
    k.scheduling.check_calendar_scope(clinician_id)
    _caught_up(k, min_position)
    practice = k.scheduling.practice(caller.practice_id)
    day = date or k.clock.now().astimezone(zone(practice.time_zone)).date()
    start, end = _window(view, day, practice.time_zone)
    rows = k.appointment_book.clinician_calendar(caller.practice_id, clinician_id, start, end)
    entries = _entries(k, caller, rows, "GET /api/v1/calendar/clinicians/{id}")
    return CalendarOut(view=view, time_zone=practice.time_zone, start=start, end=end, entries=entries)


@router.get("/calendar/practice", response_model=CalendarOut)
def practice_calendar(
    caller: ViewAppointments, k: ContainerDep, view: View = "day", date: date | None = None,
    min_position: MinPosition = None,
) -> CalendarOut:
    """Every clinician's appointments (caseload roles: their own and supervisees'; portal members:
    their own records')."""
    _caught_up(k, min_position)
    practice = k.scheduling.practice(caller.practice_id)
    day = date or k.clock.now().astimezone(zone(practice.time_zone)).date()
    start, end = _window(view, day, practice.time_zone)
    clinicians, clients = _scope(caller)
    rows = k.appointment_book.practice_calendar(caller.practice_id, start, end, clinicians, clients)
    entries = _entries(k, caller, rows, "GET /api/v1/calendar/practice")
    return CalendarOut(view=view, time_zone=practice.time_zone, start=start, end=end, entries=entries)


@router.get("/clients/{client_id}/appointments", response_model=list[CalendarEntry])
def client_history(
    client_id: UUID, caller: ViewAppointments, k: ContainerDep, min_position: MinPosition = None
) -> list[CalendarEntry]:
    """The client's appointments, oldest first, every status (rescheduled ones link forward)."""
    k.scheduling.client_in_scope(caller.practice_id, client_id)
    _caught_up(k, min_position)
    rows = k.appointment_book.client_history(caller.practice_id, client_id)
    return _entries(k, caller, rows, "GET /api/v1/clients/{id}/appointments")


@router.get("/front-desk/today", response_model=TodayBoardOut)
def today_board(
    caller: ViewAppointments, k: ContainerDep, date: date | None = None, min_position: MinPosition = None
) -> TodayBoardOut:
    """The day's visits with counts by status, and visits left open a day after they began: the
    whole practice for the front desk; caseload roles see their own (and supervisees') visits."""
    _caught_up(k, min_position)
    practice = k.scheduling.practice(caller.practice_id)
    day = date or k.clock.now().astimezone(zone(practice.time_zone)).date()
    start, end = _window("day", day, practice.time_zone)
    clinicians, clients = _scope(caller)
    rows = k.appointment_book.practice_calendar(caller.practice_id, start, end, clinicians, clients)
    open_rows = [
        r for r in k.appointment_book.unrecorded(caller.practice_id)
        if (clinicians is None or r.clinician_id in clinicians) and (clients is None or r.client_id in clients)
    ]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return TodayBoardOut(
        date=day, time_zone=practice.time_zone, counts=counts,
        entries=_entries(k, caller, rows, "GET /api/v1/front-desk/today"),
        unrecorded=_entries(k, caller, open_rows, "GET /api/v1/front-desk/today"),
    )
