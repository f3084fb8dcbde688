"""eventsourcing's PostgreSQL recorder, writing the data keys and the subject index atomically
with the events (same transaction), and answering auditors' per-client history reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow

from application.mapper import AuditedStoredEvent


class AuditedRecorder(PostgresApplicationRecorder):
    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        new_keys = {
            e.subject_id: e.new_key
            for e in stored_events
            if isinstance(e, AuditedStoredEvent) and e.new_key is not None
        }
        if new_keys:
            curs.executemany(
                "INSERT INTO phi_keys (subject_id, wrapped_key) VALUES (%s, %s)",
                list(new_keys.items()),
            )
        shred: Sequence[UUID] = kwargs.get("shred_subjects", ())
        if shred:
            curs.execute(
                "UPDATE phi_keys SET wrapped_key = NULL, shredded_at = now() "
                "WHERE subject_id = ANY(%s)",
                (list(shred),),
            )
        super()._insert_events(curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        rows = [
            (subject, notification_id)
            for e, notification_id in zip(stored_events, ids or (), strict=False)
            if (subject := getattr(e, "subject_id", None)) is not None
        ]
        if rows:
            curs.executemany(
                "INSERT INTO event_subjects (subject_id, notification_id) VALUES (%s, %s)", rows
            )
        return ids

    def select_subjects_between(self, first: int, last: int) -> Sequence[UUID]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                "SELECT DISTINCT subject_id FROM event_subjects WHERE notification_id BETWEEN %s AND %s",
                (first, last),
            )
            return [row["subject_id"] for row in curs.fetchall()]

    def select_subject_notifications(
        self, subject_id: UUID, topics: Sequence[str] = (), limit: int = 10_000
    ) -> Sequence[Notification]:
        sql = (
            f"SELECT e.* FROM event_subjects s JOIN {self.events_table_name} e "
            "ON e.notification_id = s.notification_id WHERE s.subject_id = %s"
        )
        params: list[Any] = [subject_id]
        if topics:
            sql += " AND e.topic = ANY(%s)"
            params.append(list(topics))
        sql += " ORDER BY s.notification_id LIMIT %s"
        params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params)  # type: ignore[arg-type]
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]
