"""An alert for the practice admin: someone opened a client's chart outside their caseload."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition
from domain.events import Audited


class AccessAlert(Aggregate):
    TOPIC = "careledger/access-alert"

    class Created(Aggregate.Created):
        TOPIC = "careledger/access-alert/created"

    class Raised(Created, Audited):
        """The stated reason stays with the disclosure record (encrypted under the client's key)."""

        TOPIC = "careledger/access-alert/raised"
        subject_field: ClassVar[str | None] = "client_id"
        practice_id: UUID
        client_id: UUID
        accessed_by: UUID
        accessor_role: str
        kind: str
        access_id: UUID

    class Acknowledged(Aggregate.Event, Audited):
        TOPIC = "careledger/access-alert/acknowledged"
        by: UUID
        note: str | None

    @event(Raised)
    def __init__(
        self, practice_id: UUID, client_id: UUID, accessed_by: UUID, accessor_role: str, kind: str, access_id: UUID
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.accessed_by = accessed_by
        self.accessor_role = accessor_role
        self.kind = kind
        self.access_id = access_id
        self.acknowledged_by: UUID | None = None

    def acknowledge(self, by: UUID, note: str | None) -> None:
        if self.acknowledged_by is not None:
            raise IllegalTransition("This alert was acknowledged already.")
        self._acknowledged(by=by, note=note)

    @event(Acknowledged)
    def _acknowledged(self, by: UUID, note: str | None) -> None:
        self.acknowledged_by = by
