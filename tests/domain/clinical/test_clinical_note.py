from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.clinical.clinical_note import (
    ClinicalNote,
    NoteEvent,
    NoteIncomplete,
    NotTheAuthor,
    WrongSupervisor,
    content_hash,
)
from domain.clinical.note_types import NOTE_TYPES
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from domain.events import Audited
from tests.domain.scheduling.replay import replayed
from tests.gwt import given, then_events, then_no_new_events

PRACTICE, CLIENT, AUTHOR, SUPERVISOR, APPOINTMENT = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
DAY = date(2026, 3, 10)
T0 = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
SOAP = {"subjective": "Low mood, poor sleep.", "objective": "Flat affect.", "assessment": "MDD, moderate.",
        "plan": "CBT weekly."}


def drafted(**overrides: Any) -> ClinicalNote:
    values: dict[str, Any] = {
        "practice_id": PRACTICE, "client_id": CLIENT, "author_id": AUTHOR, "note_type": "soap",
        "service_date": DAY, "now": T0, "sections": SOAP, "icd10_codes": ["f32.1"], "appointment_id": APPOINTMENT,
    }
    values.update(overrides)
    return given(ClinicalNote.draft(**values))


def signed(**overrides: Any) -> ClinicalNote:
    note = drafted(**overrides)
    note.sign(AUTHOR, T0 + timedelta(hours=1))
    note.collect_events()
    return note


def expected_hash(note_type: str, sections: dict[str, str], codes: list[str], day: date, version: int) -> str:
    body = {"icd10_codes": codes, "note_type": note_type, "sections": sections, "service_date": day.isoformat(),
            "version": version}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


# --- note types and drafting -----------------------------------------------------------------


def test_the_eight_note_types_of_seed_001() -> None:
    assert set(NOTE_TYPES) == {
        "soap", "progress", "intake_assessment", "psychiatric_evaluation", "treatment_plan", "safety_plan",
        "discharge_summary", "crisis_intervention",
    }
    assert NOTE_TYPES["soap"].required_sections == ("subjective", "objective", "assessment", "plan")
    assert all(t.required_sections for t in NOTE_TYPES.values())


def test_drafting_normalises_codes_and_starts_at_version_one() -> None:
    note = ClinicalNote.draft(PRACTICE, CLIENT, AUTHOR, "soap", DAY, now=T0, sections={"subjective": "x"},
                              icd10_codes=["f32.1", "F411"])
    [event] = note.collect_events()
    assert isinstance(event, ClinicalNote.Drafted) and event.icd10_codes == ["F32.1", "F41.1"]
    assert (note.status, note.content_version, note.icd10_codes) == ("draft", 1, ("F32.1", "F41.1"))
    assert note.missing_sections == ["objective", "assessment", "plan"]
    assert note.signed_at is None and not note.fully_signed


def test_a_given_id_is_used() -> None:
    wanted = uuid4()
    assert drafted(note_id=wanted).id == wanted


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"note_type": "poem"}, "note_type"),
        ({"sections": {"feelings": "x"}}, "sections"),
        ({"sections": {"subjective": 3}}, "sections.subjective"),
        ({"icd10_codes": ["F32.1", "depression"]}, "icd10_codes"),
        ({"service_date": T0}, "service_date"),
        ({"now": datetime(2026, 3, 10, 16)}, "now"),
        ({"requires_cosign": True}, "supervisor_id"),
        ({"requires_cosign": True, "supervisor_id": AUTHOR}, "supervisor_id"),
    ],
)
def test_bad_drafts_are_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidCommand) as info:
        drafted(**overrides)
    assert info.value.details["field"] == field


def test_session_notes_without_an_appointment_need_a_link() -> None:
    assert drafted().needs_appointment_link is False
    note = drafted(appointment_id=None)
    assert note.needs_appointment_link is True
    assert drafted(appointment_id=None, note_type="treatment_plan", sections={}).needs_appointment_link is False
    note.link_appointment(APPOINTMENT, AUTHOR, T0)
    note.link_appointment(APPOINTMENT, AUTHOR, T0)
    assert then_events(note) == ["AppointmentLinked"] and not note.needs_appointment_link


def test_the_appointment_link_can_be_filled_in_after_signing_but_not_changed() -> None:
    note = signed(appointment_id=None)
    note.link_appointment(APPOINTMENT, AUTHOR, T0 + timedelta(days=1))
    with pytest.raises(IllegalTransition, match="signed"):
        note.link_appointment(uuid4(), AUTHOR, T0 + timedelta(days=1))
    assert note.appointment_id == APPOINTMENT


