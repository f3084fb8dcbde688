"""The clinical_notes read model: rows follow the note's life, the queues, record scope, and a
rebuild from zero equals the incremental result."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from projections.clinical_notes import ClinicalNotesView, NoteRow
from tests.application.test_notes import NOW, SOAP, Clinic, make_clinic


@pytest.fixture
def clinic(container: Any) -> Clinic:
    return make_clinic(container)


def caught_up(c: Clinic) -> ClinicalNotesView:
    c.k.runner("clinical_notes").catch_up()
    view: ClinicalNotesView = c.k.clinical_notes
    return view


def row(c: Clinic, note_id: UUID) -> NoteRow:
    found = caught_up(c).get(c.id, note_id)
    assert found is not None
    return found


def ids(rows: list[NoteRow]) -> list[UUID]:
    return [r.note_id for r in rows]


def test_a_supervisees_note_is_fully_signed_only_after_the_cosign(clinic: Clinic) -> None:
    c = clinic
    note_id = c.draft(c.supervisee)
    r = row(c, note_id)
    assert (r.status, r.author_id, r.supervisor_id, r.requires_cosign, r.content_version, r.drafted_at) == (
        "draft", c.supervisee, c.supervisor, True, 1, NOW)
    assert ids(caught_up(c).unsigned(c.id, c.supervisee, only_clients=None, care_team_any=None)) == [note_id]

    c.clock.advance(timedelta(minutes=10))
    with c.as_(c.supervisee):
        c.notes.submit(c.id, note_id)
    r = row(c, note_id)
    assert (r.status, r.submitted_at) == ("in_review", NOW + timedelta(minutes=10))
    assert ids(caught_up(c).in_review_for(c.id, c.supervisor, only_clients=None, care_team_any=None)) == [note_id]

    c.clock.advance(timedelta(minutes=10))
    with c.as_(c.supervisee):
        c.notes.sign(c.id, note_id)
    r = row(c, note_id)
    assert (r.status, r.awaiting_cosign, r.signed_at, r.fully_signed_at) == (
        "signed", True, NOW + timedelta(minutes=20), None)
    view = caught_up(c)
    assert ids(view.awaiting_cosign(c.id, c.supervisor, only_clients=None, care_team_any=None)) == [note_id]
    assert ids(view.unsigned(c.id, c.supervisee, only_clients=None, care_team_any=None)) == [note_id]
    assert ids(view.find(c.id, only_clients=None, care_team_any=None, status="awaiting_cosign",
                         author_id=c.supervisee)) == [note_id]

    c.clock.advance(timedelta(hours=2))
    with c.as_supervisor():
        c.notes.cosign(c.id, note_id)
    r = row(c, note_id)
    done = NOW + timedelta(hours=2, minutes=20)
    assert (r.awaiting_cosign, r.cosigned_at, r.fully_signed_at) == (False, done, done)
    view = caught_up(c)
    assert view.awaiting_cosign(c.id, c.supervisor, only_clients=None, care_team_any=None) == []
    assert view.unsigned(c.id, c.supervisee, only_clients=None, care_team_any=None) == []


def test_amendments_and_addenda(clinic: Clinic) -> None:
    c = clinic
    note_id = c.draft()
    with c.as_(c.author):
        c.notes.sign(c.id, note_id)
        c.notes.add_addendum(c.id, note_id, "Called the client the next day.")
        c.notes.add_addendum(c.id, note_id, "Client confirmed the plan.")
    r = row(c, note_id)
    assert (r.status, r.fully_signed_at, r.addenda, r.requires_cosign, r.supervisor_id) == (
        "signed", NOW, 2, False, None)
    assert caught_up(c).unsigned(c.id, c.author, only_clients=None, care_team_any=None) == []

    c.clock.advance(timedelta(days=1))
    with c.as_(c.author):
        c.notes.amend(c.id, note_id, "Wrong plan.", {"plan": "CBT biweekly."})
    r = row(c, note_id)
    assert (r.status, r.content_version, r.last_amended_at, r.signed_at, r.fully_signed_at) == (
        "amended", 2, NOW + timedelta(days=1), NOW, NOW)
    assert ids(caught_up(c).unsigned(c.id, c.author, only_clients=None, care_team_any=None)) == [note_id]


def test_lists_narrow_to_the_care_team(clinic: Clinic) -> None:
    c = clinic
    mine = c.draft()
    theirs = c.draft(c.outsider, client_id=c.other_client)
    view = caught_up(c)

    def listed(team: set[UUID] | None, **kw: Any) -> set[UUID]:
        return set(ids(view.find(c.id, only_clients=None, care_team_any=team, **kw)))

    assert listed(None) == {mine, theirs}
    assert listed({c.author}) == {mine}
    assert listed({c.outsider}) == {theirs}
    assert listed({c.supervisor, c.supervisee}) == {mine}  # a supervisor sees the supervisee's clients
    assert listed(None, client_id=c.other_client) == {theirs}
    assert listed(None, author_id=c.author) == {mine}
    assert listed(None, status="signed") == set()
    with c.system():
        c.k.clients.unassign(c.id, c.client, c.author)
    view = caught_up(c)
    assert listed({c.author}) == set()


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("clinical_notes", "clinical_notes_care_team")
        }


def test_rebuild_equals_incremental(isolated_container: Any) -> None:
    c = make_clinic(isolated_container)
    runner = isolated_container.runner("clinical_notes")
    runner.batch_size = 3
    notes = [c.draft(), c.draft(c.supervisee), c.draft(sections={"subjective": "partial"}), c.draft()]
    runner.catch_up()
    with c.as_(c.author):
        c.notes.sign(c.id, notes[0])
        c.notes.add_addendum(c.id, notes[0], "late entry")
        c.clock.advance(timedelta(hours=1))
        c.notes.amend(c.id, notes[0], "Correction.", {"plan": "Changed."})
        c.notes.edit(c.id, notes[2], sections={**SOAP})
        c.notes.submit(c.id, notes[2])
        c.notes.bulk_sign(c.id, [notes[2], notes[3]])
    with c.as_(c.supervisee):
        c.notes.sign(c.id, notes[1])
    runner.catch_up()
    with c.as_supervisor():
        c.notes.cosign(c.id, notes[1])
    runner.catch_up()
    incremental = snapshot(isolated_container.database_url)
    assert len(incremental["clinical_notes"]) == 4
    assert {r.status for r in isolated_container.clinical_notes.find(
        c.id, only_clients=None, care_team_any=None)} == {"amended", "signed"}

    runner.batch_size = 500
    runner.rebuild()
    assert snapshot(isolated_container.database_url) == incremental
    assert runner.status().lag == 0
