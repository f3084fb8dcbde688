"""Ports: what the application needs from the outside, implemented in `adapters/`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import Notification


class Clock(Protocol):
    def now(self) -> datetime: ...


class PhiCipher(Protocol):
    """Per-subject (per-client) data keys wrapped by a master key."""

    def encrypt(
        self, subject_id: UUID, plaintext: bytes, aad: bytes, new_subject: bool = False
    ) -> tuple[bytes, bytes | None]:
        """Returns the ciphertext and, when the subject had no key yet, the new wrapped key
        that must be stored in the same transaction as the events. `new_subject` says the
        event creates the subject itself, so no stored key can exist."""

    def decrypt(self, subject_id: UUID, ciphertext: bytes, aad: bytes) -> bytes | None:
        """Returns None when the subject's key has been destroyed (crypto-shredded)."""

    def confirm_stored(self, subject_ids: Sequence[UUID]) -> None: ...

    def prefetch(self, subject_ids: Sequence[UUID]) -> None: ...

    def forget(self, subject_id: UUID) -> None: ...


class EventLog(Protocol):
    """Direct reads of the event store for auditors (history by subject)."""

    def select_subject_notifications(
        self, subject_id: UUID, topics: Sequence[str] = (), limit: int = 10_000
    ) -> Sequence[Notification]: ...

    def select_subjects_between(self, first: int, last: int) -> Sequence[UUID]: ...
