"""Clinical notes as metadata: lists per client and author, the unsigned and co-signature queues.

No content: ids, note type, dates, statuses, versions and times only. The content is read from
the aggregate (a recorded PHI read).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.clients.client import Client
from domain.clinical.clinical_note import ClinicalNote
from projections.base import View

COLUMNS = (
    "note_id, practice_id, client_id, author_id, supervisor_id, note_type, service_date, appointment_id, status, "
    "content_version, requires_cosign, awaiting_cosign, drafted_at, submitted_at, signed_at, cosigned_at, "
    "fully_signed_at, last_amended_at, addenda"
)
STATUS_FILTERS = ("draft", "in_review", "signed", "amended", "awaiting_cosign")


@dataclass(frozen=True)
class NoteRow:
    note_id: UUID
    practice_id: UUID
    client_id: UUID
    author_id: UUID
    supervisor_id: UUID | None
    note_type: str
    service_date: date
    appointment_id: UUID | None
    status: str
    content_version: int
    requires_cosign: bool
    awaiting_cosign: bool
    drafted_at: datetime
    submitted_at: datetime | None
    signed_at: datetime | None
    cosigned_at: datetime | None
    fully_signed_at: datetime | None
    last_amended_at: datetime | None
    addenda: int


class ClinicalNotesView(View):
    tables = ("clinical_notes", "clinical_notes_care_team")

    def _select(
        self, practice_id: UUID, where: list[str], params: list[Any], *, only_clients: Collection[UUID] | None,
        care_team_any: Collection[UUID] | None, order: str, limit: int,
    ) -> list[NoteRow]:
        sql = f"SELECT {COLUMNS} FROM clinical_notes n WHERE n.practice_id = %s"
        values: list[Any] = [practice_id]
        if only_clients is not None:
            sql += " AND n.client_id = ANY(%s)"
            values.append(list(only_clients))
        if care_team_any is not None:
            sql += (" AND EXISTS (SELECT 1 FROM clinical_notes_care_team t WHERE t.client_id = n.client_id "
                    "AND t.staff_id = ANY(%s))")
            values.append(list(care_team_any))
        for condition in where:
            sql += f" AND ({condition})"
        values.extend(params)
        sql += f" ORDER BY {order} LIMIT %s"
        values.append(limit)
        return [NoteRow(**r) for r in self.query(sql, values)]

    def find(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, care_team_any: Collection[UUID] | None,
        client_id: UUID | None = None, author_id: UUID | None = None, status: str | None = None, limit: int = 100,
    ) -> list[NoteRow]:
        """Newest service date first. `only_clients` / `care_team_any` narrow to the caller's record
        scope (None: no narrowing); no defaults, so no caller forgets them. `status` is a note
        status or `awaiting_cosign`."""
        where: list[str] = []
        params: list[Any] = []
        if client_id is not None:
            where.append("n.client_id = %s")
            params.append(client_id)
        if author_id is not None:
            where.append("n.author_id = %s")
            params.append(author_id)
        if status == "awaiting_cosign":
            where.append("n.awaiting_cosign")
        elif status is not None:
            where.append("n.status = %s")
            params.append(status)
        return self._select(practice_id, where, params, only_clients=only_clients, care_team_any=care_team_any,
                            order="n.service_date DESC, n.drafted_at DESC, n.note_id", limit=limit)

    def unsigned(
        self, practice_id: UUID, author_id: UUID, *, only_clients: Collection[UUID] | None,
        care_team_any: Collection[UUID] | None, limit: int = 200,
    ) -> list[NoteRow]:
        """The author's notes not fully signed: unsigned (draft, in review, amended) or awaiting
        the co-signature; oldest service date first."""
        return self._select(
            practice_id, ["n.author_id = %s", "n.status <> 'signed' OR n.awaiting_cosign"], [author_id],
            only_clients=only_clients, care_team_any=care_team_any,
            order="n.service_date, n.drafted_at, n.note_id", limit=limit,
        )

    def awaiting_cosign(
        self, practice_id: UUID, supervisor_id: UUID, *, only_clients: Collection[UUID] | None,
        care_team_any: Collection[UUID] | None, limit: int = 200,
    ) -> list[NoteRow]:
        """Notes signed by their author that wait for this supervisor's co-signature, oldest first."""
        return self._select(
            practice_id, ["n.supervisor_id = %s", "n.awaiting_cosign"], [supervisor_id],
            only_clients=only_clients, care_team_any=care_team_any,
            order="n.signed_at, n.service_date, n.note_id", limit=limit,
        )

    def in_review_for(
        self, practice_id: UUID, supervisor_id: UUID, *, only_clients: Collection[UUID] | None,
        care_team_any: Collection[UUID] | None, limit: int = 200,
    ) -> list[NoteRow]:
        """Supervisees' notes submitted for this supervisor's review, oldest first."""
        return self._select(
            practice_id, ["n.supervisor_id = %s", "n.status = 'in_review'"], [supervisor_id],
            only_clients=only_clients, care_team_any=care_team_any,
            order="n.submitted_at, n.service_date, n.note_id", limit=limit,
        )

    def get(self, practice_id: UUID, note_id: UUID) -> NoteRow | None:
        rows = self.query(
            f"SELECT {COLUMNS} FROM clinical_notes WHERE practice_id = %s AND note_id = %s", (practice_id, note_id)
        )
        return NoteRow(**rows[0]) if rows else None


