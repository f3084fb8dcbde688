"""NoteService against the real event store: authorship, record scope, signatures and their
hashes, amendments, co-signature, bulk signing, templates and the recorded reads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from adapters.clock import FrozenClock
from application import access, audit
from application.clients import Read
from application.clinical.note_templates import NoteTemplateService
from application.clinical.notes import NoteService
from application.errors import Forbidden, NotFound
from domain.access.phi_access import PhiAccess
from domain.clinical.clinical_note import ClinicalNote, NoteIncomplete, NotTheAuthor, WrongSupervisor, canonical_content
from domain.clinical.note_types import TemplateNotFound
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from domain.identity.permissions import ROLE_SCOPE, effective_permissions
from domain.scheduling.appointment import Appointment
from tests.support import open_practice, staff_member

NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
DAY = date(2026, 3, 10)
SOAP = {"subjective": "Low mood, poor sleep.", "objective": "Flat affect.", "assessment": "MDD, moderate.",
        "plan": "CBT weekly."}


@dataclass
class Clinic:
    k: Any
    id: UUID
    notes: NoteService
    templates: NoteTemplateService
    clock: FrozenClock
    admin: UUID
    supervisor: UUID
    author: UUID  # LPC: signs alone
    supervisee: UUID  # LPC-Associate supervised by `supervisor`
    outsider: UUID  # a clinician without the client
    client: UUID  # care team: author, supervisee
    other_client: UUID  # care team: outsider

    def system(self) -> Any:
        return audit.acting(audit.system("system:test", practice_id=self.id))

    @contextmanager
    def as_(self, member: UUID, role: str = "clinician", supervisees: tuple[UUID, ...] = ()) -> Iterator[None]:
        """The member's audit context and grant, as the HTTP layer opens them."""
        ctx = audit.AuditContext(actor_id=str(member), actor_role=role, practice_id=self.id)
        grant = access.Grant(
            user_id=uuid4(), member_id=member, session_id=uuid4(), practice_id=self.id, role=role,
            permissions=effective_permissions(role), scope=ROLE_SCOPE[role],
            team_ids=frozenset({member, *supervisees}),
        )
        with audit.acting(ctx), access.granted(grant):
            yield

    def as_supervisor(self) -> Any:
        return self.as_(self.supervisor, "supervisor", (self.supervisee,))

    def as_admin(self) -> Any:
        return self.as_(self.admin, "admin")

    def draft(self, member: UUID | None = None, **kw: Any) -> UUID:
        kw.setdefault("sections", SOAP)
        kw.setdefault("service_date", DAY)
        kw.setdefault("icd10_codes", ["f32.1"])
        with self.as_(member or self.author):
            return self.notes.draft(self.id, kw.pop("client_id", self.client), kw.pop("note_type", "soap"), **kw).id

    def load(self, note_id: UUID) -> ClinicalNote:
        note: ClinicalNote = self.k.store.repository.get(note_id)
        return note


def make_clinic(k: Any) -> Clinic:
    """A practice with an admin, a supervisor, an LPC, a supervised associate, a clinician outside
    the caseload, and two clients."""
    slug = f"notes-{uuid4().hex[:8]}"
    with audit.acting(audit.system("system:test")):
        pid = open_practice(k, "Notes Practice", slug, "America/New_York")
    with audit.acting(audit.system("system:test", practice_id=pid)):
        admin = staff_member(k, pid, f"admin@{slug}.test", role="admin")
        supervisor = staff_member(k, pid, f"sup@{slug}.test", role="supervisor")
        author = k.members.invite(pid, f"lpc@{slug}.test", "Lee Counselor", "clinician", license_type="LPC").saved.id
        supervisee = k.members.invite(pid, f"assoc@{slug}.test", "Ash Associate", "clinician",
                                      license_type="LPC-Associate").saved.id
        k.members.assign_supervisor(pid, supervisee, supervisor)
        outsider = staff_member(k, pid, f"out@{slug}.test")
        client = k.clients.register(pid, "basic", {"first_name": "Nora", "last_name": "Noted",
                                                   "date_of_birth": date(1984, 4, 4)}).id
        k.clients.assign(pid, client, author, "clinician")
        k.clients.assign(pid, client, supervisee, "clinician")
        other = k.clients.register(pid, "basic", {"first_name": "Otto", "last_name": "Other",
                                                  "date_of_birth": date(1979, 9, 9)}).id
        k.clients.assign(pid, other, outsider, "clinician")
    clock = FrozenClock(NOW)
    return Clinic(k, pid, NoteService(k.store, clock), NoteTemplateService(k.store), clock, admin, supervisor,
                  author, supervisee, outsider, client, other)


