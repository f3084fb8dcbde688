"""Compliance over HTTP: alerts by audience, acknowledging (audited, once), the as-of question,
the rules in force and the billing hold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FrozenClock
from domain.compliance.compliance_day import compliance_day_id
from interfaces.http.app import create_app
from tests.interfaces.conftest import bearer, ensure_member, setup_practice
from tests.projections.compliance_script import ComplianceScript


@pytest.fixture(scope="module")
def api(container: Any) -> Iterator[TestClient]:
    """Without the background sweeper: it would start today's compliance day (the wall clock's)
    for the scripted practices in the middle of their scripted past."""
    with TestClient(create_app(container, background=False), raise_server_exceptions=False) as client:
        yield client


def scripted(container: Any) -> tuple[ComplianceScript, dict[str, Any]]:
    s = ComplianceScript(container)
    trained = max(date(2026, 1, 1), container.clock.now().date() - timedelta(days=300))
    ids = {role: ensure_member(container, s.slug, role, f"{role}@{s.slug}.test", trained_on=trained)
           for role in ("admin", "supervisor", "clinician", "billing")}
    ids["other"] = ensure_member(container, s.slug, "clinician", f"other@{s.slug}.test", trained_on=trained)
    s.supervise(ids["clinician"], ids["supervisor"])
    client = s.client(ids["clinician"], consent_on=date(2026, 2, 20))
    ids["visit"] = s.visit(ids["clinician"], client, date(2026, 3, 2))
    ids["note"] = s.note(ids["clinician"], client, date(2026, 3, 2), ids["visit"])
    s.ticks(date(2026, 3, 2), date(2026, 3, 9))
    s.settle()
    return s, ids


def note_alerts(api: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    r = api.get("/api/v1/compliance/alerts", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [a for a in r.json() if a["rule_code"] in {"GA-NOTE-SIGNATURE", "ESC-OVERDUE-NOTE"}]


def test_alerts_by_audience_and_acknowledging_once(api: TestClient, container: Any) -> None:
    s, ids = scripted(container)
    h = {role: bearer(container, ids[role]) for role in ("admin", "supervisor", "clinician", "other")}

    open_ = note_alerts(api, h["clinician"], status="open")
    assert sorted((a["rule_code"], a["step"]) for a in open_) == [
        ("ESC-OVERDUE-NOTE", "escalation"), ("GA-NOTE-SIGNATURE", "supervisor_alert")]
    alert = next(a for a in open_ if a["step"] == "supervisor_alert")
    assert (alert["type"], alert["severity"], alert["target"], alert["target_user_id"]) == (
        "note_signature", "critical", "supervisor", str(ids["supervisor"]))
    assert alert["action_required"] == "sign_note" and alert["subject_id"] == str(ids["visit"])
    assert {a["id"] for a in note_alerts(api, h["supervisor"], status="open")} == {a["id"] for a in open_}
    assert {a["id"] for a in note_alerts(api, h["admin"], status="open")} == {a["id"] for a in open_}
    assert note_alerts(api, h["other"], status="open") == []
    resolved = note_alerts(api, h["clinician"], status="resolved")
    assert [(a["step"], a["resolved_at"][:10]) for a in resolved] == [("reminder", "2026-03-09")]

    url = f"/api/v1/compliance/alerts/{alert['id']}/acknowledge"
    assert api.post(url, headers=h["other"], json={}).status_code == 404
    elsewhere = f"cp-other-{uuid4().hex[:6]}"
    setup_practice(container, elsewhere)
    stranger = bearer(container, ensure_member(container, elsewhere, "admin", f"admin@{elsewhere}.test"))
    assert api.post(url, headers=stranger, json={}).status_code == 404
    assert all(a["id"] != alert["id"] for a in api.get("/api/v1/compliance/alerts", headers=stranger).json())
    assert api.post(url, headers=h["supervisor"], json={"note": "x", "extra": 1}).status_code == 422
    r = api.post(url, headers=h["supervisor"], json={"note": "Talked it through"})
    assert r.status_code == 200, r.text
    container.runner("compliance").catch_up()
    [acked] = [a for a in note_alerts(api, h["admin"]) if a["id"] == alert["id"]]
    assert (acked["status"], acked["acknowledged_by"], acked["acknowledged_note"]) == (
        "acknowledged", str(ids["supervisor"]), "Talked it through")
    again = api.post(url, headers=h["admin"], json={})
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    r = api.post(f"/api/v1/compliance/alerts/{resolved[0]['id']}/acknowledge", headers=h["admin"], json={})
    assert r.status_code == 409
    assert api.post(f"/api/v1/compliance/alerts/{uuid4()}/acknowledge", headers=h["admin"]).status_code == 404

    # Signing the note resolves the acknowledged alert too.
    s.sign(ids["note"], ids["clinician"], s.at(date(2026, 3, 10), 8))
    s.settle()
    assert note_alerts(api, h["admin"], status="active") == []
    [done] = [a for a in note_alerts(api, h["admin"]) if a["id"] == alert["id"]]
    assert done["status"] == "resolved" and done["acknowledged_by"] == str(ids["supervisor"])


def test_as_of_answers_from_history(api: TestClient, container: Any) -> None:
    s, ids = scripted(container)
    admin = bearer(container, ids["admin"])
    s.sign(ids["note"], ids["clinician"], s.at(date(2026, 3, 10), 8))
    s.settle()

    def note_findings(day: str) -> tuple[dict[str, Any], list[tuple[str, str]], list[tuple[str, str]]]:
        r = api.get("/api/v1/compliance/as-of", headers=admin, params={"date": day})
        assert r.status_code == 200, r.text
        body = r.json()
        pick = [(f["rule_code"], f["step"]) for f in body["violations"] if f["rule_code"].startswith("GA-NOTE")]
        nudge = [(f["rule_code"], f["step"]) for f in body["nudges"] if f["rule_code"].startswith(("GA-NOTE", "ESC"))]
        return body, pick, nudge

    body, violations, nudges = note_findings("2026-03-06")
    assert (body["rule_version"], body["ruleset"], violations, nudges) == (1, "georgia", [], [])
    assert body["evaluated_at"] == "2026-03-06T23:59:59.999999-05:00"  # the last instant of that local day
    _, violations, nudges = note_findings("2026-03-07")
    assert (violations, nudges) == ([], [("GA-NOTE-SIGNATURE", "reminder")])
    _, violations, nudges = note_findings("2026-03-09")
    assert (violations, nudges) == ([("GA-NOTE-SIGNATURE", "supervisor_alert")], [("ESC-OVERDUE-NOTE", "escalation")])
    _, violations, nudges = note_findings("2026-03-10")  # signed at 08:00 that day
    assert (violations, nudges) == ([], [])
    assert api.get("/api/v1/compliance/as-of", headers=admin, params={"date": "2026-13-01"}).status_code == 422
    assert api.get("/api/v1/compliance/as-of", headers=admin).status_code == 422


def test_billing_hold_follows_the_note(api: TestClient, container: Any) -> None:
    s, ids = scripted(container)
    billing = bearer(container, ids["billing"])
    url = f"/api/v1/appointments/{ids['visit']}/billing-hold"
    r = api.get(url, headers=billing)
    assert r.status_code == 200, r.text
    assert r.json() | {"appointment_id": None} == {
        "appointment_id": None, "billable": False, "held": True, "reason": "note_unsigned",
        "hold_from": "2026-03-16", "rule_code": "GA-NOTE-SIGNATURE", "rule_version": 1}
    s.sign(ids["note"], ids["clinician"], s.at(date(2026, 3, 20), 8))
    s.settle()
    r = api.get(url, headers=billing)
    assert (r.json()["held"], r.json()["billable"], r.json()["hold_from"]) == (False, True, None)
    open_visit = s.visit(ids["clinician"], s.client(ids["clinician"], consent_on=date(2026, 2, 20)),
                         date(2026, 3, 25), status="open")
    s.settle()
    assert api.get(f"/api/v1/appointments/{open_visit}/billing-hold", headers=billing).status_code == 409
    assert api.get(f"/api/v1/appointments/{uuid4()}/billing-hold", headers=billing).status_code == 404


def test_rules_are_listed_with_the_version_in_force(api: TestClient, container: Any) -> None:
    _, ids = scripted(container)
    r = api.get("/api/v1/compliance/rules", headers=bearer(container, ids["clinician"]))
    assert r.status_code == 200, r.text
    [v1] = r.json()
    assert (v1["name"], v1["version"], v1["in_force"], v1["effective_from"]) == ("georgia", 1, True, "2020-01-01")
    note_rule = next(rule for rule in v1["rules"] if rule["code"] == "GA-NOTE-SIGNATURE")
    assert [(st["name"], st["at"], st["until"]) for st in note_rule["steps"]] == [
        ("reminder", 5, 7), ("supervisor_alert", 7, None), ("billing_hold", 14, None)]


def test_the_sweep_starts_each_practice_day_once(isolated_container: Any, isolated_database_url: str) -> None:
    from interfaces.container import Container

    isolated_container.migrate()
    clock = FrozenClock(ComplianceScript(isolated_container).at(date(2026, 3, 2), 0, 10))
    k = Container(database_url=isolated_database_url, clock=clock)
    try:
        pid = setup_practice(k, f"sweep-{uuid4().hex[:6]}", "America/Los_Angeles")
        k.runner("compliance").catch_up()
        first = k.compliance.start_days().started
        # 00:10 in New York is 21:10 the day before in Los Angeles.
        assert (pid, date(2026, 3, 1)) in first and len(first) == 2
        assert k.compliance.start_days().started == []
        assert k.store.exists(compliance_day_id(pid, date(2026, 3, 1)))
        clock.advance(timedelta(hours=3))
        assert k.compliance.start_days().started == [(pid, date(2026, 3, 2))]
    finally:
        k.close()
