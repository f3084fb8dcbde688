"""Client commands and the chart reads that are recorded as PHI access."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application import audit
from application.errors import Forbidden, NotFound
from application.store import EventStore, Saved
from domain.access.phi_access import PURPOSES, PhiAccess
from domain.clients.client import Client
from domain.errors import InvalidCommand
from domain.staff.staff_member import StaffMember

SHRED_ROLES = frozenset({"admin"})


@dataclass(frozen=True)
class Read:
    """Where a PHI read came from, for the accounting of disclosures."""

    endpoint: str
    purpose: str = "treatment"


class ClientService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def _load(self, practice_id: UUID, client_id: UUID) -> Client:
        client: Client = self.store.load(client_id, Client)
        if client.practice_id != practice_id:
            raise NotFound(f"No client {client_id}.")
        return client

    def register(
        self,
        practice_id: UUID,
        care_level: str,
        demographics: dict[str, Any],
        client_id: UUID | None = None,
    ) -> Saved:
        client = Client.register(practice_id, care_level, client_id=client_id, **demographics)
        return self.store.save_one(client)

    def exists(self, client_id: UUID) -> bool:
        return self.store.exists(client_id)

    def update_demographics(
        self, practice_id: UUID, client_id: UUID, changes: dict[str, Any]
    ) -> Saved:
        client = self._load(practice_id, client_id)
        client.update_demographics(changes)
        return self.store.save_one(client)

    def change_status(
        self, practice_id: UUID, client_id: UUID, status: str, reason_code: str, note: str | None
    ) -> Saved:
        client = self._load(practice_id, client_id)
        client.change_status(status, reason_code, note)
        with audit.because(reason_code):
            return self.store.save_one(client)

    def change_care_level(self, practice_id: UUID, client_id: UUID, care_level: str) -> Saved:
        client = self._load(practice_id, client_id)
        client.change_care_level(care_level)
        return self.store.save_one(client)

    def assign(self, practice_id: UUID, client_id: UUID, staff_id: UUID, team_role: str) -> Saved:
        client = self._load(practice_id, client_id)
        staff: StaffMember = self.store.load(staff_id, StaffMember)
        if staff.practice_id != practice_id:
            raise NotFound(f"No staff member {staff_id}.")
        if not staff.active:
            raise InvalidCommand("A deactivated staff member cannot join a care team.")
        client.assign(staff_id, team_role)
        return self.store.save_one(client)

    def unassign(self, practice_id: UUID, client_id: UUID, staff_id: UUID) -> Saved:
        client = self._load(practice_id, client_id)
        client.unassign(staff_id)
        return self.store.save_one(client)

    def erase(self, practice_id: UUID, client_id: UUID, reason_code: str) -> Saved:
        """Crypto-shred: record why, then destroy the client's data key in the same transaction."""
        if audit.current().actor_role not in SHRED_ROLES:
            raise Forbidden("Only a practice admin can erase a client's personal data.")
        client = self._load(practice_id, client_id)
        client.erase(reason_code)
        with audit.because(reason_code):
            saved = self.store.save_one(client, shred_subjects=[client_id])
        self.store.cipher.forget(client_id)
        return saved

    def chart(self, practice_id: UUID, client_id: UUID, read: Read, as_of: datetime | None = None) -> Client:
        client = self._load(practice_id, client_id)
        if as_of is not None:
            client = self.store.load_as_of(client_id, as_of)
            if client is None:
                raise NotFound(f"Client {client_id} did not exist at {as_of.isoformat()}.")
        self.record_reads(practice_id, [client_id], read)
        return client

    def record_reads(self, practice_id: UUID, client_ids: list[UUID], read: Read) -> None:
        if not client_ids:
            return
        if read.purpose not in PURPOSES:
            raise InvalidCommand(
                f"Unknown purpose {read.purpose!r}.", field="purpose", allowed=sorted(PURPOSES)
            )
        fields = ["demographics"]
        self.store.save(
            *[
                PhiAccess(
                    client_id=client_id,
                    practice_id=practice_id,
                    endpoint=read.endpoint,
                    purpose=read.purpose,
                    fields=fields,
                )
                for client_id in client_ids
            ]
        )