@pytest.fixture
def clinic(container: Any) -> Clinic:
    return make_clinic(container)


def signed_events(k: Any, note_id: UUID) -> list[Any]:
    return [e for e in k.store.events.get(note_id) if isinstance(e, ClinicalNote.Signed | ClinicalNote.Cosigned)]


# --- drafting -------------------------------------------------------------------------------


def test_the_actor_is_the_author_and_an_unsupervised_author_needs_no_cosign(clinic: Clinic) -> None:
    note = clinic.load(clinic.draft())
    assert (note.author_id, note.client_id, note.status, note.requires_cosign, note.supervisor_id) == (
        clinic.author, clinic.client, "draft", False, None)
    assert (note.sections, note.icd10_codes, note.service_date, note.drafted_at) == (SOAP, ("F32.1",), DAY, NOW)


def test_a_supervised_license_with_a_supervisor_drafts_notes_needing_cosign(clinic: Clinic) -> None:
    note = clinic.load(clinic.draft(clinic.supervisee))
    assert (note.requires_cosign, note.supervisor_id) == (True, clinic.supervisor)


def test_a_system_actor_writes_no_notes(clinic: Clinic) -> None:
    with clinic.system(), pytest.raises(Forbidden):
        clinic.notes.draft(clinic.id, clinic.client, "soap", service_date=DAY)


def test_service_date_defaults_to_the_appointments_practice_local_date(clinic: Clinic) -> None:
    # 02:00 UTC on 11 March is 21:00 on 10 March in New York.
    starts = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
    with clinic.system():
        appointment = Appointment.book(clinic.id, clinic.client, clinic.author, "therapy_session", "in_person",
                                       starts, starts + timedelta(minutes=53), booked_at=NOW)
        other = Appointment.book(clinic.id, clinic.other_client, clinic.outsider, "therapy_session", "in_person",
                                 starts, starts + timedelta(minutes=53), booked_at=NOW)
        clinic.k.store.save(appointment, other)
    note = clinic.load(clinic.draft(service_date=None, appointment_id=appointment.id))
    assert (note.service_date, note.appointment_id) == (date(2026, 3, 10), appointment.id)

    with pytest.raises(InvalidCommand) as error:
        clinic.draft(service_date=None)
    assert error.value.details["field"] == "service_date"
    with pytest.raises(InvalidCommand) as error:
        clinic.draft(appointment_id=other.id)  # another client's visit
    assert error.value.details["field"] == "appointment_id"
    with pytest.raises(NotFound):
        clinic.draft(appointment_id=uuid4())

    unlinked = clinic.draft()
    with clinic.as_(clinic.author):
        clinic.notes.link_appointment(clinic.id, unlinked, appointment.id)
        with pytest.raises(InvalidCommand):
            clinic.notes.link_appointment(clinic.id, unlinked, other.id)
    assert clinic.load(unlinked).appointment_id == appointment.id


def test_edit_merges_sections_and_a_signed_note_refuses_edits(clinic: Clinic) -> None:
    note_id = clinic.draft(sections={"subjective": "first"})
    with clinic.as_(clinic.author):
        clinic.notes.edit(clinic.id, note_id, sections={"plan": "follow up"}, icd10_codes=["F41.1"])
    note = clinic.load(note_id)
    assert (note.sections, note.icd10_codes) == ({"subjective": "first", "plan": "follow up"}, ("F41.1",))

    with clinic.as_(clinic.author), pytest.raises(NoteIncomplete) as error:
        clinic.notes.sign(clinic.id, note_id)
    assert error.value.details["missing"] == ["objective", "assessment"]

    signed = clinic.draft()
    with clinic.as_(clinic.author):
        clinic.notes.sign(clinic.id, signed)
        version = clinic.load(signed).version
        with pytest.raises(IllegalTransition):
            clinic.notes.edit(clinic.id, signed, sections={"plan": "changed"})
        with pytest.raises(ReasonRequired):
            clinic.notes.amend(clinic.id, signed, "  ", {"plan": "changed"})
    assert clinic.load(signed).version == version


# --- signatures -----------------------------------------------------------------------------


