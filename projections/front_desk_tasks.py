"""The front desk's follow-ups (a client asked by text to reschedule ...), open until completed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.scheduling.front_desk_task import FrontDeskTask
from projections.base import View

COLUMNS = (
    "task_id, practice_id, client_id, kind, appointment_id, clinician_id, source, status, opened_at, "
    "completed_by, completed_at"
)


@dataclass(frozen=True)
class TaskRow:
    task_id: UUID
    practice_id: UUID
    client_id: UUID
    kind: str
    appointment_id: UUID | None
    clinician_id: UUID | None
    source: str
    status: str
    opened_at: datetime
    completed_by: UUID | None
    completed_at: datetime | None


class FrontDeskTasksView(View):
    tables = ("front_desk_tasks",)

    def list(
        self, practice_id: UUID, *, client_ids: Collection[UUID] | None, clinician_ids: Collection[UUID] | None,
        status: str | None = None, limit: int = 100,
    ) -> list[TaskRow]:
        """Oldest open first. `client_ids` / `clinician_ids` narrow to the caller's record scope
        (None: no narrowing; both given: either matches); no defaults, so no caller forgets them."""
        sql = f"SELECT {COLUMNS} FROM front_desk_tasks WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        scope = []
        if client_ids is not None:
            scope.append("client_id = ANY(%s)")
            params.append(list(client_ids))
        if clinician_ids is not None:
            scope.append("clinician_id = ANY(%s)")
            params.append(list(clinician_ids))
        if scope:
            sql += " AND (" + " OR ".join(scope) + ")"
        if status:
            sql += " AND status = %s"
            params.append(status)
        sql += " ORDER BY opened_at, task_id LIMIT %s"
        params.append(limit)
        return [TaskRow(**r) for r in self.query(sql, params)]

    def get(self, practice_id: UUID, task_id: UUID) -> TaskRow | None:
        rows = self.query(
            f"SELECT {COLUMNS} FROM front_desk_tasks WHERE practice_id = %s AND task_id = %s", (practice_id, task_id)
        )
        return TaskRow(**rows[0]) if rows else None


class FrontDeskTasks(Projection[FrontDeskTasksView]):
    name = "front_desk_tasks"
    topics = (FrontDeskTask.Opened.TOPIC, FrontDeskTask.Completed.TOPIC)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: FrontDeskTask.Opened, tracking: Tracking) -> None:
        self.view.curs.execute(
            f"INSERT INTO front_desk_tasks ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, 'open', %s, NULL, NULL) "
            "ON CONFLICT (task_id) DO NOTHING",
            (e.originator_id, e.practice_id, e.client_id, e.kind, e.appointment_id, e.clinician_id, e.source,
             e.opened_at),
        )

    @process_event.register
    def _(self, e: FrontDeskTask.Completed, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE front_desk_tasks SET status = 'completed', completed_by = %s, completed_at = %s WHERE task_id = %s",
            (e.by, e.at, e.originator_id),
        )
