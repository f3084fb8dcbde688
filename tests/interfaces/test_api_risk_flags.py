"""Risk flags over HTTP: set and clear with a reason (encrypted at rest), list with set times
(recorded as a PHI read), record scope, practice isolation, bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient

from adapters.clock import FrozenClock
from domain.access.phi_access import PhiAccess
from domain.clients.client import Client
from tests.interfaces.conftest import member_id

T0 = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


@pytest.fixture
def clock(container: Any, monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock(T0)
    monkeypatch.setattr(container.clients, "clock", frozen)
    return frozen


def new_client(api: TestClient, headers: dict[str, str]) -> str:
    r = api.post("/api/v1/clients", headers=headers,
                 json={"first_name": "Rita", "last_name": f"Risk{uuid4().hex[:6]}", "date_of_birth": "1979-05-06"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def flags(api: TestClient, headers: dict[str, str], client_id: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/clients/{client_id}/risk-flags", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def problem(r: Any, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert r.json()["code"] == code, r.json()


def test_set_list_clear(api: TestClient, token: Any, container: Any, clock: FrozenClock) -> None:
    me = token("clinician", actor="risk-clin")
    cid = new_client(api, me)  # a clinician's new client joins their caseload
    assert flags(api, me, cid) == {"high_risk": False, "flags": []}

    r = api.post(f"/api/v1/clients/{cid}/risk-flags", headers=me,
                 json={"flag": "suicidal_ideation", "reason": "Quixotrembling passive SI disclosed"})
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"id", "version", "position"} and r.json()["id"] == cid
    clock.advance(timedelta(hours=2))
    r = api.post(f"/api/v1/clients/{cid}/risk-flags", headers=me, json={"flag": "self_harm", "reason": "Cutting"})
    assert r.status_code == 201, r.text
    assert flags(api, me, cid) == {"high_risk": True, "flags": [
        {"flag": "suicidal_ideation", "set_at": "2026-03-02T15:30:00Z"},
        {"flag": "self_harm", "set_at": "2026-03-02T17:30:00Z"},
    ]}

    problem(api.post(f"/api/v1/clients/{cid}/risk-flags", headers=me,
                     json={"flag": "self_harm", "reason": "Again"}), 409, "illegal_transition")
    clock.advance(timedelta(days=7))
    r = api.post(f"/api/v1/clients/{cid}/risk-flags/suicidal_ideation/clear", headers=me,
                 json={"reason": "Safety plan; denies SI"})
    assert r.status_code == 200, r.text
    problem(api.post(f"/api/v1/clients/{cid}/risk-flags/suicidal_ideation/clear", headers=me,
                     json={"reason": "Twice"}), 409, "illegal_transition")
    assert flags(api, me, cid) == {"high_risk": True, "flags": [
        {"flag": "self_harm", "set_at": "2026-03-02T17:30:00Z"}]}

    history = [e for _, e in container.store.history(UUID(cid))]
    risk = [e for e in history if isinstance(e, Client.RiskFlagSet | Client.RiskFlagCleared)]
    assert [(type(e).__name__, e.flag, e.reason, e.at) for e in risk] == [
        ("RiskFlagSet", "suicidal_ideation", "Quixotrembling passive SI disclosed", T0),
        ("RiskFlagSet", "self_harm", "Cutting", T0 + timedelta(hours=2)),
        ("RiskFlagCleared", "suicidal_ideation", "Safety plan; denies SI", T0 + timedelta(days=7, hours=2)),
    ]
    assert {e.by for e in risk} == {member_id("clinician", actor="risk-clin")}
    reads = [e for e in history if isinstance(e, PhiAccess.Recorded)
             and e.endpoint == "GET /api/v1/clients/{id}/risk-flags"]
    assert len(reads) == 3

    with psycopg.connect(container.database_url) as conn:
        stored = conn.execute("SELECT state FROM careledger_events WHERE originator_id = %s", (cid,)).fetchall()
    assert stored and not any(b"Quixotrembling" in bytes(row[0]) for row in stored)


def test_bad_input_changes_nothing(api: TestClient, token: Any, clock: FrozenClock) -> None:
    me = token("clinician", actor="risk-clin")
    cid = new_client(api, me)
    api.post(f"/api/v1/clients/{cid}/risk-flags", headers=me, json={"flag": "self_harm", "reason": "Cutting"})
    before = flags(api, me, cid)
    for body in ({"flag": "depression", "reason": "Low"}, {"flag": "self_harm"}, {"flag": "homicidal_ideation",
                 "reason": "   "}, {"flag": "homicidal_ideation", "reason": "x" * 2001},
                 {"flag": "homicidal_ideation", "reason": "ok", "extra": 1}, {"flag": None, "reason": "ok"}):
        problem(api.post(f"/api/v1/clients/{cid}/risk-flags", headers=me, json=body), 422)
    problem(api.post(f"/api/v1/clients/{cid}/risk-flags/self_harm/clear", headers=me, json={"reason": ""}), 422)
    problem(api.post(f"/api/v1/clients/{cid}/risk-flags/self_harm/clear", headers=me, json={}), 422)
    problem(api.post(f"/api/v1/clients/{cid}/risk-flags/grumpy/clear", headers=me, json={"reason": "x"}), 422)
    problem(api.post(f"/api/v1/clients/{cid}/risk-flags", headers={**me, "Content-Type": "application/json"},
                     content=b"{not json"), 400)
    assert flags(api, me, cid) == before == {"high_risk": True,
                                             "flags": [{"flag": "self_harm", "set_at": "2026-03-02T15:30:00Z"}]}


def test_scope_permissions_and_isolation(api: TestClient, token: Any, clock: FrozenClock) -> None:
    mine = token("clinician", actor="risk-clin")
    cid = new_client(api, mine)
    body = {"flag": "homicidal_ideation", "reason": "Threats"}
    problem(api.post(f"/api/v1/clients/{cid}/risk-flags", headers=token("clinician", actor="risk-other"), json=body),
            403, "outside_caseload")
    problem(api.get(f"/api/v1/clients/{cid}/risk-flags", headers=token("clinician", actor="risk-other")), 403)
    problem(api.post(f"/api/v1/clients/{cid}/risk-flags", headers=token("front_desk"), json=body), 403,
            "permission_denied")
    problem(api.post(f"/api/v1/clients/{cid}/risk-flags", headers=token("admin", "beta"), json=body), 404, "not_found")
    problem(api.get(f"/api/v1/clients/{cid}/risk-flags", headers=token("admin", "beta")), 404, "not_found")
    problem(api.post(f"/api/v1/clients/{cid}/risk-flags/homicidal_ideation/clear", headers=token("admin", "beta"),
                     json={"reason": "x"}), 404, "not_found")
    problem(api.post(f"/api/v1/clients/{uuid4()}/risk-flags", headers=token("admin"), json=body), 404)
    assert flags(api, token("front_desk"), cid) == {"high_risk": False, "flags": []}

    r = api.post(f"/api/v1/clients/{cid}/risk-flags", headers=token("admin"), json=body)
    assert r.status_code == 201, r.text
    assert flags(api, mine, cid)["high_risk"] is True
