"""The front desk's follow-up tasks: who may see and complete them."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application import access
from application.errors import Forbidden, NotFound
from application.ports import Clock
from application.store import EventStore, Saved
from domain.identity.permissions import Scope
from domain.scheduling.front_desk_task import FrontDeskTask


@dataclass(frozen=True)
class TaskScope:
    """How the task list narrows to the caller's record scope (None: no narrowing)."""

    client_ids: frozenset[UUID] | None = None
    clinician_ids: frozenset[UUID] | None = None


class FrontDeskService:
    def __init__(self, store: EventStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def scope() -> TaskScope:
        """Practice-scope roles see every task; caseload roles the tasks about visits with them (or
        their supervisees); portal members those about their own records."""
        grant = access.current()
        if grant is None or grant.scope is Scope.PRACTICE:
            return TaskScope()
        if grant.scope is Scope.OWN_RECORD:
            return TaskScope(client_ids=grant.client_ids)
        return TaskScope(clinician_ids=grant.team_ids)

    def complete(self, practice_id: UUID, task_id: UUID) -> Saved:
        task: FrontDeskTask = self.store.load(task_id, FrontDeskTask)
        if task.practice_id != practice_id:
            raise NotFound(f"No task {task_id}.")
        grant = access.current()
        if grant is None:
            raise Forbidden("A task is completed by a member of the practice.")
        scope = self.scope()
        if (scope.client_ids is not None and task.client_id not in scope.client_ids) or (
            scope.clinician_ids is not None and task.clinician_id not in scope.clinician_ids
        ):
            raise access.OutsideCaseload("This task is about a client outside your caseload.")
        task.complete(grant.member_id, self.clock.now())
        return self.store.save_one(task)
