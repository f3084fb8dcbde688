"""The read models' PhiIndex: keyed hashes for search, per-client encryption for display."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapters.keystore import PostgresKeyStore
from projections.tokens import MAX_PREFIX, normalise, prefixes

_AAD = b"careledger/read-model"


class BlindIndex:
    def __init__(self, keystore: PostgresKeyStore, master_key: bytes) -> None:
        self._keys = keystore
        self._root = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"careledger/blind-index"
        ).derive(master_key)
        self._practice_keys: dict[UUID, bytes] = {}

    def _key(self, practice_id: UUID) -> bytes:
        key = self._practice_keys.get(practice_id)
        if key is None:
            key = hmac.new(self._root, practice_id.bytes, hashlib.sha256).digest()
            self._practice_keys[practice_id] = key
        return key

    def _token(self, key: bytes, text: str) -> int:
        digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def name_tokens(self, practice_id: UUID, names: list[str]) -> list[int]:
        key = self._key(practice_id)
        return [self._token(key, "n:" + p) for p in prefixes(normalise(" ".join(names)))]

    def query_tokens(self, practice_id: UUID, query: str) -> list[int]:
        key = self._key(practice_id)
        return sorted({self._token(key, "n:" + w[:MAX_PREFIX]) for w in normalise(query)})

    def dob_token(self, practice_id: UUID, dob: date) -> int:
        return self._token(self._key(practice_id), "d:" + dob.isoformat())

    def seal(self, subject_id: UUID, plaintext: bytes) -> bytes | None:
        return self._keys.seal_existing(subject_id, plaintext, _AAD)

    def open(self, subject_id: UUID, sealed: bytes) -> bytes | None:
        return self._keys.decrypt(subject_id, sealed, _AAD)
