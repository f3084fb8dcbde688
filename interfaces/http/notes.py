"""Clinical notes (seed 001, Module 4): draft, review, sign, co-sign, amend, addenda, bulk signing.

Lists and queues show metadata only; a note's content (`GET /{note_id}`, `/versions`) is a
recorded PHI read. Every note route checks the client is in the caller's record scope.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from application.clients import Read
from application.errors import Unavailable
from domain.errors import InvalidCommand
from domain.identity.permissions import Permission
from interfaces.http.deps import Authorize, Caller, ContainerDep
from interfaces.http.note_schemas import (
    AddendumIn,
    AmendIn,
    BulkResultOut,
    BulkSignIn,
    BulkSignOut,
    LinkAppointmentIn,
    NoteEditIn,
    NoteIn,
    NoteOut,
    NoteSummaryOut,
    QueueOut,
    ReturnIn,
    SignedOut,
    VersionOut,
    VersionsOut,
)
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1/notes", tags=["clinical notes"])
ViewNotes = Annotated[Caller, Depends(Authorize(Permission.VIEW_NOTES))]
WriteNotes = Annotated[Caller, Depends(Authorize(Permission.WRITE_NOTES))]
Purpose = Annotated[str, Query(description="Why the note is read (accounting of disclosures).", max_length=32)]
MinPosition = Annotated[int | None, Query(ge=0, description="Wait for this log position")]


def _accepted(saved: object) -> Accepted:
    return Accepted.model_validate(saved, from_attributes=True)


def _signed(saved: object) -> SignedOut:
    return SignedOut.model_validate(saved, from_attributes=True)


def _wait(k: ContainerDep, min_position: int | None) -> None:
    if min_position and not k.clinical_notes.caught_up_to(k.store.name, min_position):
        raise Unavailable("The note list is catching up; retry shortly.")


@router.post("", status_code=201, response_model=Accepted)
def draft_note(body: NoteIn, caller: WriteNotes, k: ContainerDep) -> Accepted:
    """Draft a note as the caller (its author). A supervised author's notes need their supervisor's
    co-signature."""
    return _accepted(k.notes.draft(
        caller.practice_id, body.client_id, body.note_type, sections=body.sections, icd10_codes=body.icd10_codes,
        service_date=body.service_date, appointment_id=body.appointment_id, template_id=body.template_id,
    ))


@router.get("", response_model=list[NoteSummaryOut])
def list_notes(
    caller: ViewNotes,
    k: ContainerDep,
    client_id: UUID | None = None,
    author_id: UUID | None = None,
    status: Literal["draft", "in_review", "signed", "amended", "awaiting_cosign"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    min_position: MinPosition = None,
) -> list[NoteSummaryOut]:
    """Metadata only (no content, no PHI read), newest service date first, within the caller's scope."""
    _wait(k, min_position)
    scope = k.notes.list_scope()
    rows = k.clinical_notes.find(
        caller.practice_id, only_clients=scope.client_ids, care_team_any=scope.care_team_any,
        client_id=client_id, author_id=author_id, status=status, limit=limit,
    )
    return [NoteSummaryOut.of(r) for r in rows]


@router.get("/queue", response_model=QueueOut)
def my_queue(caller: ViewNotes, k: ContainerDep, min_position: MinPosition = None) -> QueueOut:
    """My notes not fully signed, and my supervisees' notes waiting for my review or co-signature."""
    _wait(k, min_position)
    scope = k.notes.list_scope()
    view, pid, me = k.clinical_notes, caller.practice_id, caller.member_id
    only, team = scope.client_ids, scope.care_team_any
    return QueueOut(
        unsigned=[NoteSummaryOut.of(r) for r in view.unsigned(pid, me, only_clients=only, care_team_any=team)],
        awaiting_my_cosign=[
            NoteSummaryOut.of(r) for r in view.awaiting_cosign(pid, me, only_clients=only, care_team_any=team)
        ],
        in_review_for_me=[
            NoteSummaryOut.of(r) for r in view.in_review_for(pid, me, only_clients=only, care_team_any=team)
        ],
    )


