from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from application import audit
from application.errors import MissingActor
from domain.clients.client import Client
from domain.practices.practice import practice_id_for
from tests.support import acting_as, open_practice

ADMIN = audit.AuditContext(
    actor_id="u-admin", actor_role="admin", request_id="req-1", client_ip="10.1.2.3", user_agent="pytest"
)


def _events(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM careledger_events").fetchone()
        assert row is not None
        return int(row[0])


def test_saving_without_an_actor_raises_and_stores_nothing(container: Any, database_url: str) -> None:
    before = _events(database_url)
    client = Client.register(uuid4(), "basic", first_name="No", last_name="Actor", date_of_birth=date(2000, 1, 1))
    with pytest.raises(MissingActor):
        container.store.save(client)
    with pytest.raises(MissingActor), audit.acting(audit.AuditContext(actor_id="", actor_role="admin")):
        container.store.save(client)
    assert _events(database_url) == before


def test_every_stored_event_carries_the_envelope(container: Any) -> None:
    pid = practice_id_for("envelope")
    with audit.acting(audit.system("cli:tester", practice_id=pid)):
        open_practice(container, "Envelope Practice", "envelope", "America/New_York")
    with acting_as(ADMIN.__class__(**{**ADMIN.__dict__, "practice_id": pid})):
        saved = container.clients.register(
            pid, "basic", {"first_name": "Eve", "last_name": "Lope", "date_of_birth": date(1980, 2, 3)}
        )
        container.clients.change_status(pid, saved.id, "inactive", "moved_away", None)
    history = container.audit_trail.history(pid, saved.id)
    assert [h.event_type for h in history] == ["careledger/client/registered", "careledger/client/status-changed"]
    for entry in history:
        env = entry.envelope
        assert env["actor_id"] == "u-admin" and env["actor_role"] == "admin"
        assert env["practice_id"] == str(pid)
        assert env["request_id"] == "req-1" and env["client_ip"] == "10.1.2.3" and env["user_agent"] == "pytest"
        assert env["at"] == entry.recorded_at and env["at"].tzinfo is not None
    assert history[0].envelope["reason"] is None
    assert history[1].envelope["reason"] == "moved_away"


def test_system_actors_are_named(container: Any) -> None:
    with audit.acting(audit.system("system:worker")) as ctx:
        assert audit.current() is ctx
        assert ctx.envelope()["actor_id"] == "system:worker"
    assert audit.peek() is None
