"""The front desk's follow-up tasks (a client asked by text to reschedule ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from application.errors import Unavailable
from interfaces.http.deps import ContainerDep, EditAppointments
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1/front-desk", tags=["front desk"])


class TaskOut(BaseModel):
    id: UUID
    kind: str
    client_id: UUID
    appointment_id: UUID | None
    clinician_id: UUID | None
    source: str
    status: str
    opened_at: datetime
    completed_by: UUID | None
    completed_at: datetime | None


@router.get("/tasks", response_model=list[TaskOut])
def list_tasks(
    caller: EditAppointments,
    k: ContainerDep,
    status: Literal["open", "completed"] | None = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    min_position: Annotated[int | None, Query(ge=0)] = None,
) -> list[TaskOut]:
    """Oldest first, ids only (names through the client endpoints, which record the read).
    Caseload roles see the tasks about visits with them or their supervisees."""
    view = k.front_desk_tasks
    if min_position and not view.caught_up_to(k.store.name, min_position):
        raise Unavailable("The task list is catching up; retry shortly.")
    scope = k.front_desk.scope()
    rows = view.list(caller.practice_id, client_ids=scope.client_ids, clinician_ids=scope.clinician_ids,
                     status=status, limit=limit)
    return [
        TaskOut(id=r.task_id, kind=r.kind, client_id=r.client_id, appointment_id=r.appointment_id,
                clinician_id=r.clinician_id, source=r.source, status=r.status, opened_at=r.opened_at,
                completed_by=r.completed_by, completed_at=r.completed_at)
        for r in rows
    ]


@router.post("/tasks/{task_id}/complete", response_model=Accepted)
def complete_task(task_id: UUID, caller: EditAppointments, k: ContainerDep) -> Accepted:
    saved = k.front_desk.complete(caller.practice_id, task_id)
    return Accepted.model_validate(saved, from_attributes=True)