# --- lifecycle -------------------------------------------------------------------------------


def test_the_full_lifecycle() -> None:
    note = drafted(sections={"subjective": "s"})
    note.edit(AUTHOR, T0 + timedelta(minutes=5), sections=SOAP, icd10_codes=["F32.1", "Z63.0"])
    note.submit(AUTHOR, T0 + timedelta(minutes=10))
    assert note.status == "in_review"
    note.sign(AUTHOR, T0 + timedelta(minutes=20))
    assert note.status == "signed" and note.fully_signed and note.signed_at == T0 + timedelta(minutes=20)
    note.add_addendum("Client called to reschedule.", SUPERVISOR, T0 + timedelta(days=1))
    note.amend("Wrong diagnosis code.", SOAP, ["F32.2"], AUTHOR, T0 + timedelta(days=2))
    assert note.status == "amended" and not note.fully_signed and note.content_version == 2
    note.sign(AUTHOR, T0 + timedelta(days=2, hours=1))
    assert then_events(note) == ["Edited", "Submitted", "Signed", "AddendumAdded", "Amended", "Signed"]
    assert note.status == "signed" and note.fully_signed
    assert note.signed_at == note.fully_signed_at == T0 + timedelta(minutes=20)  # first signature counts


def test_editing_a_note_in_review_returns_it_to_draft() -> None:
    note = drafted()
    note.submit(AUTHOR, T0)
    note.edit(AUTHOR, T0, sections={**SOAP, "plan": "CBT twice weekly."})
    assert note.status == "draft" and note.sections["plan"] == "CBT twice weekly."


def test_an_unchanged_edit_of_a_draft_records_nothing() -> None:
    note = drafted()
    note.edit(AUTHOR, T0, sections=dict(SOAP), icd10_codes=["F32.1"])
    then_no_new_events(note)


def test_the_reviewer_returns_a_note_with_a_reason() -> None:
    note = drafted()
    note.submit(AUTHOR, T0)
    note.collect_events()
    with pytest.raises(ReasonRequired):
        note.return_to_draft(SUPERVISOR, "  ", T0)
    then_no_new_events(note)
    note.return_to_draft(SUPERVISOR, "Plan lacks measurable goals.", T0)
    assert note.status == "draft"
    with pytest.raises(IllegalTransition, match="draft note cannot be returned"):
        note.return_to_draft(SUPERVISOR, "again", T0)


def test_incomplete_notes_cannot_be_submitted_or_signed() -> None:
    note = drafted(sections={"subjective": "s", "objective": "  "})
    with pytest.raises(NoteIncomplete) as info:
        note.submit(AUTHOR, T0)
    assert info.value.details["missing"] == ["objective", "assessment", "plan"]
    with pytest.raises(NoteIncomplete):
        note.sign(AUTHOR, T0)
    then_no_new_events(note)


def test_only_the_author_submits_and_signs() -> None:
    note = drafted()
    with pytest.raises(NotTheAuthor):
        note.submit(uuid4(), T0)
    with pytest.raises(NotTheAuthor):
        note.sign(SUPERVISOR, T0)
    then_no_new_events(note)


def test_a_submitted_note_cannot_be_submitted_again() -> None:
    note = drafted()
    note.submit(AUTHOR, T0)
    with pytest.raises(IllegalTransition, match="in_review note cannot be submitted") as info:
        note.submit(AUTHOR, T0)
    assert info.value.details["status"] == "in_review"


# --- signatures ------------------------------------------------------------------------------


def test_the_signature_hash_is_the_hash_of_exactly_the_content_signed() -> None:
    note = drafted(icd10_codes=["F32.1", "z63.0"])
    digest = note.sign(AUTHOR, T0)
    [event] = note.collect_events()
    assert isinstance(event, ClinicalNote.Signed) and event.content_hash == digest and event.version == 1
    assert digest == expected_hash("soap", SOAP, ["F32.1", "Z63.0"], DAY, 1)
    assert digest == content_hash("soap", SOAP, ("F32.1", "Z63.0"), DAY, 1) == note.content_hash()
    assert digest != expected_hash("soap", {**SOAP, "plan": "CBT weekly"}, ["F32.1", "Z63.0"], DAY, 1)
    assert digest != expected_hash("soap", SOAP, ["F32.1", "Z63.0"], DAY, 2)
    assert note.versions[0].signature is not None and note.versions[0].signature.content_hash == digest


