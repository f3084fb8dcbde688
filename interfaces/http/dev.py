"""Developer aids, present only in dev mode (404 otherwise): the recorded outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from adapters.mail import RecordingMailer
from application.errors import NotFound
from interfaces.http.deps import ContainerDep, EditSettings


def dev_only(k: ContainerDep) -> None:
    """Runs before authentication, so outside dev mode the routes are simply absent."""
    if not k.settings.is_dev:
        raise NotFound("Not found.")


router = APIRouter(prefix="/api/v1/dev", tags=["dev"], dependencies=[Depends(dev_only)])


class AttachmentOut(BaseModel):
    filename: str
    content_type: str
    size: int
    sha256: str


class RecordedMailOut(BaseModel):
    id: UUID
    to: str
    subject: str
    text: str
    html: str | None
    attachments: list[AttachmentOut]
    created_at: datetime


@router.get("/outbox", response_model=list[RecordedMailOut])
def outbox(
    caller: EditSettings,
    k: ContainerDep,
    to: Annotated[str | None, Query(max_length=320)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[RecordedMailOut]:
    """Mail recorded instead of sent (no SMTP configured): this practice's and practice-less, newest first."""
    mailer = getattr(k, "mailer", None)
    if not isinstance(mailer, RecordingMailer):
        return []  # SMTP is configured: mail is sent, not recorded
    return [
        RecordedMailOut(
            id=m.id, to=m.to, subject=m.subject, text=m.text, html=m.html, created_at=m.created_at,
            attachments=[AttachmentOut(filename=a.filename, content_type=a.content_type, size=a.size,
                                       sha256=a.sha256) for a in m.attachments],
        )
        for m in mailer.list(limit=limit, to=to, practice_id=caller.practice_id)
    ]
