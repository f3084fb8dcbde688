from __future__ import annotations

import os
from typing import Any
from uuid import uuid4

from adapters.keystore import PostgresKeyStore


def _store_key(pool: Any, subject: Any, wrapped: bytes) -> None:
    with pool.connection() as conn:
        conn.execute("INSERT INTO phi_keys (subject_id, wrapped_key) VALUES (%s, %s)", (subject, wrapped))


def test_the_key_cache_is_bounded_and_evicted_keys_reload(isolated_container: Any) -> None:
    pool = isolated_container.pool
    keys = PostgresKeyStore(pool, os.urandom(32), max_entries=3)
    subjects = [uuid4() for _ in range(6)]
    sealed = {}
    for s in subjects:
        ciphertext, wrapped = keys.encrypt(s, b"secret " + s.bytes, b"aad", new_subject=True)
        assert wrapped is not None
        _store_key(pool, s, wrapped)
        keys.confirm_stored([s])
        sealed[s] = ciphertext
    assert len(keys._cache) == 3
    for s in subjects:  # the first three were evicted and come back from the database
        assert keys.decrypt(s, sealed[s], b"aad") == b"secret " + s.bytes
    assert len(keys._cache) == 3


def test_unsaved_new_keys_are_never_evicted(isolated_container: Any) -> None:
    keys = PostgresKeyStore(isolated_container.pool, os.urandom(32), max_entries=2)
    pending = uuid4()
    keys.encrypt(pending, b"x", b"a", new_subject=True)
    for _ in range(5):
        keys.encrypt(uuid4(), b"y", b"a", new_subject=True)
        keys.confirm_stored([])
    _, wrapped_again = keys.encrypt(pending, b"x", b"a")
    assert wrapped_again is not None  # still pending: it will be written with its events
