"""PHI is encrypted at rest with a per-client key; crypto-shredding makes it unreadable for good."""

from __future__ import annotations

import base64
import os
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from application import audit
from application.clients import Read
from application.errors import Forbidden
from domain.events import ERASED
from domain.practices.practice import practice_id_for
from tests.support import acting_as, open_practice

NAME = "Xylophonia"
SURNAME = "Quintessavex"
PID = practice_id_for("shred")
ADMIN = audit.AuditContext(actor_id="u-admin", actor_role="admin", practice_id=PID)


def _logical_hits(url: str, needles: list[bytes]) -> list[str]:
    """Every row of every table, every column, as bytes: where does a needle appear?"""
    hits = []
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()]
        for table in tables:
            for row in conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))).fetchall():
                for value in row:
                    blob = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                    hits += [f"{table}: {n!r}" for n in needles if n.lower() in blob.lower()]
    return hits


def _physical_hits(url: str, needles: list[bytes]) -> list[str] | None:
    """The database's files on disk (heap, TOAST, indexes, dead tuples included)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SHOW data_directory").fetchone()
        assert row is not None
        data_dir = Path(row[0])
        files = [r[0] for r in conn.execute(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_relation_filepath(c.oid) IS NOT NULL"
        ).fetchall()]
    hits = []
    for rel in files:
        base = data_dir / rel
        try:
            segments = [base, *sorted(base.parent.glob(base.name + ".*"))]
            for seg in segments:
                if seg.exists():
                    data = seg.read_bytes()
                    hits += [f"{rel}: {n!r}" for n in needles if n in data or n.lower() in data.lower()]
        except PermissionError:
            return None
    return hits


def _needles() -> list[bytes]:
    return [NAME.encode(), SURNAME.encode(), base64.b64encode(NAME.encode())[:8], NAME.encode().hex().encode()]


@pytest.fixture
def shredding_world(isolated_container: Any) -> tuple[Any, Any]:
    k = isolated_container
    with audit.acting(audit.system("system:test", practice_id=PID)):
        open_practice(k, "Shred Practice", "shred", "America/New_York")
    with acting_as(ADMIN):
        saved = k.clients.register(
            PID, "basic",
            {"first_name": NAME, "last_name": SURNAME, "date_of_birth": date(1977, 7, 7),
             "email": "xq@example.test", "address": {"line1": "9 Quintessavex Way", "city": "Macon"}},
        )
        k.clients.change_status(PID, saved.id, "inactive", "moved_away", f"{NAME} moved to Ohio")
    for runner in k.runners:
        runner.catch_up()
    return k, saved


def test_names_are_never_stored_in_plaintext(shredding_world: tuple[Any, Any]) -> None:
    k, saved = shredding_world
    assert _logical_hits(k.database_url, _needles()) == []
    physical = _physical_hits(k.database_url, _needles())
    if physical is not None:
        assert physical == []
    with acting_as(ADMIN):
        chart = k.clients.chart(PID, saved.id, read=Read("test"))
    assert chart.demographics["first_name"] == NAME
    page = k.client_directory.search(PID, only_clients=None, care_team_any=None, q=SURNAME[:5])
    assert [i.first_name for i in page.items] == [NAME]


def test_only_an_admin_can_erase(shredding_world: tuple[Any, Any]) -> None:
    k, saved = shredding_world
    with acting_as(audit.AuditContext("u-clin", "clinician", PID)), pytest.raises(Forbidden):
        k.clients.erase(PID, saved.id, "client_request")


def test_after_shredding_phi_is_erased_but_history_stays(shredding_world: tuple[Any, Any]) -> None:
    k, saved = shredding_world
    with acting_as(ADMIN):
        k.clients.erase(PID, saved.id, "client_request")
    for runner in k.runners:
        runner.catch_up()
    k.keystore.forget(saved.id)

    with psycopg.connect(k.database_url) as conn:
        row = conn.execute("SELECT wrapped_key, shredded_at FROM phi_keys WHERE subject_id = %s", (saved.id,)).fetchone()
    assert row is not None and row[0] is None and row[1] is not None

    with acting_as(ADMIN):
        chart = k.clients.chart(PID, saved.id, Read("test"))
    assert chart.erased
    assert chart.demographics["first_name"] == ERASED and chart.demographics["date_of_birth"] == ERASED
    assert chart.status == "inactive" and chart.care_level == "basic"  # non-PHI facts survive

    history = k.audit_trail.history(PID, saved.id)
    types = [h.event_type for h in history]
    assert types[:3] == ["careledger/client/registered", "careledger/client/status-changed", "careledger/client/erased"]
    assert history[0].data["first_name"] == ERASED and history[1].data["reason_code"] == "moved_away"
    assert history[2].envelope["reason"] == "client_request" and history[2].envelope["actor_role"] == "admin"

    [row_after] = k.client_directory.search(PID, only_clients=None, care_team_any=None, client_id=saved.id).items
    assert row_after.erased and row_after.first_name == ERASED
    assert k.client_directory.search(PID, only_clients=None, care_team_any=None, q=SURNAME[:5]).items == []

    assert _logical_hits(k.database_url, _needles()) == []
    physical = _physical_hits(k.database_url, _needles())
    if physical is not None:
        assert physical == []

    with acting_as(ADMIN), pytest.raises(Exception, match="erased"):
        k.clients.update_demographics(PID, saved.id, {"phone": "+1 404 555 0101"})

    # a rebuild after shredding still works, and still shows nothing
    k.runner("clients").rebuild()
    [rebuilt] = k.client_directory.search(PID, only_clients=None, care_team_any=None, client_id=saved.id).items
    assert rebuilt.erased and rebuilt.first_name == ERASED


def test_a_different_master_key_cannot_read_phi(shredding_world: tuple[Any, Any]) -> None:
    from adapters.keystore import PostgresKeyStore

    k, saved = shredding_world
    stranger = PostgresKeyStore(k.pool, os.urandom(32))
    with pytest.raises(Exception):
        stranger.decrypt(saved.id, b"\0" * 40, b"")
