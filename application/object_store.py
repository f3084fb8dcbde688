"""Where raw uploaded bytes (835 files) are kept: a port, with keys named by their content."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


class InvalidObjectKey(ValueError):
    """A key that is not a relative path of plain segments (no '..', no leading '/')."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        """Store `data` under `key`. Putting the same bytes again is a no-op; different bytes
        under an existing key raise `application.errors.Conflict` (keys are content-addressed)."""

    def get(self, key: str) -> bytes:
        """The stored bytes; raises `application.errors.NotFound` when there are none."""

    def exists(self, key: str) -> bool: ...


def check_key(key: str) -> str:
    """The key if every '/'-separated segment is a plain name; raises InvalidObjectKey otherwise."""
    segments = key.split("/")
    if not key or any(s in ("", ".", "..") or not _KEY_SEGMENT.fullmatch(s) for s in segments):
        raise InvalidObjectKey(f"Object key {key!r} must be a relative path of plain names.")
    return key


def content_key(practice_id: UUID, sha256: str, suffix: str, *, kind: str = "remittances") -> str:
    """`remittances/{practice_id}/{sha256}.835`: the same upload always lands on the same key."""
    extension = suffix.removeprefix(".")
    if not _SHA256.fullmatch(sha256):
        raise InvalidObjectKey(f"{sha256!r} is not a lowercase hex SHA-256 digest.")
    if not _NAME.fullmatch(extension) or not _NAME.fullmatch(kind):
        raise InvalidObjectKey(f"Suffix {suffix!r} and kind {kind!r} must be plain names.")
    return f"{kind}/{practice_id}/{sha256}.{extension}"
