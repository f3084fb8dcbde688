"""A clinician's working hours, breaks, closures and yearly holidays (practice-local time)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from application.store import Saved
from domain.scheduling.schedule import ClinicianSchedule
from domain.scheduling.working_time import WEEKDAYS
from interfaces.http.deps import ContainerDep, EditAppointments, ViewAppointments
from interfaces.http.scheduling_schemas import ClosureIn, HolidayIn, HoursIn, ScheduleOut
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1/clinicians/{clinician_id}/schedule", tags=["schedules"])


def _accepted(saved: Saved) -> Accepted:
    return Accepted(id=saved.id, version=saved.version, position=saved.position)


def _out(schedule: ClinicianSchedule, time_zone: str) -> ScheduleOut:
    return ScheduleOut(
        clinician_id=schedule.clinician_id, time_zone=time_zone,
        hours={WEEKDAYS[d]: list(v) for d, v in sorted(schedule.working_hours.items())},
        breaks={WEEKDAYS[d]: list(v) for d, v in sorted(schedule.breaks.items())},
        closures=sorted(schedule.closed_ranges), holidays=sorted(schedule.holidays),
    )


@router.get("", response_model=ScheduleOut)
def get_schedule(clinician_id: UUID, caller: ViewAppointments, k: ContainerDep) -> ScheduleOut:
    practice = k.scheduling.practice(caller.practice_id)
    return _out(k.scheduling.schedule(caller.practice_id, clinician_id), practice.time_zone)


@router.put("/working-hours", response_model=Accepted)
def set_working_hours(clinician_id: UUID, body: HoursIn, caller: EditAppointments, k: ContainerDep) -> Accepted:
    """Replaces the weekly hours and breaks; days left out are days off."""
    hours = {WEEKDAYS.index(day): spans for day, spans in body.hours.items()}
    breaks = {WEEKDAYS.index(day): spans for day, spans in body.breaks.items()}
    return _accepted(k.scheduling.set_working_hours(caller.practice_id, clinician_id, hours, breaks))


@router.post("/closures", response_model=Accepted)
def add_closure(clinician_id: UUID, body: ClosureIn, caller: EditAppointments, k: ContainerDep) -> Accepted:
    """One local date or a range (both ends included): no slots, no bookings inside hours."""
    last = body.last_day or body.first_day
    return _accepted(k.scheduling.add_closure(caller.practice_id, clinician_id, body.first_day, last, body.reason_code))


@router.post("/closures/remove", response_model=Accepted)
def remove_closure(clinician_id: UUID, body: ClosureIn, caller: EditAppointments, k: ContainerDep) -> Accepted:
    last = body.last_day or body.first_day
    return _accepted(k.scheduling.remove_closure(caller.practice_id, clinician_id, body.first_day, last))


@router.post("/holidays", response_model=Accepted)
def add_holiday(clinician_id: UUID, body: HolidayIn, caller: EditAppointments, k: ContainerDep) -> Accepted:
    """Closed on this month and day every year."""
    return _accepted(k.scheduling.add_holiday(caller.practice_id, clinician_id, body.month, body.day, body.reason_code))


@router.post("/holidays/remove", response_model=Accepted)
def remove_holiday(clinician_id: UUID, body: HolidayIn, caller: EditAppointments, k: ContainerDep) -> Accepted:
    return _accepted(k.scheduling.remove_holiday(caller.practice_id, clinician_id, body.month, body.day))