def test_a_signed_note_is_never_edited() -> None:
    note = signed()
    for attempt in (
        lambda: note.edit(AUTHOR, T0, sections={**SOAP, "plan": "changed"}),
        lambda: note.edit(AUTHOR, T0, icd10_codes=["F41.1"]),
        lambda: note.edit(AUTHOR, T0, service_date=DAY - timedelta(days=1)),
        lambda: note.submit(AUTHOR, T0),
        lambda: note.sign(AUTHOR, T0),
    ):
        with pytest.raises(IllegalTransition, match="A signed note cannot be") as info:
            attempt()
        assert info.value.details["status"] == "signed"
    then_no_new_events(note)
    assert note.sections == SOAP


def test_an_amendment_needs_a_reason_and_keeps_the_signed_version() -> None:
    note = signed()
    first_hash = note.versions[0].signature.content_hash  # type: ignore[union-attr]
    new = {**SOAP, "assessment": "MDD, severe."}
    for reason in ("", "   "):
        with pytest.raises(ReasonRequired):
            note.amend(reason, new, None, AUTHOR, T0 + timedelta(days=1))
    with pytest.raises(InvalidCommand, match="changes"):
        note.amend("no change", dict(SOAP), ["F32.1"], AUTHOR, T0)
    with pytest.raises(NoteIncomplete):
        note.amend("drop plan", {**SOAP, "plan": ""}, None, AUTHOR, T0)
    then_no_new_events(note)
    assert note.amend(" Severity revised. ", new, None, AUTHOR, T0 + timedelta(days=1)) == 2
    [event] = note.collect_events()
    assert isinstance(event, ClinicalNote.Amended) and event.reason == "Severity revised." and event.version == 2
    old, current = note.versions
    assert old.sections == SOAP and old.signature is not None and old.signature.content_hash == first_hash
    assert current.sections == new and current.icd10_codes == ("F32.1",) and current.signature is None
    assert current.amend_reason == "Severity revised." and note.sections == new
    with pytest.raises(IllegalTransition, match="amended note cannot be amended"):
        note.amend("again", SOAP, None, AUTHOR, T0)
    with pytest.raises(IllegalTransition, match="amended note cannot be edited"):
        note.edit(AUTHOR, T0, sections=SOAP)
    second = note.sign(AUTHOR, T0 + timedelta(days=1, hours=1))
    assert second == expected_hash("soap", new, ["F32.1"], DAY, 2) != first_hash
    assert note.versions[0].signature.content_hash == first_hash  # type: ignore[union-attr]


def test_addenda_only_on_a_signed_note() -> None:
    note = drafted()
    with pytest.raises(IllegalTransition, match="draft note cannot be given an addendum"):
        note.add_addendum("late entry", AUTHOR, T0)
    note.sign(AUTHOR, T0)
    with pytest.raises(InvalidCommand):
        note.add_addendum(" ", AUTHOR, T0)
    note.add_addendum("Collateral call with spouse.", AUTHOR, T0 + timedelta(hours=2))
    assert [a.text for a in note.addenda] == ["Collateral call with spouse."]
    assert note.sections == SOAP and note.content_version == 1


# --- co-signature ----------------------------------------------------------------------------


def test_a_supervisees_note_is_fully_signed_only_after_the_supervisors_cosignature() -> None:
    note = drafted()
    note.submit(AUTHOR, T0, requires_cosign=True, supervisor_id=SUPERVISOR)
    with pytest.raises(IllegalTransition, match="before its author signs"):
        note.cosign(SUPERVISOR, T0)
    author_hash = note.sign(AUTHOR, T0 + timedelta(hours=1))
    assert note.status == "signed" and note.awaiting_cosign and not note.fully_signed
    assert note.signed_at == T0 + timedelta(hours=1) and note.fully_signed_at is None
    note.collect_events()
    with pytest.raises(WrongSupervisor):
        note.cosign(uuid4(), T0 + timedelta(days=1))
    with pytest.raises(WrongSupervisor):
        note.cosign(AUTHOR, T0 + timedelta(days=1))
    then_no_new_events(note)
    assert note.cosign(SUPERVISOR, T0 + timedelta(days=2)) == author_hash
    [event] = note.collect_events()
    assert isinstance(event, ClinicalNote.Cosigned) and event.content_hash == author_hash
    assert note.fully_signed and note.fully_signed_at == note.cosigned_at == T0 + timedelta(days=2)
    with pytest.raises(IllegalTransition, match="twice"):
        note.cosign(SUPERVISOR, T0 + timedelta(days=2))


