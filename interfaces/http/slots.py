"""Free appointment slots, shown in the time zone the caller asks for."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID
from zoneinfo import available_timezones

from fastapi import APIRouter, Query

from domain.errors import InvalidCommand
from domain.scheduling.availability import render_slots
from interfaces.http.deps import ContainerDep, ViewAppointments
from interfaces.http.scheduling_schemas import Slot, SlotsOut

router = APIRouter(prefix="/api/v1/slots", tags=["appointments"])
ZONES = frozenset(available_timezones())


@router.get("", response_model=SlotsOut)
def free_slots(
    caller: ViewAppointments,
    k: ContainerDep,
    from_: Annotated[date, Query(alias="from", description="First local practice date")],
    to: Annotated[date, Query(description="Last local practice date (included); at most 62 days")],
    clinician_id: UUID | None = None,
    appointment_type: Annotated[str, Query(max_length=40)] = "therapy_session",
    tz: Annotated[str | None, Query(max_length=64, description="IANA zone of the answer (default: practice)")] = None,
    step_minutes: Annotated[int, Query(ge=5, le=240)] = 15,
) -> SlotsOut:
    """Slots honouring working hours, breaks, closures, existing bookings with buffers, minimum
    notice and booking window. Without `clinician_id`: every clinician of the practice."""
    if tz is not None and tz not in ZONES:
        raise InvalidCommand(f"Unknown time zone {tz!r}.", field="tz")
    practice = k.scheduling.practice(caller.practice_id)
    zone = tz or practice.time_zone
    clinicians = [clinician_id] if clinician_id else k.member_directory.clinician_ids(caller.practice_id)
    slots: list[Slot] = []
    for who in clinicians:
        found = k.scheduling.free_slots(caller.practice_id, who, appointment_type, from_, to, step_minutes)
        slots.extend(Slot(clinician_id=who, starts_at=s, ends_at=e) for s, e in render_slots(found, zone))
    slots.sort(key=lambda s: (s.starts_at, str(s.clinician_id)))
    return SlotsOut(appointment_type=appointment_type, time_zone=zone, slots=slots)
