"""Rebuild from zero equals the incremental result; a SIGKILL mid-run loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from typing import Any

import psycopg

from application import audit
from domain.practices.practice import practice_id_for
from tests.support import acting_as, open_practice, staff_member

PID = practice_id_for("rebuild")
ADMIN = audit.AuditContext(actor_id="u-admin", actor_role="admin", practice_id=PID)
TABLES = {"clients": "client_directory", "members": "member_directory"}


def snapshot(url: str, table: str) -> list[tuple[Any, ...]]:
    """Rows without the encrypted display blob (random nonces differ between writes)."""
    with psycopg.connect(url) as conn:
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'display' "
            "ORDER BY column_name", (table,)
        ).fetchall()]
        rows = conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
    return sorted(rows, key=repr)


def populate(k: Any, clients: int = 60) -> None:
    with audit.acting(audit.system("system:test", practice_id=PID)):
        open_practice(k, "Rebuild Practice", "rebuild", "America/Chicago")
    with acting_as(ADMIN):
        staff = [staff_member(k, PID, f"s{i}@x.test") for i in range(3)]
        for i in range(clients):
            saved = k.clients.register(
                PID, "basic", {"first_name": f"Name{i}", "last_name": f"Family{i % 7}", "date_of_birth": date(1980, 1, 1 + i % 28)}
            )
            k.clients.assign(PID, saved.id, staff[i % 3], "clinician")
            if i % 3 == 0:
                k.clients.change_status(PID, saved.id, "inactive", "no_contact", None)
            if i % 5 == 0:
                k.clients.update_demographics(PID, saved.id, {"last_name": f"Renamed{i}"})
            if i % 11 == 0:
                k.clients.erase(PID, saved.id, "client_request")


def test_rebuild_equals_incremental(isolated_container: Any) -> None:
    k = isolated_container
    populate(k, clients=20)
    runner = k.runner("clients")
    runner.batch_size = 7  # many small batches while the history grows
    runner.catch_up()
    with acting_as(ADMIN):
        populate_more = k.clients.register(PID, "intensive", {"first_name": "Late", "last_name": "Comer", "date_of_birth": date(2001, 2, 3)})
    runner.catch_up()
    incremental = snapshot(k.database_url, "client_directory")
    shown = k.client_directory.search(PID, only_clients=None, care_team_any=None, limit=200).items
    assert len(incremental) == 21 and any(r for r in incremental if populate_more.id in r)

    runner.batch_size = 500
    progress: list[tuple[int, int]] = []
    rebuilt_count = runner.rebuild(progress=lambda done, total: progress.append((done, total)))
    assert rebuilt_count == runner.status().head
    assert progress and progress[-1][0] == progress[-1][1]
    assert snapshot(k.database_url, "client_directory") == incremental
    assert k.client_directory.search(PID, only_clients=None, care_team_any=None, limit=200).items == shown
    assert runner.status().lag == 0


def test_killed_runner_resumes_to_the_same_tables(isolated_container: Any) -> None:
    k = isolated_container
    populate(k, clients=60)
    reference: dict[str, list[tuple[Any, ...]]] = {}
    for name, table in TABLES.items():
        k.runner(name).catch_up()
        reference[name] = snapshot(k.database_url, table)
        k.runner(name).reset()
        assert snapshot(k.database_url, table) == []

    env = {**os.environ, "DATABASE_URL": k.database_url}
    cmd = [sys.executable, "-m", "interfaces.cli.main", "projections", "run", "--once", "--batch-size", "3"]
    victim = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while k.runner("clients").position() < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the runner finished before it could be killed"
    head = k.runner("clients").status().head
    assert 0 < k.runner("clients").position() < head  # really killed mid-way

    finisher = subprocess.run(cmd, env=env, capture_output=True, timeout=120, check=False)
    assert finisher.returncode == 0, finisher.stderr.decode()
    for name, table in TABLES.items():
        assert k.runner(name).status().lag == 0
        assert snapshot(k.database_url, table) == reference[name]


def test_live_projections_survive_a_failing_pass(isolated_container: Any) -> None:
    """A broken batch is retried after a pause; once it works again the view catches up."""
    k = isolated_container
    populate(k, clients=3)
    runner = k.runner("clients")
    original = runner.run_batch
    failures = {"left": 2}

    def flaky() -> int:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database hiccup")
        return original()

    runner.run_batch = flaky  # type: ignore[method-assign]
    live = type(k.live_projections())([runner], k.database_url, poll=0.05)
    live.start()
    try:
        deadline = time.monotonic() + 30
        while runner.status().lag and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runner.status().lag == 0
        assert failures["left"] == 0 and live.error is None
    finally:
        live.stop()
