"""A client's safety risk flags (suicidal ideation, self-harm, homicidal ideation): set and
cleared with a reason (PHI, encrypted with the client's key), listed with when each was set."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from application.clients import Read
from domain.clients.client import RISK_FLAGS, RISK_REASON_MAX
from domain.identity.permissions import Permission
from interfaces.http.deps import Authorize, Caller, ContainerDep, ViewPatients
from interfaces.http.schemas import Accepted, Strict

router = APIRouter(prefix="/api/v1/clients/{client_id}/risk-flags", tags=["clients"])
WriteNotes = Annotated[Caller, Depends(Authorize(Permission.WRITE_NOTES))]


class RiskFlagIn(Strict):
    flag: str = Field(max_length=40, description=f"One of: {', '.join(RISK_FLAGS)}.")
    reason: str = Field(min_length=1, max_length=RISK_REASON_MAX, description="Clinical reason (PHI).")


class ClearRiskFlagIn(Strict):
    reason: str = Field(min_length=1, max_length=RISK_REASON_MAX, description="Clinical reason (PHI).")


class RiskFlagOut(BaseModel):
    flag: str
    set_at: datetime


class RiskFlagsOut(BaseModel):
    high_risk: bool
    flags: list[RiskFlagOut]


@router.post("", status_code=201, response_model=Accepted)
def set_risk_flag(client_id: UUID, body: RiskFlagIn, caller: WriteNotes, k: ContainerDep) -> Accepted:
    """Setting a flag that is set already answers 409."""
    saved = k.clients.set_risk_flag(caller.practice_id, client_id, body.flag, body.reason)
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("/{flag}/clear", response_model=Accepted)
def clear_risk_flag(
    client_id: UUID, flag: Annotated[str, Path(max_length=40)], body: ClearRiskFlagIn, caller: WriteNotes,
    k: ContainerDep,
) -> Accepted:
    """Clearing a flag that is not set answers 409."""
    saved = k.clients.clear_risk_flag(caller.practice_id, client_id, flag, body.reason)
    return Accepted.model_validate(saved, from_attributes=True)


@router.get("", response_model=RiskFlagsOut)
def list_risk_flags(client_id: UUID, caller: ViewPatients, k: ContainerDep) -> RiskFlagsOut:
    """Recorded as a PHI read of the chart."""
    flags = k.clients.risk_flags(caller.practice_id, client_id, Read("GET /api/v1/clients/{id}/risk-flags"))
    return RiskFlagsOut(
        high_risk=bool(flags),
        flags=[RiskFlagOut(flag=f, set_at=at) for f, at in sorted(flags.items(), key=lambda item: item[1])],
    )