N = ClinicalNote


class ClinicalNotes(Projection[ClinicalNotesView]):
    name = "clinical_notes"
    topics = (
        N.Drafted.TOPIC, N.Edited.TOPIC, N.AppointmentLinked.TOPIC, N.Submitted.TOPIC, N.ReturnedToDraft.TOPIC,
        N.Signed.TOPIC, N.Cosigned.TOPIC, N.Amended.TOPIC, N.AddendumAdded.TOPIC,
        Client.CareTeamMemberAssigned.TOPIC, Client.CareTeamMemberUnassigned.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    def _update(self, note_id: UUID, assignments: str, values: tuple[Any, ...], at: datetime) -> None:
        self.view.curs.execute(
            f"UPDATE clinical_notes SET {assignments}, updated_at = %s WHERE note_id = %s", (*values, at, note_id)
        )

    @process_event.register
    def _(self, e: ClinicalNote.Drafted, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO clinical_notes (note_id, practice_id, client_id, author_id, supervisor_id, note_type, "
            "service_date, appointment_id, status, content_version, requires_cosign, drafted_at, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'draft', 1, %s, %s, %s) ON CONFLICT (note_id) DO NOTHING",
            (e.originator_id, e.practice_id, e.client_id, e.author_id, e.supervisor_id, e.note_type, e.service_date,
             e.appointment_id, e.requires_cosign, e.drafted_at, e.drafted_at),
        )

    @process_event.register
    def _(self, e: ClinicalNote.Edited, tracking: Tracking) -> None:
        self._update(e.originator_id, "status = 'draft', service_date = %s", (e.service_date,), e.at)

    @process_event.register
    def _(self, e: ClinicalNote.AppointmentLinked, tracking: Tracking) -> None:
        self._update(e.originator_id, "appointment_id = %s", (e.appointment_id,), e.at)

    @process_event.register
    def _(self, e: ClinicalNote.Submitted, tracking: Tracking) -> None:
        self._update(e.originator_id, "status = 'in_review', requires_cosign = %s, supervisor_id = %s, "
                     "submitted_at = %s", (e.requires_cosign, e.supervisor_id, e.at), e.at)

    @process_event.register
    def _(self, e: ClinicalNote.ReturnedToDraft, tracking: Tracking) -> None:
        self._update(e.originator_id, "status = 'draft'", (), e.at)

    @process_event.register
    def _(self, e: ClinicalNote.Signed, tracking: Tracking) -> None:
        """As the aggregate: `signed_at` is the first signature; without a co-signature to wait for,
        the first signature also completes the note."""
        self._update(
            e.originator_id,
            "status = 'signed', signed_at = COALESCE(signed_at, %s), awaiting_cosign = requires_cosign, "
            "fully_signed_at = CASE WHEN requires_cosign THEN fully_signed_at ELSE COALESCE(fully_signed_at, %s) END",
            (e.at, e.at), e.at,
        )

    @process_event.register
    def _(self, e: ClinicalNote.Cosigned, tracking: Tracking) -> None:
        self._update(
            e.originator_id,
            "awaiting_cosign = false, cosigned_at = COALESCE(cosigned_at, %s), "
            "fully_signed_at = COALESCE(fully_signed_at, %s)",
            (e.at, e.at), e.at,
        )

    @process_event.register
    def _(self, e: ClinicalNote.Amended, tracking: Tracking) -> None:
        self._update(e.originator_id, "status = 'amended', awaiting_cosign = false, content_version = %s, "
                     "last_amended_at = %s", (e.version, e.at), e.at)

    @process_event.register
    def _(self, e: ClinicalNote.AddendumAdded, tracking: Tracking) -> None:
        self._update(e.originator_id, "addenda = addenda + 1", (), e.at)

    @process_event.register
    def _(self, e: Client.CareTeamMemberAssigned, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO clinical_notes_care_team (client_id, staff_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, e.staff_id),
        )

    @process_event.register
    def _(self, e: Client.CareTeamMemberUnassigned, tracking: Tracking) -> None:
        self.view.curs.execute(
            "DELETE FROM clinical_notes_care_team WHERE client_id = %s AND staff_id = %s",
            (e.originator_id, e.staff_id),
        )
