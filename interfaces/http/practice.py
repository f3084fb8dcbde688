"""The caller's practice: details, settings, and the business associate agreement (seed 004)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from domain.errors import InvalidCommand
from domain.scheduling.appointment_types import AppointmentType
from interfaces.http.deps import ContainerDep, EditSettings, ViewAppointments, ViewSettings
from interfaces.http.identity_schemas import BaaIn, PracticeOut, SettingsIn
from interfaces.http.scheduling_schemas import AppointmentTypeIn, AppointmentTypeOut, RetireTypeIn, SchedulingSettingsIn
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1/practice", tags=["practice"])


@router.get("", response_model=PracticeOut)
def get_practice(caller: ViewSettings, k: ContainerDep) -> PracticeOut:
    p = k.practices.get(caller.practice_id)
    return PracticeOut(id=p.id, name=p.name, slug=p.slug, time_zone=p.time_zone, settings=p.settings, baa=p.baa)


@router.post("/baa", response_model=Accepted)
def sign_baa(body: BaaIn, caller: EditSettings, k: ContainerDep) -> Accepted:
    """Records the signed BAA (who, when, which version); client records can be created after."""
    saved = k.practices.sign_baa(caller.practice_id, body.signed_by, body.signer_title, body.version, body.signed_on)
    return Accepted.model_validate(saved, from_attributes=True)


@router.patch("/settings", response_model=Accepted)
def change_settings(body: SettingsIn, caller: EditSettings, k: ContainerDep) -> Accepted:
    """`require_staff_mfa`: staff must enrol TOTP before they can do anything else."""
    changes = body.model_dump(exclude_none=True)
    if not changes:  # an empty PATCH would record a SettingsChanged event that changes nothing
        raise InvalidCommand("Name at least one setting to change.", field="settings")
    saved = k.practices.change_settings(caller.practice_id, changes)
    return Accepted.model_validate(saved, from_attributes=True)


@router.get("/appointment-types", response_model=list[AppointmentTypeOut])
def appointment_types(caller: ViewAppointments, k: ContainerDep) -> list[AppointmentTypeOut]:
    """Seed 001's types with the practice's own settings, plus the practice's own types."""
    practice = k.practices.get(caller.practice_id)
    return [AppointmentTypeOut.model_validate(asdict(t)) for _, t in sorted(practice.appointment_types.items())]


@router.post("/appointment-types", response_model=Accepted)
def save_appointment_type(body: AppointmentTypeIn, caller: EditSettings, k: ContainerDep) -> Accepted:
    """Create a type or change one (a built-in type's duration, buffers, notice, window, price)."""
    saved = k.practices.save_appointment_type(caller.practice_id, AppointmentType(**body.model_dump()))
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("/appointment-types/retire", response_model=Accepted)
def retire_appointment_type(body: RetireTypeIn, caller: EditSettings, k: ContainerDep) -> Accepted:
    """No new bookings of this type; booked appointments keep it."""
    saved = k.practices.retire_appointment_type(caller.practice_id, body.code)
    return Accepted.model_validate(saved, from_attributes=True)


@router.patch("/scheduling", response_model=Accepted)
def change_scheduling_settings(body: SchedulingSettingsIn, caller: EditSettings, k: ContainerDep) -> Accepted:
    """Reminder offsets (hours before, default 48/24/2), reminders on/off, the late-cancellation
    window (hours, default 24), the practice's contact phone (HELP replies) and SMS number."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise InvalidCommand("Name at least one setting to change.", field="settings")
    saved = k.practices.change_settings(caller.practice_id, changes)
    return Accepted.model_validate(saved, from_attributes=True)
