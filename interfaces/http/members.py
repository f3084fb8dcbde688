"""Practice members: invite, list, change role/permissions/supervisor/linked clients, deactivate,
record HIPAA training."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import Field

from application.errors import Unavailable
from domain.identity.membership import Membership
from interfaces.http.deps import ContainerDep, ManageTeam, ManageTeamSuspendedOk, ViewTeam
from interfaces.http.identity_schemas import (
    ClientLinksIn,
    DeactivateIn,
    InviteIn,
    MemberOut,
    PermissionsIn,
    RoleIn,
    SupervisorIn,
    TrainingIn,
)
from interfaces.http.schemas import Accepted, Strict

router = APIRouter(prefix="/api/v1/members", tags=["members"])


def _accepted(saved: object) -> Accepted:
    return Accepted.model_validate(saved, from_attributes=True)


def _out(m: Membership) -> MemberOut:
    return MemberOut(
        id=m.id, user_id=m.user_id, email=m.email, full_name=m.full_name, role=m.role, license_type=m.license_type,
        status=m.status, supervisor_id=m.supervisor_id, client_ids=list(m.client_ids),
        hipaa_training_on=m.hipaa_training_on, permissions=sorted(m.permissions),
    )


@router.post("", status_code=201, response_model=Accepted)
def invite(body: InviteIn, caller: ManageTeam, k: ContainerDep) -> Accepted:
    """Invite someone by e-mail; the mail carries a one-time token valid for 7 days."""
    invitation = k.members.invite(
        caller.practice_id, body.email, body.full_name, body.role, license_type=body.license_type,
        client_ids=body.client_ids, overrides=body.permissions, hipaa_training_on=body.hipaa_training_on,
    )
    return _accepted(invitation.saved)


@router.get("", response_model=list[MemberOut])
def list_members(
    caller: ViewTeam,
    k: ContainerDep,
    role: Annotated[str | None, Query(max_length=32)] = None,
    include_inactive: bool = False,
    min_position: Annotated[int | None, Query(ge=0, description="Wait for this log position")] = None,
) -> list[MemberOut]:
    view = k.member_directory
    if min_position and not view.caught_up_to(k.store.name, min_position):
        raise Unavailable("The member directory has not caught up yet; retry shortly.")
    return [
        MemberOut(
            id=r.member_id, user_id=r.user_id, email=r.email, full_name=r.full_name, role=r.role,
            license_type=r.license_type, status=r.status, supervisor_id=r.supervisor_id, client_ids=r.client_ids,
            hipaa_training_on=r.hipaa_training_on,
        )
        for r in view.list(caller.practice_id, role=role, active_only=not include_inactive)
    ]


@router.get("/{member_id}", response_model=MemberOut)
def get_member(member_id: UUID, caller: ViewTeam, k: ContainerDep) -> MemberOut:
    return _out(k.members.get(caller.practice_id, member_id))


@router.post("/{member_id}/role", response_model=Accepted)
def change_role(member_id: UUID, body: RoleIn, caller: ManageTeam, k: ContainerDep) -> Accepted:
    return _accepted(k.members.change_role(caller.practice_id, member_id, body.role, body.reason))


@router.put("/{member_id}/permissions", response_model=Accepted)
def override_permissions(member_id: UUID, body: PermissionsIn, caller: ManageTeam, k: ContainerDep) -> Accepted:
    """Grant (`true`) or withhold (`false`) single permissions against the role's defaults."""
    return _accepted(k.members.override_permissions(caller.practice_id, member_id, body.overrides))


@router.put("/{member_id}/supervisor", response_model=Accepted)
def assign_supervisor(member_id: UUID, body: SupervisorIn, caller: ManageTeam, k: ContainerDep) -> Accepted:
    return _accepted(k.members.assign_supervisor(caller.practice_id, member_id, body.supervisor_id))


class LicenseIn(Strict):
    license_type: str | None = Field(max_length=40, description="A license type code, or null for none.")


@router.patch("/{member_id}/license", response_model=Accepted)
def change_license(member_id: UUID, body: LicenseIn, caller: ManageTeam, k: ContainerDep) -> Accepted:
    """Staff only; supervised license types (associates, LMSW, interns) log supervision hours."""
    return _accepted(k.members.change_license(caller.practice_id, member_id, body.license_type))


@router.put("/{member_id}/clients", response_model=Accepted)
def link_clients(member_id: UUID, body: ClientLinksIn, caller: ManageTeam, k: ContainerDep) -> Accepted:
    """The client records a client or family-member membership may see."""
    return _accepted(k.members.link_clients(caller.practice_id, member_id, body.client_ids))


@router.post("/{member_id}/deactivate", response_model=Accepted)
def deactivate(member_id: UUID, body: DeactivateIn, caller: ManageTeam, k: ContainerDep) -> Accepted:
    """Ends the membership and every session of it."""
    saved = k.members.deactivate(caller.practice_id, member_id, body.reason_code)
    k.accounts.end_member_sessions(member_id)
    return _accepted(saved)


@router.post("/{member_id}/reactivate", response_model=Accepted)
def reactivate(member_id: UUID, caller: ManageTeam, k: ContainerDep) -> Accepted:
    return _accepted(k.members.reactivate(caller.practice_id, member_id))


@router.post("/{member_id}/invitation", response_model=Accepted)
def reissue_invitation(member_id: UUID, caller: ManageTeam, k: ContainerDep) -> Accepted:
    """Mails a fresh invitation token; the earlier one stops working."""
    return _accepted(k.members.reissue_invitation(caller.practice_id, member_id).saved)


@router.post("/{member_id}/hipaa-training", response_model=Accepted)
def record_training(member_id: UUID, body: TrainingIn, caller: ManageTeamSuspendedOk, k: ContainerDep) -> Accepted:
    """Georgia rule 7: a new completion lifts a training suspension at once."""
    return _accepted(k.members.record_hipaa_training(caller.practice_id, member_id, body.completed_on))
