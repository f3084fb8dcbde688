from __future__ import annotations

from typing import Any

import psycopg
from typer.testing import CliRunner

from domain.practices.practice import practice_id_for
from interfaces.cli.main import app

runner = CliRunner()


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_demo_is_idempotent_and_projections_report(isolated_database_url: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("DATABASE_URL", isolated_database_url)
    first = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.output
    events = _count(isolated_database_url, "SELECT count(*) FROM careledger_events")
    clients = _count(isolated_database_url, "SELECT count(*) FROM client_directory")
    assert clients == 55
    assert _count(isolated_database_url, "SELECT count(*) FROM member_directory WHERE role = 'clinician'") == 2
    assert _count(isolated_database_url, "SELECT count(*) FROM member_directory WHERE email LIKE '%@demo.careledger.test'") == 10
    # twelve weeks of history, every outcome present, plus the next two weeks booked
    outcomes = dict(_rows(isolated_database_url, "SELECT status, count(*) FROM appointment_book GROUP BY status"))
    assert {"completed", "no_show", "cancelled", "scheduled", "confirmed"} <= set(outcomes)
    assert outcomes["completed"] > 300
    assert _count(isolated_database_url, "SELECT count(*) FROM appointment_book WHERE late") > 0
    weeks = _count(isolated_database_url, "SELECT count(DISTINCT date_trunc('week', starts_at)) FROM appointment_book")
    assert weeks >= 14
    # notes for the history, and every kind of compliance alert the demo is meant to show
    signed = dict(_rows(isolated_database_url, "SELECT fully_signed_at IS NOT NULL, count(*) FROM cp_notes GROUP BY 1"))
    assert signed[True] > 300 and signed[False] > 5
    alerts = {r[0] for r in _rows(isolated_database_url, "SELECT DISTINCT rule_code || ':' || step FROM cp_alerts "
                                                          "WHERE status <> 'resolved'")}
    assert {"GA-NOTE-SIGNATURE:reminder", "GA-NOTE-SIGNATURE:supervisor_alert", "GA-NOTE-SIGNATURE:billing_hold",
            "GA-PLAN-REVIEW:reminder", "GA-PLAN-REVIEW:out_of_compliance", "GA-SAFETY-PLAN:missing",
            "GA-SUPERVISION-HOURS:shortfall", "GA-SUPERVISION-NOTE:overdue", "GA-INFORMED-CONSENT:reminder",
            "GA-HIPAA-TRAINING:reminder", "DQ-NOTE-LINK:missing", "DQ-DEMOGRAPHICS:incomplete",
            "ESC-OVERDUE-NOTE:escalation"} <= alerts
    second = runner.invoke(app, ["demo"])
    assert second.exit_code == 0 and "0 new aggregates" in second.output
    assert _count(isolated_database_url, "SELECT count(*) FROM careledger_events") == events

    status = runner.invoke(app, ["projections", "status"])
    assert status.exit_code == 0 and "clients" in status.output and "members" in status.output

    rebuilt = runner.invoke(app, ["projections", "rebuild", "clients"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"Rebuilt clients: {events} events" in rebuilt.output
    assert _count(isolated_database_url, "SELECT count(*) FROM client_directory") == clients

    unknown = runner.invoke(app, ["projections", "rebuild", "nope"])
    assert unknown.exit_code == 2 and "No projection 'nope'" in unknown.output


    from interfaces.container import Container
    from interfaces.http.tokens import verify

    out = runner.invoke(app, ["token", "front_desk@demo.careledger.test"])
    assert out.exit_code == 0, out.output
    k = Container(database_url=isolated_database_url)
    claims = verify(k.secrets.token_secret, out.output.strip(), k.clock.now())
    assert claims.role == "front_desk" and claims.practice_id == practice_id_for("demo")
    k.close()
