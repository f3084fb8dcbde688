from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from application import access
from application.clients import Read
from application.errors import Unavailable
from domain.errors import InvalidCommand
from interfaces.http.deps import AssignCareTeam, ContainerDep, EditPatients, ErasePhi, ViewPatients
from interfaces.http.schemas import (
    Accepted,
    AssignIn,
    CareLevelIn,
    CareTeamMember,
    ClientIn,
    ClientOut,
    ClientPage,
    ClientSummary,
    DemographicsIn,
    EraseIn,
    StatusIn,
)

router = APIRouter(prefix="/api/v1/clients", tags=["clients"])
Purpose = Annotated[
    str, Query(description="Why the PHI is read (accounting of disclosures).", max_length=32)
]


def _accepted(saved: object) -> Accepted:
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("", status_code=201, response_model=Accepted)
def register_client(body: ClientIn, caller: EditPatients, k: ContainerDep) -> Accepted:
    """Register a client. PHI fields are encrypted with the client's own key before storage."""
    values = body.values(only_set=False)
    care_level = values.pop("care_level")
    return _accepted(k.clients.register(caller.practice_id, care_level, values))


@router.get("", response_model=ClientPage)
def search_clients(
    caller: ViewPatients,
    k: ContainerDep,
    q: Annotated[str | None, Query(max_length=100, description="Name prefix(es)")] = None,
    dob: date | None = None,
    status: Literal["active", "inactive", "discharged"] | None = None,
    id: Annotated[UUID | None, Query(alias="id")] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    min_position: Annotated[int | None, Query(ge=0, description="Wait for this log position")] = None,
    purpose: Purpose = "treatment",
) -> ClientPage:
    """Search the client directory; each client listed is recorded as a PHI read."""
    view = k.client_directory
    if min_position and not view.caught_up_to(k.store.name, min_position):
        raise Unavailable("The client directory has not caught up yet; retry shortly.")
    scope = access.list_filter()
    page = view.search(
        caller.practice_id, only_clients=scope.client_ids, care_team_any=scope.care_team_any,
        q=q, dob=dob, status=status, client_id=id, cursor=cursor, limit=limit,
    )
    k.clients.record_reads(
        caller.practice_id,
        [i.client_id for i in page.items if not i.erased],
        Read("GET /api/v1/clients", purpose),
    )
    return ClientPage(
        items=[
            ClientSummary(
                id=i.client_id, first_name=i.first_name, last_name=i.last_name,
                date_of_birth=i.date_of_birth, status=i.status, care_level=i.care_level,
                care_team=i.care_team, erased=i.erased,
            )
            for i in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/{client_id}", response_model=ClientOut)
def get_client(
    client_id: UUID,
    caller: ViewPatients,
    k: ContainerDep,
    as_of: Annotated[datetime | None, Query(description="ISO timestamp with offset")] = None,
    purpose: Purpose = "treatment",
) -> ClientOut:
    """The client's chart, now or as it stood at `as_of`; recorded as a PHI read.

    Outside the caller's caseload a clinician may still open it with an `X-Break-Glass-Reason`
    header: the read is recorded as a break-the-glass disclosure and the practice admin alerted.
    """
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidCommand("as_of needs a UTC offset, e.g. 2026-01-31T12:00:00Z.", field="as_of")
    client = k.clients.chart(
        caller.practice_id, client_id, Read("GET /api/v1/clients/{id}", purpose), as_of,
        break_glass_reason=caller.grant.break_glass_reason,
    )
    return ClientOut(
        id=client.id,
        practice_id=client.practice_id,
        version=client.version,
        status=client.status,
        care_level=client.care_level,
        care_team=[CareTeamMember(staff_id=s, team_role=r) for s, r in client.care_team.items()],
        erased=client.erased,
        as_of=as_of,
        demographics=client.demographics,
    )


@router.patch("/{client_id}", response_model=Accepted)
def update_demographics(client_id: UUID, body: DemographicsIn, caller: EditPatients, k: ContainerDep) -> Accepted:
    return _accepted(k.clients.update_demographics(caller.practice_id, client_id, body.values(only_set=True)))


@router.post("/{client_id}/status", response_model=Accepted)
def change_status(client_id: UUID, body: StatusIn, caller: EditPatients, k: ContainerDep) -> Accepted:
    """Activate, deactivate or discharge; a reason code is required (and kept in the envelope)."""
    return _accepted(
        k.clients.change_status(caller.practice_id, client_id, body.status, body.reason_code, body.note)
    )


@router.post("/{client_id}/care-level", response_model=Accepted)
def change_care_level(client_id: UUID, body: CareLevelIn, caller: EditPatients, k: ContainerDep) -> Accepted:
    return _accepted(k.clients.change_care_level(caller.practice_id, client_id, body.care_level))


@router.post("/{client_id}/care-team", response_model=Accepted)
def assign(client_id: UUID, body: AssignIn, caller: AssignCareTeam, k: ContainerDep) -> Accepted:
    return _accepted(k.clients.assign(caller.practice_id, client_id, body.staff_id, body.team_role))


@router.delete("/{client_id}/care-team/{staff_id}", response_model=Accepted)
def unassign(client_id: UUID, staff_id: UUID, caller: AssignCareTeam, k: ContainerDep) -> Accepted:
    return _accepted(k.clients.unassign(caller.practice_id, client_id, staff_id))


@router.post("/{client_id}/erase", response_model=Accepted)
def erase(client_id: UUID, body: EraseIn, caller: ErasePhi, k: ContainerDep) -> Accepted:
    """Crypto-shred the client's PHI (admin only, reason required). History stays verifiable."""
    return _accepted(k.clients.erase(caller.practice_id, client_id, body.reason_code))
