"""`careledger audit seal|verify` through typer's CliRunner, on a database of the test's own."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner, Result

from adapters.settings import get_settings
from application import audit
from interfaces.cli.audit import app
from interfaces.container import Container
from tests.support import open_practice


@pytest.fixture
def container(isolated_container: Container) -> Iterator[Container]:
    get_settings.cache_clear()  # the CLI's Container() must read the DATABASE_URL given below
    yield isolated_container
    get_settings.cache_clear()


def run(container: Container, *args: str) -> Result:
    get_settings.cache_clear()
    result = CliRunner().invoke(app, list(args), env={"DATABASE_URL": container.database_url})
    get_settings.cache_clear()
    return result


def populate(container: Container) -> tuple[UUID, UUID]:
    with audit.acting(audit.system("system:test")):
        practice_id = open_practice(container, "CLI Care", "cli-care", "Europe/London")
        client_id = container.clients.register(
            practice_id,
            "basic",
            {"first_name": "Bo", "last_name": "Ng", "date_of_birth": date(1940, 2, 3)},
        ).id
        container.clients.change_status(practice_id, client_id, "inactive", "moved", None)
    return practice_id, client_id


def execute(container: Container, query: str, params: tuple[Any, ...]) -> list[Any]:
    with container.pool.connection() as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def event_ids(container: Container) -> list[int]:
    with container.pool.connection() as conn:
        rows = conn.execute("SELECT notification_id FROM careledger_events ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def test_seal_then_verify_says_ok(container: Container) -> None:
    populate(container)
    n = len(event_ids(container))

    sealed = run(container, "seal", "--block-size", "2")
    assert sealed.exit_code == 0, sealed.output
    assert f"Sealed {n} events in {-(-n // 2)} blocks" in sealed.stdout

    verified = run(container, "verify")
    assert verified.exit_code == 0, verified.output
    assert f"OK: {n} events in {-(-n // 2)} blocks verified; 0 events not sealed yet" in (verified.stdout)

    again = run(container, "seal")
    assert again.exit_code == 0
    assert "Nothing new to seal" in again.stdout


def test_verify_reports_the_unsealed_tail(container: Container) -> None:
    practice_id, client_id = populate(container)
    assert run(container, "seal").exit_code == 0
    with audit.acting(audit.system("system:test")):
        container.clients.change_care_level(practice_id, client_id, "intensive")

    verified = run(container, "verify")

    assert verified.exit_code == 0, verified.output
    assert "1 events not sealed yet" in verified.stdout


def test_verify_exits_1_naming_an_updated_event(container: Container) -> None:
    populate(container)
    assert run(container, "seal").exit_code == 0
    target = event_ids(container)[2]  # practice registered, BAA signed, then the client
    execute(
        container,
        "UPDATE careledger_events SET state = state || 'x'::bytea WHERE notification_id = %s",
        (target,),
    )

    verified = run(container, "verify")

    assert verified.exit_code == 1
    assert (
        f"TAMPERED: event {target} (careledger/client/registered) stored bytes no longer match the sealed hash"
    ) in verified.stdout
    assert "OK:" not in verified.stdout


def test_verify_exits_1_naming_a_deleted_event(container: Container) -> None:
    populate(container)
    assert run(container, "seal").exit_code == 0
    target = event_ids(container)[-1]
    execute(container, "DELETE FROM careledger_events WHERE notification_id = %s", (target,))

    verified = run(container, "verify")

    assert verified.exit_code == 1
    assert f"TAMPERED: event {target} is missing" in verified.stdout


def test_verify_with_a_public_key(container: Container) -> None:
    populate(container)
    assert run(container, "seal").exit_code == 0
    shown = run(container, "public-key")
    assert shown.exit_code == 0, shown.output
    ours, fingerprint = shown.stdout.split()
    other = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()

    good = run(container, "verify", "--public-key", ours)
    bad = run(container, "verify", "--public-key", other)
    junk = run(container, "verify", "--public-key", "not-a-key")

    assert good.exit_code == 0, good.output
    assert fingerprint in good.stdout
    assert bad.exit_code == 1
    assert "TAMPERED: block 0's signature does not verify" in bad.stdout
    assert junk.exit_code == 2