@router.post("/sign", response_model=BulkSignOut)
def bulk_sign(body: BulkSignIn, caller: WriteNotes, k: ContainerDep) -> BulkSignOut:
    """Sign several of my notes; each is signed on its own, refusals are reported per note."""
    outcomes = k.notes.bulk_sign(caller.practice_id, body.note_ids)
    return BulkSignOut(
        signed=sum(o.outcome == "signed" for o in outcomes),
        refused=sum(o.outcome == "refused" for o in outcomes),
        position=max((o.position or 0 for o in outcomes), default=0),
        results=[
            BulkResultOut(note_id=o.note_id, outcome=o.outcome, content_version=o.content_version,
                          content_hash=o.content_hash, error=o.error, detail=o.detail)
            for o in outcomes
        ],
    )


@router.get("/{note_id}", response_model=NoteOut)
def get_note(note_id: UUID, caller: ViewNotes, k: ContainerDep, purpose: Purpose = "treatment") -> NoteOut:
    """The note with its content; recorded as a PHI read of the client's record."""
    return NoteOut.of(k.notes.get(caller.practice_id, note_id, Read("GET /api/v1/notes/{id}", purpose)))


@router.get("/{note_id}/versions", response_model=VersionsOut)
def note_versions(note_id: UUID, caller: ViewNotes, k: ContainerDep, purpose: Purpose = "treatment") -> VersionsOut:
    """Every content version with its signatures and their hashes (a PHI read)."""
    note = k.notes.versions(caller.practice_id, note_id, Read("GET /api/v1/notes/{id}/versions", purpose))
    return VersionsOut(id=note.id, note_type=note.note_type, status=note.status,
                       versions=[VersionOut.of(v) for v in note.versions])


@router.patch("/{note_id}", response_model=Accepted)
def edit_note(note_id: UUID, body: NoteEditIn, caller: WriteNotes, k: ContainerDep) -> Accepted:
    """Change a draft or a note in review (a signed note is amended instead: 409)."""
    if body.sections is None and body.icd10_codes is None and body.service_date is None:
        raise InvalidCommand("Name at least one of sections, icd10_codes, service_date.", field="sections")
    return _accepted(k.notes.edit(caller.practice_id, note_id, sections=body.sections,
                                  icd10_codes=body.icd10_codes, service_date=body.service_date))


@router.post("/{note_id}/appointment", response_model=Accepted)
def link_appointment(note_id: UUID, body: LinkAppointmentIn, caller: WriteNotes, k: ContainerDep) -> Accepted:
    return _accepted(k.notes.link_appointment(caller.practice_id, note_id, body.appointment_id))


@router.post("/{note_id}/submit", response_model=Accepted)
def submit(note_id: UUID, caller: WriteNotes, k: ContainerDep) -> Accepted:
    """The author hands the note in for review (every required section written, else 422)."""
    return _accepted(k.notes.submit(caller.practice_id, note_id))


@router.post("/{note_id}/return", response_model=Accepted)
def return_to_draft(note_id: UUID, body: ReturnIn, caller: WriteNotes, k: ContainerDep) -> Accepted:
    """A reviewer sends a note in review back to its author, saying why."""
    return _accepted(k.notes.return_to_draft(caller.practice_id, note_id, body.reason))


@router.post("/{note_id}/sign", response_model=SignedOut)
def sign(note_id: UUID, caller: WriteNotes, k: ContainerDep) -> SignedOut:
    """The author signs the current content version; the response holds the SHA-256 recorded."""
    return _signed(k.notes.sign(caller.practice_id, note_id))


@router.post("/{note_id}/cosign", response_model=SignedOut)
def cosign(note_id: UUID, caller: WriteNotes, k: ContainerDep) -> SignedOut:
    """The supervisor named on the note co-signs the version its author signed."""
    return _signed(k.notes.cosign(caller.practice_id, note_id))


@router.post("/{note_id}/amend", response_model=SignedOut)
def amend(note_id: UUID, body: AmendIn, caller: WriteNotes, k: ContainerDep) -> SignedOut:
    """A new content version of a signed note (reason required); the author signs it again. The
    hash returned is the new content's, not yet signed."""
    return _signed(k.notes.amend(caller.practice_id, note_id, body.reason, body.sections, body.icd10_codes))


@router.post("/{note_id}/addenda", response_model=Accepted)
def add_addendum(note_id: UUID, body: AddendumIn, caller: WriteNotes, k: ContainerDep) -> Accepted:
    """Append text to a signed note without changing its signed content."""
    return _accepted(k.notes.add_addendum(caller.practice_id, note_id, body.text))
