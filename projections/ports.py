from __future__ import annotations

from datetime import date
from typing import Protocol
from uuid import UUID


class PhiIndex(Protocol):
    """Search and display of PHI in read models without storing it in plaintext."""

    def name_tokens(self, practice_id: UUID, names: list[str]) -> list[int]:
        """Keyed hashes of every prefix of every name word (the blind index)."""

    def query_tokens(self, practice_id: UUID, query: str) -> list[int]:
        """Keyed hashes of the words of a search, each matched as a prefix."""

    def dob_token(self, practice_id: UUID, dob: date) -> int: ...

    def seal(self, subject_id: UUID, plaintext: bytes) -> bytes | None:
        """Encrypt with the subject's data key; None when the subject has been erased."""

    def open(self, subject_id: UUID, sealed: bytes) -> bytes | None:
        """Decrypt; None once the subject's key has been destroyed."""
