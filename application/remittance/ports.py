"""What remittance processing needs from outside: billed charges (the billing ledger), many
aggregates at once, the names and member ids of candidate clients, and its own read model."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar
from uuid import UUID

from application.errors import NotFound
from application.store import EventStore
from domain.clients.client import Client
from domain.events import ERASED

T = TypeVar("T")


class LedgerReadModel(Protocol):
    """The billing ledger (projections/billing_ledger.py): charge rows, newest service date first,
    a page (`items`, `next_cursor`) at a time."""

    def charges(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, only_clinicians: Collection[UUID] | None,
        status: str | None = None, client_id: UUID | None = None, clinician_id: UUID | None = None,
        first: date | None = None, last: date | None = None, payer: str | None = None, unbilled_only: bool = False,
        claim_number: str | None = None, cursor: str | None = None, limit: int = 100,
    ) -> Any: ...


class RemittanceReadModel(Protocol):
    """The remittances read model (projections/remittances.py)."""

    def payment_owner(self, practice_id: UUID, payment_id: UUID) -> UUID | None: ...

    def remittances(self, practice_id: UUID, *, cursor: str | None = None, limit: int = 50) -> Any: ...

    def review_queue(self, practice_id: UUID, *, limit: int = 200) -> Any: ...


class Aggregates(Protocol):
    def load_many(self, practice_id: UUID, ids: Collection[UUID], cls: type[T]) -> dict[UUID, T]:
        """The aggregates of `cls` among `ids` that belong to the practice (others left out)."""


class StoreAggregates:
    """`Aggregates` through `EventStore.load`, one aggregate at a time (adapters/aggregate_batches.py
    reads a thousand in one query)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def load_many(self, practice_id: UUID, ids: Collection[UUID], cls: type[T]) -> dict[UUID, T]:
        found: dict[UUID, T] = {}
        for aggregate_id in dict.fromkeys(ids):
            try:
                aggregate = self.store.load(aggregate_id, cls)
            except NotFound:
                continue
            if getattr(aggregate, "practice_id", None) == practice_id:
                found[aggregate_id] = aggregate
        return found


@dataclass(frozen=True)
class PatientName:
    """What matching compares with the 835's patient: names and the member id per payer."""

    first_name: str
    last_name: str
    member_ids: tuple[tuple[str, str], ...] = ()
    """(payer name, member id), primary insurance first."""

    def member_id(self, payer: str | None) -> str | None:
        """The member id of the charge's payer when it is one of the client's; else the primary's."""
        wanted = (payer or "").strip().lower()
        for name, member in self.member_ids:
            if wanted and name.strip().lower() == wanted:
                return member
        return self.member_ids[0][1] if self.member_ids else None


class PatientDirectory(Protocol):
    def patients(self, practice_id: UUID, client_ids: Collection[UUID]) -> dict[UUID, PatientName]: ...


class ClientPatients:
    """Patient names and member ids from the Client aggregates (PHI, decrypted in memory only),
    loaded in batches. An erased client has no name to match."""

    def __init__(self, aggregates: Aggregates) -> None:
        self.aggregates = aggregates

    def patients(self, practice_id: UUID, client_ids: Collection[UUID]) -> dict[UUID, PatientName]:
        found: dict[UUID, PatientName] = {}
        for client_id, client in self.aggregates.load_many(practice_id, client_ids, Client).items():
            shown = client.demographics
            if client.erased or shown.get("last_name") in (None, ERASED):
                continue
            members = tuple(
                (str(plan.get("payer") or ""), str(plan["member_id"]))
                for plan in (shown.get("insurance_primary"), shown.get("insurance_secondary"))
                if isinstance(plan, dict) and plan.get("member_id")
            )
            found[client_id] = PatientName(str(shown.get("first_name") or ""), str(shown["last_name"]), members)
        return found
