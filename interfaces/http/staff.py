from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from interfaces.http.deps import CallerDep, ContainerDep
from interfaces.http.schemas import Accepted, StaffIn, StaffOut

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])
STAFF = ("admin", "clinician", "supervisor", "billing", "front_desk", "care_team")


@router.get("", response_model=list[StaffOut])
def list_staff(
    caller: CallerDep,
    k: ContainerDep,
    role: Annotated[str | None, Query(max_length=32)] = None,
    include_inactive: bool = False,
) -> list[StaffOut]:
    """The practice's staff directory, optionally filtered by role."""
    caller.require(*STAFF)
    rows = k.staff_directory.list(caller.practice_id, role=role, active_only=not include_inactive)
    return [
        StaffOut(id=r.staff_id, full_name=r.full_name, email=r.email, role=r.role,
                 license_type=r.license_type, active=r.active)
        for r in rows
    ]


@router.post("", status_code=201, response_model=Accepted)
def register_staff(body: StaffIn, caller: CallerDep, k: ContainerDep) -> Accepted:
    caller.require("admin")
    saved = k.practices.register_staff(
        caller.practice_id, body.full_name, body.email, body.role, body.license_type
    )
    return Accepted.model_validate(saved, from_attributes=True)
