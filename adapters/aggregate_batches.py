"""Many aggregates at once: one SELECT per chunk of ids instead of one per aggregate.

The events of every id are read in one query, the PHI keys of their subjects fetched in one more
(the key store's prefetch), then each aggregate is folded from its events as the repository
would. Used where a command touches thousands of aggregates (remittance posting, the names of the
clients an 835 may be paying).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.errors import NotFound
from application.store import EventStore

T = TypeVar("T")
CHUNK = 1000


class BatchLoader:
    def __init__(self, store: EventStore, chunk: int = CHUNK) -> None:
        self.store = store
        self.chunk = chunk

    def load_many(self, practice_id: UUID, ids: Collection[UUID], cls: type[T]) -> dict[UUID, T]:
        """The aggregates of `cls` among `ids` that belong to `practice_id`; others are left out."""
        wanted = list(dict.fromkeys(ids))
        found: dict[UUID, T] = {}
        recorder: Any = self.store.recorder
        for start in range(0, len(wanted), self.chunk):
            part = wanted[start : start + self.chunk]
            loaded = self._select(recorder, part) if hasattr(recorder, "datastore") else self._one_by_one(part, cls)
            for aggregate_id, aggregate in loaded.items():
                if isinstance(aggregate, cls) and getattr(aggregate, "practice_id", None) == practice_id:
                    found[aggregate_id] = aggregate
        return found

    def _select(self, recorder: Any, ids: list[UUID]) -> dict[UUID, Any]:
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                f"SELECT originator_id, originator_version, topic, state, notification_id FROM "
                f"{recorder.events_table_name} WHERE originator_id = ANY(%s) "
                "ORDER BY originator_id, originator_version",
                (ids,),
            )
            rows = curs.fetchall()
            if rows:
                curs.execute(
                    "SELECT DISTINCT subject_id FROM event_subjects WHERE notification_id = ANY(%s)",
                    ([r["notification_id"] for r in rows],),
                )
                subjects = [r["subject_id"] for r in curs.fetchall()]
            else:
                subjects = []
        if subjects:
            self.store.cipher.prefetch(subjects)
        aggregates: dict[UUID, Any] = {}
        for row in rows:
            stored = StoredEvent(originator_id=row["originator_id"], originator_version=row["originator_version"],
                                 topic=row["topic"], state=bytes(row["state"]))
            domain_event = cast(Any, self.store.mapper.to_domain_event(stored))
            aggregates[row["originator_id"]] = domain_event.mutate(aggregates.get(row["originator_id"]))
        return aggregates

    def _one_by_one(self, ids: list[UUID], cls: type[Any]) -> dict[UUID, Any]:
        aggregates: dict[UUID, Any] = {}
        for aggregate_id in ids:
            try:
                aggregates[aggregate_id] = self.store.load(aggregate_id, cls)
            except NotFound:
                continue
        return aggregates
