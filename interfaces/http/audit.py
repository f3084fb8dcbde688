from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from application.clients import Read
from interfaces.http.deps import ContainerDep, ViewAudit
from interfaces.http.schemas import DisclosureOut, HistoryEntryOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/clients/{client_id}/history", response_model=list[HistoryEntryOut])
def client_history(client_id: UUID, caller: ViewAudit, k: ContainerDep) -> list[HistoryEntryOut]:
    """Every event about the client, oldest first, each with its audit envelope.

    Read from the event store itself (not a read model). The read is itself recorded.
    """
    entries = k.audit_trail.history(caller.practice_id, client_id)
    k.clients.record_reads(caller.practice_id, [client_id], Read("GET /api/v1/audit/clients/{id}/history", "audit"))
    return [HistoryEntryOut.model_validate(e, from_attributes=True) for e in entries]


@router.get("/clients/{client_id}/disclosures", response_model=list[DisclosureOut])
def client_disclosures(client_id: UUID, caller: ViewAudit, k: ContainerDep) -> list[DisclosureOut]:
    """Accounting of disclosures (HIPAA 164.528 style): who read the client's PHI, when, why."""
    return [
        DisclosureOut.model_validate(d, from_attributes=True)
        for d in k.audit_trail.disclosures(caller.practice_id, client_id)
    ]
