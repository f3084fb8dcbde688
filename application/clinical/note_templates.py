"""A practice's note templates: starting text for a note type's sections, kept on the Practice."""

from __future__ import annotations

from uuid import UUID, uuid4

from application.store import EventStore, Saved
from domain.clinical.note_types import NoteTemplate
from domain.practices.practice import Practice


class NoteTemplateService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def _practice(self, practice_id: UUID) -> Practice:
        practice: Practice = self.store.load(practice_id, Practice)
        return practice

    def list(self, practice_id: UUID, note_type: str | None = None) -> list[NoteTemplate]:
        """The practice's templates (retired ones left out), by note type and name."""
        templates = self._practice(practice_id).note_templates.values()
        chosen = [t for t in templates if note_type is None or t.note_type == note_type]
        return sorted(chosen, key=lambda t: (t.note_type, t.name.lower(), str(t.template_id)))

    def get(self, practice_id: UUID, template_id: UUID) -> NoteTemplate:
        return self._practice(practice_id).note_template(template_id)

    def save(
        self, practice_id: UUID, name: str, note_type: str, sections: dict[str, str], template_id: UUID | None = None
    ) -> Saved:
        """Create a template (no id) or replace one; the saved id is the template's, the version the
        practice's."""
        template = NoteTemplate.check(template_id or uuid4(), name, note_type, sections)
        practice = self._practice(practice_id)
        practice.save_note_template(template)
        saved = self.store.save_one(practice)
        return Saved(template.template_id, saved.version, saved.position)

    def retire(self, practice_id: UUID, template_id: UUID) -> Saved:
        """New notes can no longer start from it; notes drafted from it keep their text."""
        practice = self._practice(practice_id)
        practice.retire_note_template(template_id)
        saved = self.store.save_one(practice)
        return Saved(template_id, saved.version, saved.position)
