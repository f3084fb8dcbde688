"""Clinical note commands and the recorded reads of their content (seed 001, Module 4).

Who may do what, beyond the route's permission:
- every command and read needs the note's client in the caller's record scope (a clinician their
  caseload, a supervisor also their supervisees' clients, admins every client), like ClientService;
- the author is the actor (the membership in the audit context); only the author submits, signs
  and amends, only the supervisor named on the note co-signs (domain rules);
- edits and the appointment link: the author or a reviewer; returning a note to draft: a reviewer.
  A reviewer is the note's supervisor, a supervisor of the author, or a practice-scope role.

Reads of a note's content (`get`, `versions`) save a PhiAccess, as chart reads do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application import access, audit
from application.clients import Read
from application.errors import Forbidden, NotFound, SubjectErased
from application.ports import Clock
from application.store import EventStore, Saved
from domain.access.phi_access import PURPOSES, PhiAccess
from domain.clients.client import Client
from domain.clinical.clinical_note import ClinicalNote, NotTheAuthor
from domain.clinical.note_types import check_sections, note_type
from domain.errors import DomainError, InvalidCommand
from domain.identity.licenses import is_supervised
from domain.identity.membership import Membership
from domain.identity.permissions import Permission, Scope
from domain.practices.practice import Practice
from domain.scheduling.appointment import Appointment
from domain.scheduling.working_time import zone

PHI_FIELDS_READ = ["clinical_note"]
MAX_BULK = 200


class NotAReviewer(Forbidden):
    code = "not_a_reviewer"


@dataclass(frozen=True)
class SignedNote:
    """A signature: the note's event version and log position, the content version signed and
    the SHA-256 the signature records."""

    id: UUID
    version: int
    position: int
    content_version: int
    content_hash: str


@dataclass(frozen=True)
class BulkOutcome:
    note_id: UUID
    outcome: str  # "signed" | "refused"
    content_version: int | None = None
    content_hash: str | None = None
    position: int | None = None
    error: str | None = None
    detail: str | None = None


class NoteService:
    def __init__(self, store: EventStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    # --- who and whose ------------------------------------------------------------------------

    def _actor(self, permission: Permission) -> UUID:
        """The acting member (from the audit context), holding `permission` when a person acts."""
        grant = access.current()
        if grant is not None and not grant.can(permission):
            raise Forbidden(f"The {grant.role} role does not have the {permission.value} permission.")
        try:
            return UUID(audit.current().actor_id)
        except ValueError:
            raise Forbidden("Clinical notes are written by members of the practice.") from None

    def _client_in_scope(self, practice_id: UUID, client_id: UUID) -> Client:
        client: Client = self.store.load(client_id, Client)
        if client.practice_id != practice_id:
            raise NotFound(f"No client {client_id}.")
        grant = access.current()
        if grant is not None and not grant.sees(client.id, client.care_team):
            raise access.OutsideCaseload("This client is outside your caseload.")
        return client

    def _note(self, practice_id: UUID, note_id: UUID) -> ClinicalNote:
        note: ClinicalNote = self.store.load(note_id, ClinicalNote)
        if note.practice_id != practice_id:
            raise NotFound(f"No clinical note {note_id}.")
        self._client_in_scope(practice_id, note.client_id)
        return note

    @staticmethod
    def _is_reviewer(note: ClinicalNote, who: UUID) -> bool:
        grant = access.current()
        if grant is None or who == note.supervisor_id or grant.scope is Scope.PRACTICE:
            return True
        return grant.scope is Scope.SUPERVISEES and who != note.author_id and note.author_id in grant.team_ids

    def _require_author_or_reviewer(self, note: ClinicalNote, who: UUID, action: str) -> None:
        if who != note.author_id and not self._is_reviewer(note, who):
            raise NotAReviewer(f"Only the note's author or a reviewer may {action} it.")

    def _appointment(self, practice_id: UUID, client_id: UUID, appointment_id: UUID) -> Appointment:
        """The visit a note documents: of this practice and about this client."""
        appointment: Appointment = self.store.load(appointment_id, Appointment)
        if appointment.practice_id != practice_id:
            raise NotFound(f"No appointment {appointment_id}.")
        if appointment.client_id != client_id:
            raise InvalidCommand("The appointment is another client's.", field="appointment_id")
        return appointment

    def _practice(self, practice_id: UUID) -> Practice:
        practice: Practice = self.store.load(practice_id, Practice)
        return practice

    # --- drafting -----------------------------------------------------------------------------

    def draft(
        self,
        practice_id: UUID,
        client_id: UUID,
        note_type_code: str,
        *,
        sections: Mapping[str, str] | None = None,
        icd10_codes: Iterable[str] = (),
        service_date: date | None = None,
        appointment_id: UUID | None = None,
        template_id: UUID | None = None,
    ) -> Saved:
        """A new draft by the acting member. `service_date` defaults to the linked appointment's
        practice-local date; a template's text fills the sections not given. A supervised author
        (license type under supervision, supervisor assigned) drafts notes needing co-signature."""
        author_id = self._actor(Permission.WRITE_NOTES)
        client = self._client_in_scope(practice_id, client_id)
        if client.erased:
            raise SubjectErased("This client's personal data has been erased.")
        kind = note_type(note_type_code)
        content = check_sections(kind, dict(sections or {}))
        practice: Practice | None = None
        if template_id is not None:
            practice = self._practice(practice_id)
            template = practice.note_template(template_id)
            if template.note_type != kind.code:
                raise InvalidCommand(f"The template is for another note type ({template.note_type}).",
                                     field="template_id")
            content = template.prefill(content)
        if appointment_id is not None:
            appointment = self._appointment(practice_id, client_id, appointment_id)
            if service_date is None:
                practice = practice or self._practice(practice_id)
                service_date = appointment.starts_at.astimezone(zone(practice.time_zone)).date()
        if service_date is None:
            raise InvalidCommand("A note without an appointment needs its service date.", field="service_date")
        try:
            author: Membership = self.store.load(author_id, Membership)
        except NotFound:
            raise Forbidden("Clinical notes are written by members of the practice.") from None
        cosign = author.supervisor_id is not None and is_supervised(author.license_type)
        note = ClinicalNote.draft(
            practice_id, client_id, author_id, kind.code, service_date, now=self.clock.now(), sections=content,
            icd10_codes=icd10_codes, appointment_id=appointment_id, requires_cosign=cosign,
            supervisor_id=author.supervisor_id if cosign else None,
        )
        return self.store.save_one(note)

    def edit(
        self,
        practice_id: UUID,
        note_id: UUID,
        *,
        sections: Mapping[str, str] | None = None,
        icd10_codes: Iterable[str] | None = None,
        service_date: date | None = None,
    ) -> Saved:
        """Change a draft or a note in review. Sections given replace those sections (an empty text
        clears one); the others are kept. Codes given replace the codes."""
        who = self._actor(Permission.WRITE_NOTES)
        note = self._note(practice_id, note_id)
        self._require_author_or_reviewer(note, who, "edit")
        merged = None if sections is None else {**note.sections, **check_sections(note.kind, dict(sections))}
        note.edit(who, self.clock.now(), sections=merged, icd10_codes=icd10_codes, service_date=service_date)
        return self.store.save_one(note)

    def link_appointment(self, practice_id: UUID, note_id: UUID, appointment_id: UUID) -> Saved:
        who = self._actor(Permission.WRITE_NOTES)
        note = self._note(practice_id, note_id)
        self._require_author_or_reviewer(note, who, "link")
        self._appointment(practice_id, note.client_id, appointment_id)
        note.link_appointment(appointment_id, who, self.clock.now())
        return self.store.save_one(note)

    # --- review and signatures ----------------------------------------------------------------

    def submit(self, practice_id: UUID, note_id: UUID) -> Saved:
        who = self._actor(Permission.WRITE_NOTES)
        note = self._note(practice_id, note_id)
        note.submit(who, self.clock.now())
        return self.store.save_one(note)

    def return_to_draft(self, practice_id: UUID, note_id: UUID, reason: str) -> Saved:
        who = self._actor(Permission.WRITE_NOTES)
        note = self._note(practice_id, note_id)
        if not self._is_reviewer(note, who):
            raise NotAReviewer("Only a reviewer (the note's supervisor or a practice admin) returns a note.")
        note.return_to_draft(who, reason, self.clock.now())
        return self.store.save_one(note)

    def _signature(self, practice_id: UUID, note_id: UUID, act: Callable[[ClinicalNote, UUID], str]) -> SignedNote:
        who = self._actor(Permission.WRITE_NOTES)
        note = self._note(practice_id, note_id)
        digest = act(note, who)
        saved = self.store.save_one(note)
        return SignedNote(saved.id, saved.version, saved.position, note.content_version, digest)

    def sign(self, practice_id: UUID, note_id: UUID) -> SignedNote:
        """The author signs the current content version; the SHA-256 of its canonical content is recorded."""
        return self._signature(practice_id, note_id, lambda note, who: note.sign(who, self.clock.now()))

    def cosign(self, practice_id: UUID, note_id: UUID) -> SignedNote:
        """The supervisor named on the note co-signs the version its author signed."""
        return self._signature(practice_id, note_id, lambda note, who: note.cosign(who, self.clock.now()))

    def bulk_sign(self, practice_id: UUID, note_ids: Iterable[UUID]) -> list[BulkOutcome]:
        """Sign each note in its own save; a refusal (with its error code) never stops the batch."""
        self._actor(Permission.WRITE_NOTES)
        unique = list(dict.fromkeys(note_ids))
        if not unique:
            raise InvalidCommand("Name the notes to sign.", field="note_ids")
        if len(unique) > MAX_BULK:
            raise InvalidCommand(f"Sign at most {MAX_BULK} notes at once.", field="note_ids")
        outcomes = []
        for note_id in unique:
            try:
                signed = self.sign(practice_id, note_id)
            except DomainError as error:
                outcomes.append(BulkOutcome(note_id, "refused", error=error.code, detail=error.message))
            except IntegrityError:
                outcomes.append(BulkOutcome(note_id, "refused", error="concurrent_change",
                                            detail="Someone else changed this note; reload and retry."))
            else:
                outcomes.append(BulkOutcome(note_id, "signed", signed.content_version, signed.content_hash,
                                            signed.position))
        return outcomes

    # --- after signing ------------------------------------------------------------------------

    def amend(
        self,
        practice_id: UUID,
        note_id: UUID,
        reason: str,
        sections: Mapping[str, str],
        icd10_codes: Iterable[str] | None = None,
    ) -> SignedNote:
        """A new content version of a signed note (the author signs it again). Sections given replace
        those sections, the others are kept; codes None keeps the codes. The result's hash is that
        of the new, not yet signed, content."""
        who = self._actor(Permission.WRITE_NOTES)
        note = self._note(practice_id, note_id)
        if who != note.author_id:
            raise NotTheAuthor("Only the note's author amends it; others add an addendum.", status=note.status)
        merged = {**note.sections, **check_sections(note.kind, dict(sections))}
        note.amend(reason, merged, icd10_codes, who, self.clock.now())
        with audit.because("amendment"):
            saved = self.store.save_one(note)
        return SignedNote(saved.id, saved.version, saved.position, note.content_version, note.content_hash())

    def add_addendum(self, practice_id: UUID, note_id: UUID, text: str) -> Saved:
        who = self._actor(Permission.WRITE_NOTES)
        note = self._note(practice_id, note_id)
        note.add_addendum(text, who, self.clock.now())
        return self.store.save_one(note)

    # --- reads --------------------------------------------------------------------------------

    def get(self, practice_id: UUID, note_id: UUID, read: Read) -> ClinicalNote:
        """The note with its content, recorded as a PHI read of the client's record."""
        self._actor(Permission.VIEW_NOTES)
        note = self._note(practice_id, note_id)
        self._record_read(practice_id, note.client_id, read)
        return note

    def versions(self, practice_id: UUID, note_id: UUID, read: Read) -> ClinicalNote:
        """The note for its `versions` (every content version with its signatures); a PHI read."""
        return self.get(practice_id, note_id, read)

    def _record_read(self, practice_id: UUID, client_id: UUID, read: Read) -> None:
        if read.purpose not in PURPOSES:
            raise InvalidCommand(f"Unknown purpose {read.purpose!r}.", field="purpose", allowed=sorted(PURPOSES))
        self.store.save(
            PhiAccess(client_id=client_id, practice_id=practice_id, endpoint=read.endpoint, purpose=read.purpose,
                      fields=list(PHI_FIELDS_READ))
        )

    @staticmethod
    def list_scope() -> access.ScopeFilter:
        """How note lists narrow to the caller's record scope (like the client directory's)."""
        return access.list_filter()