def test_signing_records_the_hash_of_exactly_the_signed_content(clinic: Clinic) -> None:
    note_id = clinic.draft(icd10_codes=["f32.1", "Z630"])
    with clinic.as_(clinic.author):
        signed = clinic.notes.sign(clinic.id, note_id)
    expected = hashlib.sha256(canonical_content("soap", SOAP, ["F32.1", "Z63.0"], DAY, 1)).hexdigest()
    assert (signed.content_hash, signed.content_version) == (expected, 1)
    [event] = signed_events(clinic.k, note_id)
    assert (event.content_hash, event.version, event.signer_id, event.at) == (expected, 1, clinic.author, NOW)
    note = clinic.load(note_id)
    assert (note.status, note.signed_at, note.fully_signed_at) == ("signed", NOW, NOW)


def test_only_the_author_signs(clinic: Clinic) -> None:
    note_id = clinic.draft()
    with clinic.as_admin(), pytest.raises(NotTheAuthor):
        clinic.notes.sign(clinic.id, note_id)
    assert clinic.load(note_id).status == "draft"


def test_an_amendment_is_a_new_version_and_version_one_stays_readable(clinic: Clinic) -> None:
    note_id = clinic.draft()
    with clinic.as_(clinic.author):
        first = clinic.notes.sign(clinic.id, note_id)
        clinic.clock.advance(timedelta(days=1))
        amended = clinic.notes.amend(clinic.id, note_id, "Plan was mis-stated.", {"plan": "CBT twice weekly."})
        assert amended.content_version == 2
        clinic.clock.advance(timedelta(hours=1))
        second = clinic.notes.sign(clinic.id, note_id)
        note = clinic.notes.versions(clinic.id, note_id, Read("test", "treatment"))
    v1, v2 = note.versions
    assert (v1.number, v1.sections, v1.signature and v1.signature.content_hash) == (1, SOAP, first.content_hash)
    assert first.content_hash == hashlib.sha256(canonical_content("soap", SOAP, ["F32.1"], DAY, 1)).hexdigest()
    new_sections = {**SOAP, "plan": "CBT twice weekly."}
    assert (v2.number, v2.sections, v2.amend_reason) == (2, new_sections, "Plan was mis-stated.")
    assert second.content_hash == hashlib.sha256(
        canonical_content("soap", new_sections, ["F32.1"], DAY, 2)).hexdigest()
    assert v2.signature is not None and v2.signature.content_hash == second.content_hash == amended.content_hash
    assert (note.signed_at, note.fully_signed_at) == (NOW, NOW)  # amendments move neither


def test_a_supervisees_note_needs_the_named_supervisors_cosign(clinic: Clinic) -> None:
    note_id = clinic.draft(clinic.supervisee)
    with clinic.as_(clinic.supervisee):
        clinic.notes.submit(clinic.id, note_id)
        signed = clinic.notes.sign(clinic.id, note_id)
    note = clinic.load(note_id)
    assert (note.status, note.awaiting_cosign, note.fully_signed_at) == ("signed", True, None)
    with clinic.as_admin(), pytest.raises(WrongSupervisor):
        clinic.notes.cosign(clinic.id, note_id)
    clinic.clock.advance(timedelta(hours=3))
    with clinic.as_supervisor():
        cosigned = clinic.notes.cosign(clinic.id, note_id)
    assert cosigned.content_hash == signed.content_hash
    note = clinic.load(note_id)
    assert (note.fully_signed, note.cosigned_at, note.fully_signed_at) == (True, NOW + timedelta(hours=3),
                                                                          NOW + timedelta(hours=3))


def test_return_to_draft_is_for_reviewers(clinic: Clinic) -> None:
    note_id = clinic.draft(clinic.supervisee)
    with clinic.as_(clinic.supervisee):
        clinic.notes.submit(clinic.id, note_id)
        with pytest.raises(Forbidden):
            clinic.notes.return_to_draft(clinic.id, note_id, "self-review")
    with clinic.as_supervisor():
        clinic.notes.return_to_draft(clinic.id, note_id, "Add the risk assessment.")
    assert clinic.load(note_id).status == "draft"


def test_bulk_signing_signs_what_it_can_and_reports_the_rest(clinic: Clinic) -> None:
    good = clinic.draft()
    incomplete = clinic.draft(sections={"subjective": "only this"})
    someone_elses = clinic.draft(clinic.supervisee)
    already = clinic.draft()
    with clinic.as_(clinic.author):
        clinic.notes.sign(clinic.id, already)
    missing = uuid4()
    with clinic.as_(clinic.author):
        outcomes = clinic.notes.bulk_sign(clinic.id, [good, incomplete, someone_elses, already, missing, good])
    assert [(o.note_id, o.outcome, o.error) for o in outcomes] == [
        (good, "signed", None),
        (incomplete, "refused", "note_incomplete"),
        (someone_elses, "refused", "not_the_author"),
        (already, "refused", "illegal_transition"),
        (missing, "refused", "not_found"),
    ]
    assert outcomes[0].content_hash == clinic.load(good).content_hash()
    assert [clinic.load(i).status for i in (good, incomplete, someone_elses, already)] == [
        "signed", "draft", "draft", "signed"]


