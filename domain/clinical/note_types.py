"""The eight note types of seed 001 (Module 4) and the sections each one requires, as data.

A note may hold only the sections of its type. Drafts may leave sections empty; a note is
submitted, signed or amended only with every required section written. Session notes document a
visit and should link to its appointment (seed 001, data-quality rule 2); a crisis intervention
counts as a session (the crisis rate is crisis notes per session). Treatment plans, safety plans
and discharge summaries are about the course of care, not one visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from domain.errors import DomainError, InvalidCommand

MAX_SECTION_CHARS = 20_000
MAX_TEMPLATE_NAME = 100


@dataclass(frozen=True)
class NoteType:
    code: str
    label: str
    required_sections: tuple[str, ...]
    optional_sections: tuple[str, ...] = ()
    session_note: bool = True

    @property
    def sections(self) -> tuple[str, ...]:
        return self.required_sections + self.optional_sections


NOTE_TYPES: dict[str, NoteType] = {
    t.code: t
    for t in (
        NoteType("soap", "SOAP note", ("subjective", "objective", "assessment", "plan")),
        NoteType("progress", "Progress note", ("content",), ("interventions", "response", "plan")),
        NoteType(
            "intake_assessment", "Intake assessment",
            ("presenting_problem", "history", "mental_status", "assessment", "plan"),
            ("risk_assessment",),
        ),
        NoteType(
            "psychiatric_evaluation", "Psychiatric evaluation",
            ("presenting_problem", "psychiatric_history", "mental_status", "assessment", "plan"),
            ("medications", "risk_assessment"),
        ),
        NoteType(
            "treatment_plan", "Treatment plan", ("problems", "goals", "objectives", "interventions"),
            ("strengths", "discharge_criteria"), session_note=False,
        ),
        NoteType(
            "safety_plan", "Safety plan",
            ("warning_signs", "coping_strategies", "support_contacts", "professional_contacts", "means_safety"),
            ("reasons_for_living",), session_note=False,
        ),
        NoteType(
            "discharge_summary", "Discharge summary",
            ("reason_for_discharge", "course_of_treatment", "status_at_discharge", "recommendations"),
            session_note=False,
        ),
        NoteType(
            "crisis_intervention", "Crisis intervention note",
            ("situation", "risk_assessment", "interventions", "disposition"), ("follow_up",),
        ),
    )
}


def note_type(code: str) -> NoteType:
    try:
        return NOTE_TYPES[code]
    except (KeyError, TypeError):
        raise InvalidCommand(
            f"Unknown note type {code!r}.", field="note_type", allowed=sorted(NOTE_TYPES)
        ) from None


def check_sections(kind: NoteType, sections: object) -> dict[str, str]:
    """The sections as a plain dict, refusing names the type does not have and non-text values."""
    if not isinstance(sections, dict):
        raise InvalidCommand("Sections are a mapping of section name to text.", field="sections")
    unknown = sorted(name for name in sections if name not in kind.sections)
    if unknown:
        raise InvalidCommand(
            f"A {kind.label} has no section {unknown[0]!r}.", field="sections", unknown=unknown,
            allowed=list(kind.sections),
        )
    for name, text in sections.items():
        if not isinstance(text, str):
            raise InvalidCommand(f"Section {name!r} is text.", field=f"sections.{name}")
    return dict(sections)


def missing_sections(kind: NoteType, sections: dict[str, str]) -> list[str]:
    return [name for name in kind.required_sections if not sections.get(name, "").strip()]


class TemplateNotFound(DomainError):
    code = "not_found"
    kind = "not_found"


@dataclass(frozen=True)
class NoteTemplate:
    """A practice's starting text for a note type's sections. Boilerplate, never about a client:
    templates carry no PHI."""

    template_id: UUID
    name: str
    note_type: str
    sections: dict[str, str] = field(default_factory=dict)

    @classmethod
    def check(cls, template_id: UUID, name: str, note_type_code: str, sections: object) -> NoteTemplate:
        kind = note_type(note_type_code)
        if not isinstance(name, str) or not name.strip():
            raise InvalidCommand("A template needs a name.", field="name")
        if len(name.strip()) > MAX_TEMPLATE_NAME:
            raise InvalidCommand(f"A template name has at most {MAX_TEMPLATE_NAME} characters.", field="name")
        checked = check_sections(kind, sections)
        for section, text in checked.items():
            if len(text) > MAX_SECTION_CHARS:
                raise InvalidCommand(f"A section has at most {MAX_SECTION_CHARS} characters.",
                                     field=f"sections.{section}")
        return cls(template_id, name.strip(), kind.code, checked)

    def prefill(self, sections: dict[str, str]) -> dict[str, str]:
        """The template's text under the given sections: a given section replaces the default."""
        return {**self.sections, **sections}
