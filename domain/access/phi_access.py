from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.events import Audited

PURPOSES = frozenset({"treatment", "payment", "operations", "audit", "client_request", "legal"})
BREAK_GLASS = "break_glass"


class PhiAccess(Aggregate):
    """One read of a client's PHI: who looked, through which endpoint, and why.

    Each read is its own aggregate so that concurrent reads never conflict with each other
    or with writes to the client.
    """

    TOPIC = "careledger/phi-access"

    class Created(Aggregate.Created):
        TOPIC = "careledger/phi-access/created"

    class Recorded(Created, Audited):
        TOPIC = "careledger/phi-access/recorded"
        subject_field: ClassVar[str | None] = "client_id"
        phi_fields: ClassVar[tuple[str, ...]] = ("reason",)
        class_version = 2
        client_id: UUID
        practice_id: UUID
        endpoint: str
        purpose: str
        fields: list[str]
        reason: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["reason"] = None


    @event(Recorded)
    def __init__(
        self,
        client_id: UUID,
        practice_id: UUID,
        endpoint: str,
        purpose: str,
        fields: list[str],
        reason: str | None = None,
    ) -> None:
        self.client_id = client_id
        self.practice_id = practice_id
        self.endpoint = endpoint
        self.purpose = purpose
        self.fields = fields
        self.reason = reason