# --- templates ------------------------------------------------------------------------------


def test_a_template_prefills_the_sections_not_given(clinic: Clinic) -> None:
    with clinic.as_admin():
        template = clinic.templates.save(clinic.id, "Standard SOAP", "soap",
                                         {"objective": "Alert and oriented x3.", "plan": "Continue weekly CBT."}).id
        progress = clinic.templates.save(clinic.id, "Progress", "progress", {"content": "Seen today."}).id
        with pytest.raises(InvalidCommand):
            clinic.templates.save(clinic.id, "Wrong", "soap", {"content": "not a SOAP section"})
    note = clinic.load(clinic.draft(sections={"subjective": "Better sleep.", "plan": "Taper to biweekly."},
                                    template_id=template))
    assert note.sections == {"subjective": "Better sleep.", "objective": "Alert and oriented x3.",
                             "plan": "Taper to biweekly."}
    with pytest.raises(InvalidCommand) as error:
        clinic.draft(template_id=progress)  # a progress template for a SOAP note
    assert error.value.details["field"] == "template_id"
    with clinic.as_admin():
        clinic.templates.retire(clinic.id, template)
        assert [t.name for t in clinic.templates.list(clinic.id)] == ["Progress"]
        with pytest.raises(TemplateNotFound):
            clinic.templates.retire(clinic.id, template)
    with pytest.raises(TemplateNotFound):
        clinic.draft(template_id=template)


# --- scope, isolation and the record of reads -------------------------------------------------


def test_a_clinician_outside_the_caseload_neither_reads_nor_writes(clinic: Clinic) -> None:
    note_id = clinic.draft()
    with clinic.as_(clinic.outsider):
        with pytest.raises(access.OutsideCaseload):
            clinic.notes.get(clinic.id, note_id, Read("test"))
        with pytest.raises(access.OutsideCaseload):
            clinic.notes.add_addendum(clinic.id, note_id, "sneaky")
        with pytest.raises(access.OutsideCaseload):
            clinic.notes.draft(clinic.id, clinic.client, "soap", service_date=DAY)
    with clinic.as_supervisor():  # the supervisee is on the client's care team
        assert clinic.notes.get(clinic.id, note_id, Read("test")).id == note_id
    with clinic.as_admin():
        assert clinic.notes.get(clinic.id, note_id, Read("test")).id == note_id


def test_another_practices_note_does_not_exist(clinic: Clinic, container: Any) -> None:
    note_id = clinic.draft()
    other_pid = uuid4()
    member = uuid4()
    ctx = audit.AuditContext(actor_id=str(member), actor_role="admin", practice_id=other_pid)
    grant = access.Grant(user_id=uuid4(), member_id=member, session_id=uuid4(), practice_id=other_pid, role="admin",
                         permissions=effective_permissions("admin"), scope=ROLE_SCOPE["admin"])
    with audit.acting(ctx), access.granted(grant):
        with pytest.raises(NotFound):
            clinic.notes.get(other_pid, note_id, Read("test"))
        with pytest.raises(NotFound):
            clinic.notes.sign(other_pid, note_id)


def test_reading_a_note_is_recorded_as_a_phi_read(clinic: Clinic) -> None:
    note_id = clinic.draft()

    def reads() -> list[Any]:
        return [e for _, e in clinic.k.store.history(clinic.client, topics=[PhiAccess.Recorded.TOPIC])]

    before = len(reads())
    with clinic.as_(clinic.author):
        clinic.notes.get(clinic.id, note_id, Read("GET /api/v1/notes/{id}", "treatment"))
        with pytest.raises(InvalidCommand):
            clinic.notes.get(clinic.id, note_id, Read("GET /api/v1/notes/{id}", "curiosity"))
    after = reads()
    assert len(after) == before + 1
    last = after[-1]
    assert (last.client_id, last.practice_id, last.endpoint, last.purpose, last.fields) == (
        clinic.client, clinic.id, "GET /api/v1/notes/{id}", "treatment", ["clinical_note"])
