"""Per-client data keys (AES-256-GCM) wrapped with the master key (AES key wrap, RFC 3394)."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from psycopg_pool import ConnectionPool

NONCE = 12


@dataclass
class _Entry:
    key: bytes | None  # None: shredded
    wrapped: bytes | None
    stored: bool
    loaded_at: float


class PostgresKeyStore:
    """Implements the application's PhiCipher port.

    Unwrapped keys are cached for `ttl` seconds; another process's shredding is therefore
    seen within that time, this process's own at once.
    """

    def __init__(
        self, pool: ConnectionPool, master_key: bytes, ttl: float = 30.0, max_entries: int = 20_000
    ) -> None:
        self._pool = pool
        self._master = master_key
        self._ttl = ttl
        self._max = max_entries
        self._cache: OrderedDict[UUID, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, subject_id: UUID) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(subject_id)
            if entry is not None:
                self._cache.move_to_end(subject_id)
            return entry

    def _put_locked(self, subject_id: UUID, entry: _Entry) -> None:
        """Least recently used keys leave memory first; unsaved new keys never do."""
        self._cache[subject_id] = entry
        self._cache.move_to_end(subject_id)
        for _ in range(len(self._cache)):
            if len(self._cache) <= self._max:
                break
            oldest, candidate = next(iter(self._cache.items()))
            if candidate.stored:
                del self._cache[oldest]
            else:
                self._cache.move_to_end(oldest)

    def _entry(self, subject_id: UUID) -> _Entry | None:
        entry = self._get(subject_id)
        if entry is not None and (not entry.stored or time.monotonic() - entry.loaded_at < self._ttl):
            return entry
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT wrapped_key FROM phi_keys WHERE subject_id = %s", (subject_id,)
            ).fetchone()
        if row is None:
            return None
        wrapped = bytes(row[0]) if row[0] is not None else None
        key = aes_key_unwrap(self._master, wrapped) if wrapped is not None else None
        entry = _Entry(key=key, wrapped=wrapped, stored=True, loaded_at=time.monotonic())
        with self._lock:
            self._put_locked(subject_id, entry)
        return entry

    def prefetch(self, subject_ids: Sequence[UUID]) -> None:
        """Load many subjects' keys with one query (projection batches)."""
        now = time.monotonic()
        with self._lock:
            missing = [
                s for s in set(subject_ids)
                if (e := self._cache.get(s)) is None or (e.stored and now - e.loaded_at >= self._ttl)
            ]
        if not missing:
            return
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT subject_id, wrapped_key FROM phi_keys WHERE subject_id = ANY(%s)", (missing,)
            ).fetchall()
        loaded = {}
        for subject_id, wrapped in rows:
            raw = bytes(wrapped) if wrapped is not None else None
            key = aes_key_unwrap(self._master, raw) if raw is not None else None
            loaded[subject_id] = _Entry(key=key, wrapped=raw, stored=True, loaded_at=now)
        with self._lock:
            for subject_id, entry in loaded.items():
                self._put_locked(subject_id, entry)

    def encrypt(
        self, subject_id: UUID, plaintext: bytes, aad: bytes, new_subject: bool = False
    ) -> tuple[bytes, bytes | None]:
        from application.errors import SubjectErased

        cached = self._get(subject_id)
        # A subject's own first event cannot have a stored key yet: no lookup needed.
        entry = cached if new_subject else self._entry(subject_id)
        if entry is None:
            key = AESGCM.generate_key(bit_length=256)
            entry = _Entry(key, aes_key_wrap(self._master, key), stored=False, loaded_at=0.0)
            with self._lock:
                existing = self._cache.get(subject_id)
                if existing is None:
                    self._put_locked(subject_id, entry)
                else:
                    entry = existing
        if entry.key is None:
            raise SubjectErased("This client's personal data has been erased; no new PHI can be stored.")
        nonce = os.urandom(NONCE)
        ciphertext = nonce + AESGCM(entry.key).encrypt(nonce, plaintext, aad)
        return ciphertext, (None if entry.stored else entry.wrapped)

    def decrypt(self, subject_id: UUID, ciphertext: bytes, aad: bytes) -> bytes | None:
        entry = self._entry(subject_id)
        if entry is None or entry.key is None:
            return None
        return AESGCM(entry.key).decrypt(ciphertext[:NONCE], ciphertext[NONCE:], aad)

    def confirm_stored(self, subject_ids: Sequence[UUID]) -> None:
        with self._lock:
            for subject_id in subject_ids:
                entry = self._cache.get(subject_id)
                if entry is not None and not entry.stored:
                    entry.stored = True
                    entry.loaded_at = time.monotonic()

    def forget(self, subject_id: UUID) -> None:
        with self._lock:
            self._cache.pop(subject_id, None)

    def is_shredded(self, subject_id: UUID) -> bool:
        entry = self._entry(subject_id)
        return entry is not None and entry.key is None

    def seal_existing(self, subject_id: UUID, plaintext: bytes, aad: bytes) -> bytes | None:
        """Encrypt with the subject's stored key; None if it has none or it was shredded."""
        entry = self._entry(subject_id)
        if entry is None or entry.key is None:
            return None
        nonce = os.urandom(NONCE)
        return nonce + AESGCM(entry.key).encrypt(nonce, plaintext, aad)
