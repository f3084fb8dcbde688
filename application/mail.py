"""Outgoing mail: the message the application composes and the port that delivers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


def _single_line(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} must be a single line")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf"
    data: bytes

    def __post_init__(self) -> None:
        _single_line("filename", self.filename)
        main, _, sub = self.content_type.partition("/")
        if not main or not sub:
            raise ValueError(f"content_type {self.content_type!r} is not type/subtype")


@dataclass(frozen=True)
class OutgoingMail:
    """`idempotency_key`: a retried send with the same key delivers the message at most once."""

    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    idempotency_key: str | None = None
    practice_id: UUID | None = None

    def __post_init__(self) -> None:
        _single_line("to", self.to)
        _single_line("subject", self.subject)
        if "@" not in self.to:
            raise ValueError("to must be an email address")


class Mailer(Protocol):
    def send(self, message: OutgoingMail) -> str:
        """Delivers (or records) the message; returns its id, the same id for a repeated key."""
        ...
