from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from interfaces.http.deps import ContainerDep, ViewTeam
from interfaces.http.schemas import StaffOut

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])


@router.get("", response_model=list[StaffOut])
def list_staff(
    caller: ViewTeam,
    k: ContainerDep,
    role: Annotated[str | None, Query(max_length=32)] = None,
    include_inactive: bool = False,
) -> list[StaffOut]:
    """The practice's staff (members in staff roles), optionally filtered by role."""
    rows = k.member_directory.list(caller.practice_id, role=role, active_only=not include_inactive, staff_only=True)
    return [
        StaffOut(id=r.member_id, full_name=r.full_name, email=r.email, role=r.role, license_type=r.license_type,
                 active=r.status != "deactivated", supervisor_id=r.supervisor_id)
        for r in rows
    ]
