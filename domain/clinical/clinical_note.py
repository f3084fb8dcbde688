"""The ClinicalNote aggregate: one clinical document about one client (seed 001, Module 4).

Statuses and what moves them:

    draft      --submit-->           in_review   (complete sections needed)
    in_review  --edit / return-->    draft       (an edit, or the reviewer sends it back with a reason)
    draft | in_review --sign-->      signed      (the author signs version 1)
    signed     --amend-->            amended     (reason required; a new content version, unsigned)
    amended    --sign-->             signed      (the author signs the new version)

Content (sections, ICD-10 codes, service date) changes only while the note is draft or in review;
a signed note is never edited. An amendment adds a new numbered version and leaves the earlier
ones, with their signatures, readable in `versions`. Addenda are appended to a signed note
without touching its content. The appointment link is not signed content: it may be filled in at
any time, but changed only before signing.

Signing records the SHA-256 of `canonical_content` (sorted-key JSON of note type, sections, codes,
service date and version number) of exactly the version signed. If the author is a supervisee
(`requires_cosign`), every signed version also needs the named supervisor's co-signature, which
records the hash of the same content; `fully_signed` says the current version has all the
signatures it needs. For timeliness and the billing hold, `signed_at` is the author's first
signature and `fully_signed_at` the first moment the note was completely signed; amendments move
neither. All times are arguments.

Every event names the client (`subject_field`); all free text, sections and diagnosis codes are
PHI fields, encrypted with the client's key. Hashes, ids and times are not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.clinical.icd10 import normalise_icd10_codes
from domain.clinical.note_types import NoteType, check_sections, missing_sections, note_type
from domain.errors import DomainError, IllegalTransition, InvalidCommand, ReasonRequired
from domain.events import ERASED, Audited
from domain.scheduling.working_time import as_utc

STATUSES = ("draft", "in_review", "signed", "amended")
EDITABLE = frozenset({"draft", "in_review"})
SIGNABLE = frozenset({"draft", "in_review", "amended"})


class NoteIncomplete(InvalidCommand):
    code = "note_incomplete"


class NotTheAuthor(DomainError):
    code = "not_the_author"
    kind = "forbidden"


class WrongSupervisor(DomainError):
    code = "wrong_supervisor"
    kind = "forbidden"


def canonical_content(
    note_type: str, sections: Mapping[str, str], icd10_codes: Iterable[str], service_date: date, version: int
) -> bytes:
    """The bytes a signature covers: compact sorted-key JSON, UTF-8."""
    return json.dumps(
        {
            "note_type": note_type,
            "sections": dict(sections),
            "icd10_codes": list(icd10_codes),
            "service_date": service_date.isoformat(),
            "version": version,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def content_hash(
    note_type: str, sections: Mapping[str, str], icd10_codes: Iterable[str], service_date: date, version: int
) -> str:
    return hashlib.sha256(canonical_content(note_type, sections, icd10_codes, service_date, version)).hexdigest()


@dataclass(frozen=True)
class Signature:
    by: UUID
    at: datetime
    content_hash: str


@dataclass(frozen=True)
class NoteVersion:
    number: int
    sections: dict[str, str]
    icd10_codes: tuple[str, ...]
    service_date: date
    created_by: UUID
    created_at: datetime
    amend_reason: str | None = None
    signature: Signature | None = None
    cosignature: Signature | None = None


@dataclass(frozen=True)
class Addendum:
    text: str
    by: UUID
    at: datetime


class NoteEvent(Aggregate.Event, Audited):
    subject_field: ClassVar[str | None] = "client_id"
    client_id: UUID


def _sections(value: Any) -> dict[str, str]:
    """Sections as stored; after crypto-shredding they decode as "erased" and read as empty."""
    return {} if value == ERASED else dict(value)


def _codes(value: Any) -> tuple[str, ...]:
    return () if value == ERASED else tuple(value)


class ClinicalNote(Aggregate):
    TOPIC = "careledger/clinical-note"

    class Created(Aggregate.Created):
        TOPIC = "careledger/clinical-note/created"

    class Drafted(Created, NoteEvent):
        TOPIC = "careledger/clinical-note/drafted"
        phi_fields: ClassVar[tuple[str, ...]] = ("sections", "icd10_codes")
        practice_id: UUID
        client_id: UUID
        author_id: UUID
        note_type: str
        service_date: date
        sections: dict[str, str]
        icd10_codes: list[str]
        appointment_id: UUID | None
        requires_cosign: bool
        supervisor_id: UUID | None
        drafted_at: datetime

    class Edited(NoteEvent):
        TOPIC = "careledger/clinical-note/edited"
        phi_fields: ClassVar[tuple[str, ...]] = ("sections", "icd10_codes")
        sections: dict[str, str]
        icd10_codes: list[str]
        service_date: date
        by: UUID
        at: datetime

    class AppointmentLinked(NoteEvent):
        TOPIC = "careledger/clinical-note/appointment-linked"
        appointment_id: UUID
        by: UUID
        at: datetime

    class Submitted(NoteEvent):
        TOPIC = "careledger/clinical-note/submitted"
        requires_cosign: bool
        supervisor_id: UUID | None
        by: UUID
        at: datetime

    class ReturnedToDraft(NoteEvent):
        TOPIC = "careledger/clinical-note/returned-to-draft"
        phi_fields: ClassVar[tuple[str, ...]] = ("reason",)
        reason: str
        by: UUID
        at: datetime

    class Signed(NoteEvent):
        TOPIC = "careledger/clinical-note/signed"
        version: int
        content_hash: str
        signer_id: UUID
        at: datetime

    class Cosigned(NoteEvent):
        TOPIC = "careledger/clinical-note/cosigned"
        version: int
        content_hash: str
        supervisor_id: UUID
        at: datetime

    class Amended(NoteEvent):
        TOPIC = "careledger/clinical-note/amended"
        phi_fields: ClassVar[tuple[str, ...]] = ("reason", "sections", "icd10_codes")
        version: int
        reason: str
        sections: dict[str, str]
        icd10_codes: list[str]
        by: UUID
        at: datetime

    class AddendumAdded(NoteEvent):
        TOPIC = "careledger/clinical-note/addendum-added"
        phi_fields: ClassVar[tuple[str, ...]] = ("text",)
        text: str
        by: UUID
        at: datetime

    # --- creation -----------------------------------------------------------------------------

    @classmethod
    def draft(
        cls,
        practice_id: UUID,
        client_id: UUID,
        author_id: UUID,
        note_type: str,
        service_date: date,
        *,
        now: datetime,
        sections: Mapping[str, str] | None = None,
        icd10_codes: Iterable[str] = (),
        appointment_id: UUID | None = None,
        requires_cosign: bool = False,
        supervisor_id: UUID | None = None,
        note_id: UUID | None = None,
    ) -> ClinicalNote:
        kind = _kind(note_type)
        _check_cosign(requires_cosign, supervisor_id, author_id)
        fields: dict[str, Any] = {
            "practice_id": practice_id,
            "client_id": client_id,
            "author_id": author_id,
            "note_type": kind.code,
            "service_date": _check_date(service_date),
            "sections": check_sections(kind, dict(sections or {})),
            "icd10_codes": list(normalise_icd10_codes(icd10_codes)),
            "appointment_id": appointment_id,
            "requires_cosign": requires_cosign,
            "supervisor_id": supervisor_id if requires_cosign else None,
            "drafted_at": as_utc(now, "now"),
        }
        if note_id is not None:
            return cls._create(cls.Drafted, id=note_id, **fields)
        return cls(**fields)

    @event(Drafted)
    def __init__(
        self,
        practice_id: UUID,
        client_id: UUID,
        author_id: UUID,
        note_type: str,
        service_date: date,
        sections: dict[str, str],
        icd10_codes: list[str],
        appointment_id: UUID | None,
        requires_cosign: bool,
        supervisor_id: UUID | None,
        drafted_at: datetime,
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.author_id = author_id
        self.note_type = note_type
        self.appointment_id = appointment_id
        self.requires_cosign = requires_cosign
        self.supervisor_id = supervisor_id
        self.drafted_at = drafted_at
        self.status = "draft"
        self.signed_at: datetime | None = None
        self.cosigned_at: datetime | None = None
        self.fully_signed_at: datetime | None = None
        self._versions = [
            NoteVersion(1, _sections(sections), _codes(icd10_codes), service_date, author_id, drafted_at)
        ]
        self._addenda: list[Addendum] = []

    # --- reading ------------------------------------------------------------------------------

    @property
    def kind(self) -> NoteType:
        return note_type(self.note_type)

    @property
    def current(self) -> NoteVersion:
        return self._versions[-1]

    @property
    def content_version(self) -> int:
        """The number of the current content version (1, then +1 per amendment); not the
        aggregate's event `version`."""
        return self.current.number

    @property
    def sections(self) -> dict[str, str]:
        return dict(self.current.sections)

    @property
    def icd10_codes(self) -> tuple[str, ...]:
        return self.current.icd10_codes

    @property
    def service_date(self) -> date:
        return self.current.service_date

    @property
    def versions(self) -> tuple[NoteVersion, ...]:
        """Every content version, oldest first; all but the last are signed and frozen."""
        return tuple(self._versions)

    @property
    def addenda(self) -> tuple[Addendum, ...]:
        return tuple(self._addenda)

    @property
    def needs_appointment_link(self) -> bool:
        """A session note without its appointment: the application raises a data-quality alert."""
        return self.kind.session_note and self.appointment_id is None

    @property
    def awaiting_cosign(self) -> bool:
        return self.status == "signed" and self.requires_cosign and self.current.cosignature is None

    @property
    def fully_signed(self) -> bool:
        """The current version is signed by the author and, when required, co-signed."""
        return self.status == "signed" and not self.awaiting_cosign

    @property
    def missing_sections(self) -> list[str]:
        return missing_sections(self.kind, self.current.sections)

    def content_hash(self) -> str:
        """The hash of the current version's content, as a signature of it would record."""
        v = self.current
        return content_hash(self.note_type, v.sections, v.icd10_codes, v.service_date, v.number)

    # --- drafting -----------------------------------------------------------------------------

    def _require(self, allowed: frozenset[str], action: str) -> None:
        if self.status not in allowed:
            raise IllegalTransition(
                f"A {self.status} note cannot be {action}.", status=self.status, allowed=sorted(allowed)
            )

    def _require_complete(self, sections: Mapping[str, str], action: str) -> None:
        missing = missing_sections(self.kind, dict(sections))
        if missing:
            raise NoteIncomplete(
                f"A {self.kind.label} is {action} only with every required section written.",
                field="sections", missing=missing,
            )

    def _require_author(self, who: UUID, action: str) -> None:
        if who != self.author_id:
            raise NotTheAuthor(f"Only the note's author may {action} it.", status=self.status)

    def edit(
        self,
        by: UUID,
        now: datetime,
        *,
        sections: Mapping[str, str] | None = None,
        icd10_codes: Iterable[str] | None = None,
        service_date: date | None = None,
    ) -> None:
        """Replace the given parts of the content; an edit of a note in review returns it to draft."""
        self._require(EDITABLE, "edited")
        v = self.current
        new_sections = v.sections if sections is None else check_sections(self.kind, dict(sections))
        new_codes = v.icd10_codes if icd10_codes is None else normalise_icd10_codes(icd10_codes)
        new_date = v.service_date if service_date is None else _check_date(service_date)
        at = as_utc(now, "now")
        if self.status == "draft" and (new_sections, new_codes, new_date) == (
            v.sections, v.icd10_codes, v.service_date
        ):
            return
        self._edited(
            client_id=self.client_id, sections=dict(new_sections), icd10_codes=list(new_codes),
            service_date=new_date, by=by, at=at,
        )

    @event(Edited)
    def _edited(
        self, client_id: UUID, sections: dict[str, str], icd10_codes: list[str], service_date: date, by: UUID,
        at: datetime,
    ) -> None:
        self._versions[-1] = replace(
            self.current, sections=_sections(sections), icd10_codes=_codes(icd10_codes), service_date=service_date
        )
        self.status = "draft"

    def link_appointment(self, appointment_id: UUID, by: UUID, now: datetime) -> None:
        """Fill in the appointment at any time; change it only before signing."""
        if appointment_id == self.appointment_id:
            return
        if self.appointment_id is not None:
            self._require(EDITABLE, "linked to another appointment")
        self._appointment_linked(client_id=self.client_id, appointment_id=appointment_id, by=by,
                                 at=as_utc(now, "now"))

    @event(AppointmentLinked)
    def _appointment_linked(self, client_id: UUID, appointment_id: UUID, by: UUID, at: datetime) -> None:
        self.appointment_id = appointment_id

    # --- review -------------------------------------------------------------------------------

    def submit(
        self, by: UUID, now: datetime, *, requires_cosign: bool | None = None, supervisor_id: UUID | None = None
    ) -> None:
        """The author hands the note in for review; the co-signature requirement may be (re)stated here."""
        self._require(frozenset({"draft"}), "submitted")
        self._require_author(by, "submit")
        self._require_complete(self.current.sections, "submitted")
        cosign = self.requires_cosign if requires_cosign is None else requires_cosign
        supervisor = supervisor_id if supervisor_id is not None else self.supervisor_id
        _check_cosign(cosign, supervisor, self.author_id)
        self._submitted(client_id=self.client_id, requires_cosign=cosign,
                        supervisor_id=supervisor if cosign else None, by=by, at=as_utc(now, "now"))

    @event(Submitted)
    def _submitted(
        self, client_id: UUID, requires_cosign: bool, supervisor_id: UUID | None, by: UUID, at: datetime
    ) -> None:
        self.requires_cosign = requires_cosign
        self.supervisor_id = supervisor_id
        self.status = "in_review"

    def return_to_draft(self, by: UUID, reason: str, now: datetime) -> None:
        """The reviewer sends the note back to its author, saying why."""
        self._require(frozenset({"in_review"}), "returned to draft")
        self._returned(client_id=self.client_id, reason=_reason(reason), by=by, at=as_utc(now, "now"))

    @event(ReturnedToDraft)
    def _returned(self, client_id: UUID, reason: str, by: UUID, at: datetime) -> None:
        self.status = "draft"

    # --- signatures ---------------------------------------------------------------------------

    def sign(self, signer_id: UUID, now: datetime) -> str:
        """The author signs the current version; returns the content hash recorded."""
        self._require(SIGNABLE, "signed")
        self._require_author(signer_id, "sign")
        self._require_complete(self.current.sections, "signed")
        digest = self.content_hash()
        self._signed(client_id=self.client_id, version=self.content_version, content_hash=digest, signer_id=signer_id,
                     at=as_utc(now, "now"))
        return digest

    @event(Signed)
    def _signed(self, client_id: UUID, version: int, content_hash: str, signer_id: UUID, at: datetime) -> None:
        self._versions[-1] = replace(self.current, signature=Signature(signer_id, at, content_hash))
        self.status = "signed"
        if self.signed_at is None:
            self.signed_at = at
        if self.fully_signed_at is None and not self.requires_cosign:
            self.fully_signed_at = at

    def cosign(self, supervisor_id: UUID, now: datetime) -> str:
        """The supervisor co-signs the version the author signed; returns its content hash."""
        if not self.requires_cosign:
            raise IllegalTransition("This note needs no co-signature.", status=self.status)
        if not self.awaiting_cosign:
            raise IllegalTransition(
                f"A {self.status} note cannot be co-signed"
                + (" twice." if self.status == "signed" else " before its author signs it."),
                status=self.status,
            )
        if supervisor_id != self.supervisor_id:
            raise WrongSupervisor("Only the author's supervisor named on the note may co-sign it.",
                                  status=self.status)
        digest = self.content_hash()
        self._cosigned(client_id=self.client_id, version=self.content_version, content_hash=digest,
                       supervisor_id=supervisor_id, at=as_utc(now, "now"))
        return digest

    @event(Cosigned)
    def _cosigned(self, client_id: UUID, version: int, content_hash: str, supervisor_id: UUID, at: datetime) -> None:
        self._versions[-1] = replace(self.current, cosignature=Signature(supervisor_id, at, content_hash))
        if self.cosigned_at is None:
            self.cosigned_at = at
        if self.fully_signed_at is None:
            self.fully_signed_at = at

    # --- after signing ------------------------------------------------------------------------

    def amend(
        self,
        reason: str,
        new_sections: Mapping[str, str],
        new_codes: Iterable[str] | None,
        by: UUID,
        now: datetime,
    ) -> int:
        """Start a new content version of a signed note (it must be signed again); returns its number.
        `new_codes` None keeps the current codes."""
        self._require(frozenset({"signed"}), "amended")
        why = _reason(reason)
        sections = check_sections(self.kind, dict(new_sections))
        codes = self.icd10_codes if new_codes is None else normalise_icd10_codes(new_codes)
        self._require_complete(sections, "amended")
        if (sections, codes) == (self.current.sections, self.icd10_codes):
            raise InvalidCommand("An amendment changes the note's content.", field="sections")
        number = self.content_version + 1
        self._amended(client_id=self.client_id, version=number, reason=why, sections=sections,
                      icd10_codes=list(codes), by=by, at=as_utc(now, "now"))
        return number

    @event(Amended)
    def _amended(
        self, client_id: UUID, version: int, reason: str, sections: dict[str, str], icd10_codes: list[str],
        by: UUID, at: datetime,
    ) -> None:
        self._versions.append(
            NoteVersion(version, _sections(sections), _codes(icd10_codes), self.service_date, by, at, reason)
        )
        self.status = "amended"

    def add_addendum(self, text: str, by: UUID, now: datetime) -> None:
        self._require(frozenset({"signed"}), "given an addendum")
        if not isinstance(text, str) or not text.strip():
            raise InvalidCommand("An addendum needs text.", field="text")
        self._addendum_added(client_id=self.client_id, text=text, by=by, at=as_utc(now, "now"))

    @event(AddendumAdded)
    def _addendum_added(self, client_id: UUID, text: str, by: UUID, at: datetime) -> None:
        self._addenda.append(Addendum(text, by, at))


def _kind(code: str) -> NoteType:
    return note_type(code)


def _check_date(value: date) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidCommand("The service date is a calendar date.", field="service_date")
    return value


def _check_cosign(requires_cosign: bool, supervisor_id: UUID | None, author_id: UUID) -> None:
    if not requires_cosign:
        return
    if supervisor_id is None:
        raise InvalidCommand("A note that needs a co-signature names the supervisor.", field="supervisor_id")
    if supervisor_id == author_id:
        raise InvalidCommand("An author cannot co-sign their own note.", field="supervisor_id")


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ReasonRequired("A reason is required.", field="reason")
    return reason.strip()
