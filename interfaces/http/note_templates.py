"""The practice's note templates: default section text a new note can start from (no PHI)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from domain.identity.permissions import Permission
from interfaces.http.deps import Authorize, Caller, ContainerDep, EditSettings
from interfaces.http.note_schemas import NoteTypeCode, TemplateIn, TemplateOut
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1/practice/note-templates", tags=["clinical notes"])
ViewNotes = Annotated[Caller, Depends(Authorize(Permission.VIEW_NOTES))]


@router.get("", response_model=list[TemplateOut])
def list_templates(
    caller: ViewNotes, k: ContainerDep, note_type: Annotated[NoteTypeCode | None, Query()] = None
) -> list[TemplateOut]:
    return [TemplateOut.of(t) for t in k.note_templates.list(caller.practice_id, note_type)]


@router.post("", status_code=201, response_model=Accepted)
def save_template(body: TemplateIn, caller: EditSettings, k: ContainerDep) -> Accepted:
    """Create a template, or replace one by its `template_id`. Sections must belong to the note type."""
    saved = k.note_templates.save(caller.practice_id, body.name, body.note_type, body.sections, body.template_id)
    return Accepted.model_validate(saved, from_attributes=True)


@router.delete("/{template_id}", response_model=Accepted)
def retire_template(template_id: UUID, caller: EditSettings, k: ContainerDep) -> Accepted:
    """New notes can no longer start from it; notes drafted from it keep their text."""
    return Accepted.model_validate(k.note_templates.retire(caller.practice_id, template_id), from_attributes=True)
