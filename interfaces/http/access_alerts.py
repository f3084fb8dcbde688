"""Break-the-glass alerts for the practice admin."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from interfaces.http.deps import ContainerDep, ViewAudit
from interfaces.http.identity_schemas import AcknowledgeIn, AlertOut
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1/access-alerts", tags=["audit"])


@router.get("", response_model=list[AlertOut])
def list_alerts(
    caller: ViewAudit,
    k: ContainerDep,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertOut]:
    """Newest first. The stated reason is in the client's disclosures (`/audit/clients/{id}/disclosures`)."""
    return [
        AlertOut(id=a.alert_id, client_id=a.client_id, accessed_by=a.accessed_by, accessor_role=a.accessor_role,
                 kind=a.kind, access_id=a.access_id, raised_at=a.raised_at, acknowledged_by=a.acknowledged_by,
                 acknowledged_at=a.acknowledged_at)
        for a in k.access_alerts.list(caller.practice_id, open_only=open_only, limit=limit)
    ]


@router.post("/{alert_id}/acknowledge", response_model=Accepted)
def acknowledge(alert_id: UUID, body: AcknowledgeIn, caller: ViewAudit, k: ContainerDep) -> Accepted:
    saved = k.clients.acknowledge_alert(caller.practice_id, alert_id, body.note)
    return Accepted.model_validate(saved, from_attributes=True)
