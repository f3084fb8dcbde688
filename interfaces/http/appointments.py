"""Appointments: book (one or a series), read, and move through the lifecycle."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from application.scheduling.booking import Booking, SeriesRequest
from application.store import Saved
from domain.scheduling.appointment import Appointment
from interfaces.http.deps import ContainerDep, EditAppointments, ViewAppointments
from interfaces.http.scheduling_schemas import (
    AppointmentIn,
    AppointmentOut,
    CancelIn,
    RescheduleIn,
    SeriesIn,
    SeriesOut,
)
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1/appointments", tags=["appointments"])


def _accepted(saved: Saved) -> Accepted:
    return Accepted(id=saved.id, version=saved.version, position=saved.position)


def appointment_out(a: Appointment) -> AppointmentOut:
    return AppointmentOut(
        id=a.id, client_id=a.client_id, clinician_id=a.clinician_id, appointment_type=a.appointment_type,
        modality=a.modality, starts_at=a.starts_at, ends_at=a.ends_at, status=a.status, series_id=a.series_id,
        rescheduled_from=a.rescheduled_from, replacement_id=a.replacement_id, booked_at=a.booked_at,
        cancelled_by=a.cancelled_by, late=a.late, attendance_unrecorded=a.unrecorded_flagged, version=a.version,
    )


@router.post("", status_code=201, response_model=Accepted)
def book(body: AppointmentIn, caller: EditAppointments, k: ContainerDep) -> Accepted:
    """Book one visit. 409 `slot_taken` when the clinician is booked then (buffers included),
    422 `consents_missing` naming the consents the client lacks, 422 `outside_working_hours`.
    With `waitlist_entry_id` the waitlist entry whose offer this takes up is marked booked."""
    booking = Booking(
        client_id=body.client_id, clinician_id=body.clinician_id, appointment_type=body.appointment_type,
        starts_at=body.starts_at, modality=body.modality, allow_outside_hours=body.allow_outside_hours,
    )
    saved = k.scheduling.book(caller.practice_id, booking)
    if body.waitlist_entry_id is not None:
        k.waitlist.accept(caller.practice_id, body.waitlist_entry_id, saved.id)
    return _accepted(saved)


@router.post("/series", status_code=201, response_model=SeriesOut)
def book_series(body: SeriesIn, caller: EditAppointments, k: ContainerDep) -> SeriesOut:
    """A weekly, fortnightly or monthly series, all or nothing: 409 `series_conflicts` lists
    every occurrence that cannot be booked."""
    booked = k.scheduling.book_series(caller.practice_id, SeriesRequest(**body.model_dump()))
    return SeriesOut(series_id=booked.series_id, appointment_ids=booked.appointment_ids, position=booked.position)


@router.get("/{appointment_id}", response_model=AppointmentOut)
def get_appointment(appointment_id: UUID, caller: ViewAppointments, k: ContainerDep) -> AppointmentOut:
    return appointment_out(k.scheduling.appointment(caller.practice_id, appointment_id))


@router.post("/{appointment_id}/confirm", response_model=Accepted)
def confirm(appointment_id: UUID, caller: EditAppointments, k: ContainerDep) -> Accepted:
    return _accepted(k.scheduling.confirm(caller.practice_id, appointment_id))


@router.post("/{appointment_id}/check-in", response_model=Accepted)
def check_in(appointment_id: UUID, caller: EditAppointments, k: ContainerDep) -> Accepted:
    return _accepted(k.scheduling.check_in(caller.practice_id, appointment_id))


@router.post("/{appointment_id}/complete", response_model=Accepted)
def complete(appointment_id: UUID, caller: EditAppointments, k: ContainerDep) -> Accepted:
    """Not before the start (409 `appointment_not_started`); a check-in is not required."""
    return _accepted(k.scheduling.complete(caller.practice_id, appointment_id))


@router.post("/{appointment_id}/no-show", response_model=Accepted)
def no_show(appointment_id: UUID, caller: EditAppointments, k: ContainerDep) -> Accepted:
    return _accepted(k.scheduling.no_show(caller.practice_id, appointment_id))


@router.post("/{appointment_id}/cancel", response_model=Accepted)
def cancel(appointment_id: UUID, body: CancelIn, caller: EditAppointments, k: ContainerDep) -> Accepted:
    """Frees the time (the waitlist's first matching entry gets an offer); flagged late inside the
    practice's late-cancellation window."""
    return _accepted(k.scheduling.cancel(caller.practice_id, appointment_id, body.by, body.reason_code))


@router.post("/{appointment_id}/cancel-series", response_model=list[UUID])
def cancel_rest_of_series(
    appointment_id: UUID, body: CancelIn, caller: EditAppointments, k: ContainerDep
) -> list[UUID]:
    """Cancels this occurrence and every later open one of its series; returns their ids."""
    return k.scheduling.cancel_rest_of_series(caller.practice_id, appointment_id, body.by, body.reason_code)


@router.post("/{appointment_id}/reschedule", status_code=201, response_model=Accepted)
def reschedule(appointment_id: UUID, body: RescheduleIn, caller: EditAppointments, k: ContainerDep) -> Accepted:
    """Books the replacement (returned) and closes this appointment, linked both ways."""
    return _accepted(k.scheduling.reschedule(
        caller.practice_id, appointment_id, body.starts_at, body.by, body.reason_code,
        clinician_id=body.clinician_id, allow_outside_hours=body.allow_outside_hours,
    ))
