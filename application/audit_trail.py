"""What auditors read: a client's history with envelopes, and the accounting of disclosures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.errors import NotFound
from application.store import EventStore
from domain.access.phi_access import PhiAccess
from domain.clients.client import Client

INTERNAL = frozenset({"originator_id", "originator_version", "timestamp", "audit", "originator_topic"})


@dataclass(frozen=True)
class HistoryEntry:
    position: int
    aggregate_id: UUID
    version: int
    event_type: str
    recorded_at: datetime
    envelope: dict[str, Any]
    data: dict[str, Any]


@dataclass(frozen=True)
class Disclosure:
    position: int
    at: datetime
    actor_id: str
    actor_role: str
    endpoint: str
    purpose: str
    fields: list[str]
    request_id: str | None
    reason: str | None = None


class AuditTrail:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def _check(self, practice_id: UUID, client_id: UUID) -> None:
        client: Client = self.store.load(client_id, Client)
        if client.practice_id != practice_id:
            raise NotFound(f"No client {client_id}.")

    def history(self, practice_id: UUID, client_id: UUID) -> list[HistoryEntry]:
        self._check(practice_id, client_id)
        entries = []
        for position, event in self.store.history(client_id):
            entries.append(
                HistoryEntry(
                    position=position,
                    aggregate_id=event.originator_id,
                    version=event.originator_version,
                    event_type=type(event).TOPIC,
                    recorded_at=event.timestamp,
                    envelope=dict(event.audit or {}),
                    data={k: v for k, v in vars(event).items() if k not in INTERNAL},
                )
            )
        return entries

    def disclosures(self, practice_id: UUID, client_id: UUID) -> list[Disclosure]:
        self._check(practice_id, client_id)
        result = []
        for position, event in self.store.history(client_id, topics=[PhiAccess.Recorded.TOPIC]):
            envelope = event.audit or {}
            result.append(
                Disclosure(
                    position=position,
                    at=event.timestamp,
                    actor_id=envelope.get("actor_id", ""),
                    actor_role=envelope.get("actor_role", ""),
                    endpoint=event.endpoint,
                    purpose=event.purpose,
                    fields=list(event.fields),
                    request_id=envelope.get("request_id"),
                    reason=event.reason,
                )
            )
        return result
