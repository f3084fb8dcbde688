"""Client directory: find clients by name prefix, date of birth, id or status.

Names and dates of birth are never stored in plaintext here: search goes through keyed hashes,
display through a blob encrypted with the client's own key, so crypto-shredding a client
also blinds this table.
"""

from __future__ import annotations

import base64
import json
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
        q: str | None = None,
        dob: date | None = None,
        status: str | None = None,
        client_id: UUID | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        sql = "SELECT * FROM client_directory WHERE practice_id = %s AND seq > %s"
        params: list[Any] = [practice_id, _seq(cursor)]
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

    def _write_phi(self, client_id: UUID, practice_id: UUID, shown: dict[str, Any]) -> None:
        index = self.view.index
        blob = index.seal(client_id, json.dumps(shown).encode())
        dob = shown["date_of_birth"]
        self.view.curs.execute(
            "UPDATE client_directory SET name_tokens = %s, dob_token = %s, display = %s "
            "WHERE client_id = %s",
            (
                index.name_tokens(practice_id, [shown["first_name"], shown["last_name"]]),
                index.dob_token(practice_id, date.fromisoformat(dob)),
                blob,
                client_id,
            ),
        )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: Client.Registered, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO client_directory (client_id, practice_id, seq, status, care_level, "
            "registered_at, updated_at) VALUES (%s, %s, %s, 'active', %s, %s, %s)",
            (e.originator_id, e.practice_id, tracking.notification_id, e.care_level, e.timestamp, e.timestamp),
        )
        if not getattr(e, "phi_erased", False):
            shown = {
                "first_name": e.first_name,
                "last_name": e.last_name,
                "date_of_birth": e.date_of_birth.isoformat(),
            }
            self._write_phi(e.originator_id, e.practice_id, shown)

    @process_event.register
    def _(self, e: Client.DemographicsUpdated, tracking: Tracking) -> None:
        if getattr(e, "phi_erased", False) or not set(e.changes) & set(DISPLAY_FIELDS):
            return
        rows = self.view.curs.execute(
            "SELECT practice_id, display FROM client_directory WHERE client_id = %s",
            (e.originator_id,),
        ).fetchall()
        if not rows or rows[0]["display"] is None:
            return
        opened = self.view.index.open(e.originator_id, bytes(rows[0]["display"]))
        if opened is None:
            return
        shown = json.loads(opened)
        for name in DISPLAY_FIELDS:
            if name in e.changes:
                value = e.changes[name]
                shown[name] = value.isoformat() if isinstance(value, date) else value
        self._write_phi(e.originator_id, rows[0]["practice_id"], shown)

    @process_event.register
    def _(self, e: Client.StatusChanged, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE client_directory SET status = %s, updated_at = %s WHERE client_id = %s",
            (e.status, e.timestamp, e.originator_id),
        )

    @process_event.register
    def _(self, e: Client.CareLevelChanged, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE client_directory SET care_level = %s, updated_at = %s WHERE client_id = %s",
            (e.care_level, e.timestamp, e.originator_id),
        )

    @process_event.register
    def _(self, e: Client.CareTeamMemberAssigned, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE client_directory SET care_team = array_append(array_remove(care_team, %s), %s) "
            "WHERE client_id = %s",
            (e.staff_id, e.staff_id, e.originator_id),
        )

    @process_event.register
    def _(self, e: Client.CareTeamMemberUnassigned, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE client_directory SET care_team = array_remove(care_team, %s) WHERE client_id = %s",
            (e.staff_id, e.originator_id),
        )

    @process_event.register
    def _(self, e: Client.Erased, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE client_directory SET erased = true, display = NULL, name_tokens = '{}', "
            "dob_token = NULL, updated_at = %s WHERE client_id = %s",
            (e.timestamp, e.originator_id),
        )
