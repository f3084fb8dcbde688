"""Request and response bodies of the clinical note and note template routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from domain.clinical.clinical_note import ClinicalNote, NoteVersion, Signature
from domain.clinical.note_types import MAX_SECTION_CHARS, NoteTemplate
from interfaces.http.schemas import Strict
from projections.clinical_notes import NoteRow

SectionName = Annotated[str, Field(min_length=1, max_length=40)]
SectionText = Annotated[str, Field(max_length=MAX_SECTION_CHARS)]
Sections = dict[SectionName, SectionText]
Code = Annotated[str, Field(min_length=1, max_length=10)]
Codes = Annotated[list[Code], Field(max_length=12, description="ICD-10-CM codes, primary first (F32.9).")]
NoteTypeCode = Annotated[str, Field(min_length=1, max_length=40, description="soap, progress, intake_assessment ...")]


class NoteIn(Strict):
    client_id: UUID
    note_type: NoteTypeCode
    service_date: date | None = Field(
        default=None, description="Defaults to the linked appointment's local date; required without one."
    )
    sections: Sections = Field(default_factory=dict)
    icd10_codes: Codes = Field(default_factory=list)
    appointment_id: UUID | None = None
    template_id: UUID | None = Field(default=None, description="Prefill the sections not given from this template.")


class NoteEditIn(Strict):
    sections: Sections | None = Field(default=None, description="These sections replace theirs; others are kept.")
    icd10_codes: Codes | None = None
    service_date: date | None = None


class ReturnIn(Strict):
    reason: str = Field(max_length=2000)


class AmendIn(Strict):
    reason: str = Field(max_length=2000, description="Why the signed note is amended (required).")
    sections: Sections = Field(description="These sections replace theirs in the new version; others are kept.")
    icd10_codes: Codes | None = Field(default=None, description="Leave out to keep the codes.")


class AddendumIn(Strict):
    text: str = Field(max_length=MAX_SECTION_CHARS)


class LinkAppointmentIn(Strict):
    appointment_id: UUID


class BulkSignIn(Strict):
    note_ids: list[UUID] = Field(min_length=1, max_length=200)


class NoteSummaryOut(BaseModel):
    """A note's metadata (no content)."""

    id: UUID
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

    @classmethod
    def of(cls, r: NoteRow) -> NoteSummaryOut:
        return cls(
            id=r.note_id, client_id=r.client_id, author_id=r.author_id, supervisor_id=r.supervisor_id,
            note_type=r.note_type, service_date=r.service_date, appointment_id=r.appointment_id, status=r.status,
            content_version=r.content_version, requires_cosign=r.requires_cosign, awaiting_cosign=r.awaiting_cosign,
            drafted_at=r.drafted_at, submitted_at=r.submitted_at, signed_at=r.signed_at, cosigned_at=r.cosigned_at,
            fully_signed_at=r.fully_signed_at, last_amended_at=r.last_amended_at, addenda=r.addenda,
        )


class QueueOut(BaseModel):
    unsigned: list[NoteSummaryOut] = Field(description="My notes not fully signed (unsigned or awaiting co-signature).")
    awaiting_my_cosign: list[NoteSummaryOut] = Field(description="Supervisees' signed notes waiting for me.")
    in_review_for_me: list[NoteSummaryOut] = Field(description="Supervisees' notes submitted for my review.")


class SignatureOut(BaseModel):
    by: UUID
    at: datetime
    content_hash: str

    @classmethod
    def of(cls, s: Signature | None) -> SignatureOut | None:
        return None if s is None else cls(by=s.by, at=s.at, content_hash=s.content_hash)


class VersionOut(BaseModel):
    number: int
    sections: dict[str, str]
    icd10_codes: list[str]
    service_date: date
    created_by: UUID
    created_at: datetime
    amend_reason: str | None
    signature: SignatureOut | None
    cosignature: SignatureOut | None

    @classmethod
    def of(cls, v: NoteVersion) -> VersionOut:
        return cls(
            number=v.number, sections=dict(v.sections), icd10_codes=list(v.icd10_codes), service_date=v.service_date,
            created_by=v.created_by, created_at=v.created_at, amend_reason=v.amend_reason,
            signature=SignatureOut.of(v.signature), cosignature=SignatureOut.of(v.cosignature),
        )


class AddendumOut(BaseModel):
    text: str
    by: UUID
    at: datetime


class NoteOut(BaseModel):
    id: UUID
    version: int = Field(description="The note's event version (not its content version).")
    client_id: UUID
    author_id: UUID
    supervisor_id: UUID | None
    note_type: str
    status: str
    service_date: date
    appointment_id: UUID | None
    content_version: int
    sections: dict[str, str]
    icd10_codes: list[str]
    missing_sections: list[str]
    content_hash: str = Field(description="SHA-256 of the current version's canonical content.")
    signature: SignatureOut | None
    cosignature: SignatureOut | None
    requires_cosign: bool
    awaiting_cosign: bool
    fully_signed: bool
    needs_appointment_link: bool
    drafted_at: datetime
    signed_at: datetime | None
    cosigned_at: datetime | None
    fully_signed_at: datetime | None
    addenda: list[AddendumOut]

    @classmethod
    def of(cls, n: ClinicalNote) -> NoteOut:
        return cls(
            id=n.id, version=n.version, client_id=n.client_id, author_id=n.author_id, supervisor_id=n.supervisor_id,
            note_type=n.note_type, status=n.status, service_date=n.service_date, appointment_id=n.appointment_id,
            content_version=n.content_version, sections=n.sections, icd10_codes=list(n.icd10_codes),
            missing_sections=n.missing_sections, content_hash=n.content_hash(),
            signature=SignatureOut.of(n.current.signature), cosignature=SignatureOut.of(n.current.cosignature),
            requires_cosign=n.requires_cosign, awaiting_cosign=n.awaiting_cosign, fully_signed=n.fully_signed,
            needs_appointment_link=n.needs_appointment_link, drafted_at=n.drafted_at, signed_at=n.signed_at,
            cosigned_at=n.cosigned_at, fully_signed_at=n.fully_signed_at,
            addenda=[AddendumOut(text=a.text, by=a.by, at=a.at) for a in n.addenda],
        )


class VersionsOut(BaseModel):
    id: UUID
    note_type: str
    status: str
    versions: list[VersionOut] = Field(description="Every content version, oldest first, with its signatures.")


class SignedOut(BaseModel):
    id: UUID
    version: int
    position: int
    content_version: int = Field(description="The content version signed (for /amend: the new version).")
    content_hash: str


class BulkResultOut(BaseModel):
    note_id: UUID
    outcome: str = Field(description="signed | refused")
    content_version: int | None
    content_hash: str | None
    error: str | None = Field(description="The refusal's error code (illegal_transition, not_the_author ...).")
    detail: str | None


class BulkSignOut(BaseModel):
    signed: int
    refused: int
    position: int = Field(description="Log position of the last signature (for min_position).")
    results: list[BulkResultOut]


class TemplateIn(Strict):
    template_id: UUID | None = Field(default=None, description="Leave out to create; give it to replace one.")
    name: str = Field(min_length=1, max_length=100)
    note_type: NoteTypeCode
    sections: Sections = Field(default_factory=dict, description="Default text per section (no PHI).")


class TemplateOut(BaseModel):
    id: UUID
    name: str
    note_type: str
    sections: dict[str, str]

    @classmethod
    def of(cls, t: NoteTemplate) -> TemplateOut:
        return cls(id=t.template_id, name=t.name, note_type=t.note_type, sections=dict(t.sections))
