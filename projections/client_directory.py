"""Client directory: find clients by name prefix, date of birth, id or status.

Names and dates of birth are never stored in plaintext here: search goes through keyed hashes,
display through a blob encrypted with the client's own key, so crypto-shredding a client
also blinds this table.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.clients.client import Client
from domain.events import ERASED
from projections.base import View
from projections.ports import PhiIndex
from projections.tokens import normalise

DISPLAY_FIELDS = ("first_name", "last_name", "date_of_birth")


@dataclass(frozen=True)
class ClientRow:
    client_id: UUID
    status: str
    care_level: str
    care_team: list[UUID]
    first_name: str
    last_name: str
    date_of_birth: str
    erased: bool


@dataclass(frozen=True)
class Page:
    items: list[ClientRow]
    next_cursor: str | None


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode()).decode()


def _seq(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        from domain.errors import InvalidCommand

        raise InvalidCommand("The cursor is not one this API returned.", field="cursor") from None


class ClientDirectoryView(View):
    tables = ("client_directory",)
    index: PhiIndex
    _batch: _Batch | None = None

    def begin_batch(self, events: Sequence[Any]) -> None:
        known = [e.originator_id for e in events if not isinstance(e, Client.Registered)]
        rows: dict[UUID, dict[str, Any]] = {}
        if known:
            for r in self.curs.execute(
                "SELECT * FROM client_directory WHERE client_id = ANY(%s)", (list(set(known)),)
            ).fetchall():
                rows[r["client_id"]] = dict(r)
        self._batch = _Batch(rows)

    @property
    def batch(self) -> _Batch:
        if self._batch is None:
            raise RuntimeError("No projection batch is open.")
        return self._batch

    def shown(self, client_id: UUID) -> dict[str, Any] | None:
        """The decrypted display values of a client in this batch (None: none or erased)."""
        batch = self.batch
        if client_id not in batch.shown:
            row = batch.rows.get(client_id)
            blob = row["display"] if row else None
            opened = self.index.open(client_id, bytes(blob)) if blob is not None else None
            batch.shown[client_id] = json.loads(opened) if opened is not None else None
        return batch.shown[client_id]

    def flush(self) -> None:
        batch = self.batch
        params = []
        for client_id in batch.dirty:
            row = batch.rows[client_id]
            shown = batch.shown.get(client_id)
            if shown is not None and not row["erased"]:
                practice_id = row["practice_id"]
                row["display"] = self.index.seal(client_id, json.dumps(shown).encode())
                row["name_tokens"] = self.index.name_tokens(practice_id, [shown["first_name"], shown["last_name"]])
                row["dob_token"] = self.index.dob_token(practice_id, date.fromisoformat(shown["date_of_birth"]))
            params.append(tuple(row[c] for c in COLUMNS))
        if params:
            self.curs.executemany(UPSERT, params)
        self._batch = None

    def _display(self, client_id: UUID, blob: bytes | None) -> dict[str, str]:
        opened = self.index.open(client_id, blob) if blob is not None else None
        if opened is None:
            return dict.fromkeys(DISPLAY_FIELDS, ERASED)
        return dict(json.loads(opened))

    def _row(self, r: dict[str, Any]) -> ClientRow:
        shown = self._display(r["client_id"], None if r["erased"] else r["display"])
        return ClientRow(
            client_id=r["client_id"],
            status=r["status"],
            care_level=r["care_level"],
            care_team=list(r["care_team"]),
            first_name=shown["first_name"],
            last_name=shown["last_name"],
            date_of_birth=shown["date_of_birth"],
            erased=r["erased"],
        )

    def search(
        self,
        practice_id: UUID,
        *,
        only_clients: Collection[UUID] | None,
        care_team_any: Collection[UUID] | None,
        q: str | None = None,
        dob: date | None = None,
        status: str | None = None,
        client_id: UUID | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        """`only_clients` / `care_team_any` narrow to the caller's record scope (None: whole practice);
        they have no defaults so that no caller can forget them."""
        sql = "SELECT * FROM client_directory WHERE practice_id = %s AND seq > %s"
        params: list[Any] = [practice_id, _seq(cursor)]
        if only_clients is not None:
            sql += " AND client_id = ANY(%s)"
            params.append(list(only_clients))
        if care_team_any is not None:
            sql += " AND care_team && %s::uuid[]"
            params.append(list(care_team_any))
        words = normalise(q or "")
        if words:
            sql += " AND name_tokens @> %s"
            params.append(self.index.query_tokens(practice_id, q or ""))
        if dob is not None:
            sql += " AND dob_token = %s"
            params.append(self.index.dob_token(practice_id, dob))
        if status:
            sql += " AND status = %s"
            params.append(status)
        if client_id is not None:
            sql += " AND client_id = %s"
            params.append(client_id)
        sql += " ORDER BY seq LIMIT %s"
        params.append(limit + 1)
        rows = self.query(sql, params)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [self._row(r) for r in rows]
        if words:
            items = [i for i in items if _matches(i, q or "")]
        return Page(items=items, next_cursor=_cursor(rows[-1]["seq"]) if more else None)

    def get(self, practice_id: UUID, client_id: UUID) -> ClientRow | None:
        rows = self.query(
            "SELECT * FROM client_directory WHERE practice_id = %s AND client_id = %s",
            (practice_id, client_id),
        )
        return self._row(rows[0]) if rows else None


def _matches(row: ClientRow, q: str) -> bool:
    """Drops the rare 64-bit token collision by checking the decrypted names."""
    names = normalise(f"{row.first_name} {row.last_name}")
    return all(any(n.startswith(w) for n in names) for w in normalise(q))


COLUMNS = (
    "client_id", "practice_id", "seq", "status", "care_level", "name_tokens", "dob_token", "display",
    "care_team", "erased", "registered_at", "updated_at",
)
UPSERT = (
    f"INSERT INTO client_directory ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
    "ON CONFLICT (client_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "client_id")
)


class _Batch:
    """The rows a batch touches, changed in memory and written once at the end."""

    def __init__(self, rows: dict[UUID, dict[str, Any]]) -> None:
        self.rows = rows
        self.shown: dict[UUID, dict[str, Any] | None] = {}
        self.dirty: set[UUID] = set()


class ClientDirectory(Projection[ClientDirectoryView]):
    name = "clients"
    topics = (
        Client.Registered.TOPIC,
        Client.DemographicsUpdated.TOPIC,
        Client.StatusChanged.TOPIC,
        Client.CareLevelChanged.TOPIC,
        Client.CareTeamMemberAssigned.TOPIC,
        Client.CareTeamMemberUnassigned.TOPIC,
        Client.Erased.TOPIC,
    )

    def _row(self, e: Any) -> dict[str, Any] | None:
        batch = self.view.batch
        row = batch.rows.get(e.originator_id)
        if row is not None:
            row["updated_at"] = e.timestamp
            batch.dirty.add(e.originator_id)
        return row

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: Client.Registered, tracking: Tracking) -> None:
        batch = self.view.batch
        batch.rows[e.originator_id] = {
            "client_id": e.originator_id, "practice_id": e.practice_id, "seq": tracking.notification_id,
            "status": "active", "care_level": e.care_level, "name_tokens": [], "dob_token": None,
            "display": None, "care_team": [], "erased": False,
            "registered_at": e.timestamp, "updated_at": e.timestamp,
        }
        batch.dirty.add(e.originator_id)
        batch.shown[e.originator_id] = None if getattr(e, "phi_erased", False) else {
            "first_name": e.first_name,
            "last_name": e.last_name,
            "date_of_birth": e.date_of_birth.isoformat(),
        }

    @process_event.register
    def _(self, e: Client.DemographicsUpdated, tracking: Tracking) -> None:
        if getattr(e, "phi_erased", False) or not set(e.changes) & set(DISPLAY_FIELDS):
            return
        if self._row(e) is None:
            return
        shown = self.view.shown(e.originator_id)
        if shown is None:
            return
        for name in DISPLAY_FIELDS:
            if name in e.changes:
                value = e.changes[name]
                shown[name] = value.isoformat() if isinstance(value, date) else value

    @process_event.register
    def _(self, e: Client.StatusChanged, tracking: Tracking) -> None:
        if (row := self._row(e)) is not None:
            row["status"] = e.status

    @process_event.register
    def _(self, e: Client.CareLevelChanged, tracking: Tracking) -> None:
        if (row := self._row(e)) is not None:
            row["care_level"] = e.care_level

    @process_event.register
    def _(self, e: Client.CareTeamMemberAssigned, tracking: Tracking) -> None:
        if (row := self._row(e)) is not None:
            row["care_team"] = [s for s in row["care_team"] if s != e.staff_id] + [e.staff_id]

    @process_event.register
    def _(self, e: Client.CareTeamMemberUnassigned, tracking: Tracking) -> None:
        if (row := self._row(e)) is not None:
            row["care_team"] = [s for s in row["care_team"] if s != e.staff_id]

    @process_event.register
    def _(self, e: Client.Erased, tracking: Tracking) -> None:
        if (row := self._row(e)) is not None:
            row.update(erased=True, display=None, name_tokens=[], dob_token=None)
            self.view.batch.shown[e.originator_id] = None
