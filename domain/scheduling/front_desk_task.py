"""A follow-up for the front desk: a client asked to reschedule (by text), someone must call back.

Open until a member completes it. The task names the client, the appointment it is about and its
clinician (whose caseload may see it); it holds no free text, so no event has PHI fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited

FRONT_DESK_TASK_NAMESPACE = UUID("6a1e2d3c-4b5f-4c7a-8d9e-0f1a2b3c4d5e")
KINDS = ("reschedule_request",)
SOURCES = ("sms", "staff")


def task_id_for(source_id: UUID, kind: str) -> UUID:
    """The task a given source (an inbound message) opens: one, however often it is retried."""
    return uuid5(FRONT_DESK_TASK_NAMESPACE, f"{kind}:{source_id}")


class FrontDeskTaskEvent(Aggregate.Event, Audited):
    subject_field: ClassVar[str | None] = "client_id"
    client_id: UUID


class FrontDeskTask(Aggregate):
    TOPIC = "careledger/front-desk-task"

    class Created(Aggregate.Created):
        TOPIC = "careledger/front-desk-task/created"

    class Opened(Created, FrontDeskTaskEvent):
        TOPIC = "careledger/front-desk-task/opened"
        practice_id: UUID
        client_id: UUID
        kind: str
        appointment_id: UUID | None
        clinician_id: UUID | None
        source: str
        opened_at: datetime

    class Completed(FrontDeskTaskEvent):
        TOPIC = "careledger/front-desk-task/completed"
        by: UUID
        at: datetime

    @classmethod
    def open(
        cls, practice_id: UUID, client_id: UUID, kind: str, opened_at: datetime, *,
        appointment_id: UUID | None = None, clinician_id: UUID | None = None, source: str = "staff",
        task_id: UUID | None = None,
    ) -> FrontDeskTask:
        if kind not in KINDS:
            raise InvalidCommand(f"Unknown task kind {kind!r}.", field="kind", allowed=list(KINDS))
        if source not in SOURCES:
            raise InvalidCommand(f"Unknown task source {source!r}.", field="source", allowed=list(SOURCES))
        fields: dict[str, Any] = {
            "practice_id": practice_id, "client_id": client_id, "kind": kind, "appointment_id": appointment_id,
            "clinician_id": clinician_id, "source": source, "opened_at": opened_at,
        }
        if task_id is not None:
            return cls._create(cls.Opened, id=task_id, **fields)
        return cls(**fields)

    @event(Opened)
    def __init__(
        self, practice_id: UUID, client_id: UUID, kind: str, appointment_id: UUID | None,
        clinician_id: UUID | None, source: str, opened_at: datetime,
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.kind = kind
        self.appointment_id = appointment_id
        self.clinician_id = clinician_id
        self.source = source
        self.opened_at = opened_at
        self.completed_by: UUID | None = None
        self.completed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.completed_at is None

    def complete(self, by: UUID, now: datetime) -> None:
        if not self.is_open:
            raise IllegalTransition("This task is completed already.", status="completed")
        self._completed(client_id=self.client_id, by=by, at=now)

    @event(Completed)
    def _completed(self, client_id: UUID, by: UUID, at: datetime) -> None:
        self.completed_by = by
        self.completed_at = at