def test_an_amended_supervisee_note_needs_a_new_cosignature() -> None:
    note = drafted(requires_cosign=True, supervisor_id=SUPERVISOR)
    note.sign(AUTHOR, T0)
    note.cosign(SUPERVISOR, T0 + timedelta(hours=1))
    note.amend("Typo in plan.", {**SOAP, "plan": "CBT weekly, PHQ-9 monthly."}, None, AUTHOR, T0 + timedelta(days=1))
    digest = note.sign(AUTHOR, T0 + timedelta(days=1))
    assert not note.fully_signed and note.fully_signed_at == T0 + timedelta(hours=1)
    assert note.cosign(SUPERVISOR, T0 + timedelta(days=2)) == digest and note.fully_signed
    assert [v.cosignature is not None for v in note.versions] == [True, True]


def test_notes_without_the_requirement_cannot_be_cosigned() -> None:
    note = signed()
    with pytest.raises(IllegalTransition, match="needs no co-signature"):
        note.cosign(SUPERVISOR, T0)


def test_submission_may_state_the_requirement() -> None:
    note = drafted()
    with pytest.raises(InvalidCommand) as info:
        note.submit(AUTHOR, T0, requires_cosign=True)
    assert info.value.details["field"] == "supervisor_id"
    note.submit(AUTHOR, T0, requires_cosign=True, supervisor_id=SUPERVISOR)
    assert note.requires_cosign and note.supervisor_id == SUPERVISOR


# --- audit and replay ------------------------------------------------------------------------


def _event_classes() -> list[type[Any]]:
    return [c for c in vars(ClinicalNote).values() if isinstance(c, type) and issubclass(c, NoteEvent)]


def test_every_event_is_audited_about_the_client_with_its_text_encrypted() -> None:
    classes = _event_classes()
    assert len(classes) == 9
    for cls in classes:
        assert issubclass(cls, Audited) and cls.subject_field == "client_id"
        assert cls.TOPIC.startswith("careledger/clinical-note/")
        text_fields = {"sections", "icd10_codes", "reason", "text"} & {f.name for f in dataclasses.fields(cls)}
        assert set(cls.phi_fields) == text_fields, cls.__name__
    assert len({c.TOPIC for c in classes}) == len(classes)
    assert ClinicalNote.TOPIC == "careledger/clinical-note"


def test_replay_from_stored_events_gives_the_same_note() -> None:
    note = ClinicalNote.draft(PRACTICE, CLIENT, AUTHOR, "soap", DAY, now=T0, sections={"subjective": "s"},
                              icd10_codes=["F32.1"], requires_cosign=True, supervisor_id=SUPERVISOR)
    note.edit(AUTHOR, T0, sections=SOAP)
    note.submit(AUTHOR, T0)
    note.return_to_draft(SUPERVISOR, "Add risk.", T0)
    note.link_appointment(APPOINTMENT, AUTHOR, T0)
    note.sign(AUTHOR, T0 + timedelta(hours=1))
    note.cosign(SUPERVISOR, T0 + timedelta(hours=2))
    note.add_addendum("Called client.", AUTHOR, T0 + timedelta(hours=3))
    note.amend("Fix code.", SOAP, ["F32.2"], AUTHOR, T0 + timedelta(days=1))
    note.sign(AUTHOR, T0 + timedelta(days=1))
    copy = replayed(note.collect_events())
    assert isinstance(copy, ClinicalNote) and isinstance(copy.id, UUID)
    fields = ("id", "version", "practice_id", "client_id", "author_id", "note_type", "appointment_id", "status",
              "requires_cosign", "supervisor_id", "signed_at", "cosigned_at", "fully_signed_at", "fully_signed",
              "awaiting_cosign", "service_date", "content_version")
    assert {f: getattr(copy, f) for f in fields} == {f: getattr(note, f) for f in fields}
    assert [dataclasses.asdict(v) for v in copy.versions] == [dataclasses.asdict(v) for v in note.versions]
    assert copy.addenda == note.addenda
    assert copy.content_hash() == note.content_hash() == copy.versions[-1].signature.content_hash  # type: ignore[union-attr]


def test_a_shredded_note_replays_with_its_content_erased() -> None:
    note = ClinicalNote.draft(PRACTICE, CLIENT, AUTHOR, "soap", DAY, now=T0, sections=SOAP, icd10_codes=["F32.1"])
    note.sign(AUTHOR, T0)
    drafted_event, signed_event = note.collect_events()
    erased = dataclasses.replace(drafted_event, sections="erased", icd10_codes="erased")
    copy = replayed([erased, signed_event])
    assert copy.sections == {} and copy.icd10_codes == () and copy.status == "signed"
