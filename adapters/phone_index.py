"""Keyed hashes of phone numbers for the SMS routing read model (no number is stored in clear)."""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class PhoneIndex:
    """HMAC-SHA256 of the E.164 number under a per-practice key derived from the master key, so
    the same number hashes differently in two practices."""

    def __init__(self, master_key: bytes) -> None:
        self._root = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"careledger/phone-index"
        ).derive(master_key)
        self._keys: dict[UUID, bytes] = {}

    def phone_token(self, practice_id: UUID, e164: str) -> int:
        key = self._keys.get(practice_id)
        if key is None:
            key = self._keys[practice_id] = hmac.new(self._root, practice_id.bytes, hashlib.sha256).digest()
        digest = hmac.new(key, b"p:" + e164.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big", signed=True)
