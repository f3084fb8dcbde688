"""Supervision over HTTP: sessions logged, edited, signed; the monthly hours; the practice's
requirements; member license types. Exact values, bad input changes nothing, scope and isolation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.interfaces.conftest import member_id, setup_practice

P = "supervise"  # a practice of these tests' own (America/New_York)
NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module", autouse=True)
def _practice(container: Any, api: TestClient) -> None:
    setup_practice(container, P, "America/New_York")


def today(container: Any) -> date:
    day: date = container.clock.now().astimezone(NY).date()
    return day


def problem(r: Any, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert r.json()["code"] == code, r.json()


def people(token: Any, name: str) -> tuple[dict[str, str], str, dict[str, str], str]:
    """A clinician and a supervisor of practice P, both fresh."""
    clin = token("clinician", P, actor=f"{name}-c")
    sup = token("supervisor", P, actor=f"{name}-s")
    return clin, str(member_id("clinician", P, actor=f"{name}-c")), sup, str(member_id("supervisor", P, actor=f"{name}-s"))


def log(api: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = api.post("/api/v1/supervision/sessions", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_log_edit_sign(api: TestClient, token: Any, container: Any) -> None:
    clin, clin_id, sup, sup_id = people(token, "flow")
    day = today(container).isoformat()
    saved = log(api, clin, supervisor_id=sup_id, session_date=day, hours=1.5, format="individual",
                topics=["ethics", "treatment planning"])
    sid = saved["id"]
    r = api.get(f"/api/v1/supervision/sessions/{sid}", headers=clin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("id", "supervisee_id", "supervisor_id", "session_date", "hours", "format", "topics",
                                 "logged_by", "signed_by", "signed_at")} == {
        "id": sid, "supervisee_id": clin_id, "supervisor_id": sup_id, "session_date": day, "hours": "1.50",
        "format": "individual", "topics": ["ethics", "treatment planning"], "logged_by": clin_id, "signed_by": None,
        "signed_at": None}

    r = api.patch(f"/api/v1/supervision/sessions/{sid}", headers=clin, json={"hours": "2.25", "format": "group"})
    assert r.status_code == 200, r.text
    problem(api.post(f"/api/v1/supervision/sessions/{sid}/sign", headers=clin), 403, "not_the_supervisor")
    problem(api.post(f"/api/v1/supervision/sessions/{sid}/sign", headers=token("admin", P)), 403, "not_the_supervisor")
    r = api.post(f"/api/v1/supervision/sessions/{sid}/sign", headers=sup)
    assert r.status_code == 200, r.text
    problem(api.post(f"/api/v1/supervision/sessions/{sid}/sign", headers=sup), 409, "illegal_transition")
    problem(api.patch(f"/api/v1/supervision/sessions/{sid}", headers=sup, json={"hours": 1}), 409)

    body = api.get(f"/api/v1/supervision/sessions/{sid}", headers=sup).json()
    assert (body["hours"], body["format"], body["signed_by"]) == ("2.25", "group", sup_id)
    assert body["signed_at"] is not None

    month = today(container).strftime("%Y-%m")
    rows = api.get("/api/v1/supervision/sessions", headers=sup,
                   params={"month": month, "supervisee_id": clin_id, "min_position": r.json()["position"]})
    assert rows.status_code == 200, rows.text
    [row] = rows.json()
    assert (row["id"], row["hours"], row["format"], row["signed_by"], row["signed_within_7_days"]) == (
        sid, "2.25", "group", sup_id, True)


def test_listing_and_hours(api: TestClient, token: Any, container: Any) -> None:
    clin, clin_id, sup, sup_id = people(token, "hours")
    admin = token("admin", P)
    r = api.put("/api/v1/practice/supervision-requirements", headers=admin,
                json={"license_type": "LMSW", "monthly_hours": 3})
    assert r.status_code == 200, r.text
    r = api.patch(f"/api/v1/members/{clin_id}/license", headers=admin, json={"license_type": "LMSW"})
    assert r.status_code == 200, r.text
    assert api.get(f"/api/v1/members/{clin_id}", headers=admin).json()["license_type"] == "LMSW"
    container.runner("members").catch_up()
    listed = api.get("/api/v1/members", headers=admin).json()
    assert next(m for m in listed if m["id"] == clin_id)["license_type"] == "LMSW"

    day = today(container).isoformat()
    first = log(api, clin, supervisor_id=sup_id, session_date=day, hours="1.5", format="individual")
    second = log(api, sup, supervisee_id=clin_id, supervisor_id=sup_id, session_date=day, hours=0.75,
                 format="group", topics=["risk assessment"])
    signed = api.post(f"/api/v1/supervision/sessions/{first['id']}/sign", headers=sup).json()
    position = max(signed["position"], second["position"])
    month = today(container).strftime("%Y-%m")

    r = api.get("/api/v1/supervision/hours", headers=clin, params={"min_position": position})
    assert r.status_code == 200, r.text
    assert r.json() == {"month": month, "supervisees": [{
        "supervisee_id": clin_id, "license_type": "LMSW", "supervised": True, "required_hours": "3.00",
        "logged_hours": "2.25", "signed_hours": "1.50", "remaining_hours": "0.75", "sessions": 2,
        "signed_within_7_days": 1}]}
    everyone = api.get("/api/v1/supervision/hours", headers=admin, params={"month": month}).json()["supervisees"]
    assert [h["logged_hours"] for h in everyone if h["supervisee_id"] == clin_id] == ["2.25"]
    assert not [h for h in everyone if h["supervisee_id"] == sup_id]  # no license, no sessions as supervisee

    listed = api.get("/api/v1/supervision/sessions", headers=clin, params={"month": month}).json()
    assert sorted((s["id"], s["hours"], s["signed_within_7_days"]) for s in listed) == sorted(
        [(first["id"], "1.50", True), (second["id"], "0.75", False)])
    other_month = (today(container).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert api.get("/api/v1/supervision/sessions", headers=clin, params={"month": other_month}).json() == []
    assert api.get("/api/v1/supervision/hours", headers=clin, params={"month": other_month}).json() == {
        "month": other_month, "supervisees": [{
            "supervisee_id": clin_id, "license_type": "LMSW", "supervised": True, "required_hours": "3.00",
            "logged_hours": "0.00", "signed_hours": "0.00", "remaining_hours": "3.00", "sessions": 0,
            "signed_within_7_days": 0}]}

    # another clinician sees neither the sessions nor the hours
    stranger = token("clinician", P, actor="hours-x")
    assert api.get("/api/v1/supervision/sessions", headers=stranger, params={"month": month}).json() == []
    assert api.get("/api/v1/supervision/hours", headers=stranger, params={"month": month}).json()["supervisees"] == []
    problem(api.get(f"/api/v1/supervision/sessions/{first['id']}", headers=stranger), 404)
    problem(api.patch(f"/api/v1/supervision/sessions/{second['id']}", headers=stranger, json={"hours": 1}), 404)
    # a clinician logs only their own supervision
    problem(api.post("/api/v1/supervision/sessions", headers=stranger, json={
        "supervisee_id": clin_id, "supervisor_id": sup_id, "session_date": day, "hours": 1, "format": "group"}), 403)


def test_bad_input_changes_nothing(api: TestClient, token: Any, container: Any) -> None:
    clin, clin_id, sup, sup_id = people(token, "bad")
    other_clin = str(member_id("clinician", P, actor="hours-c"))
    token("clinician", P, actor="hours-c")
    day = today(container)
    good: dict[str, Any] = {"supervisor_id": sup_id, "session_date": day.isoformat(), "hours": 1, "format": "individual"}
    bads: list[dict[str, Any]] = [
        {"hours": 0}, {"hours": 8.25}, {"hours": 0.1}, {"hours": -1}, {"hours": "lots"}, {"format": "triad"},
        {"topics": ["x" * 81]}, {"topics": [f"t{i}" for i in range(11)]}, {"topics": [""]},
        {"session_date": (day + timedelta(days=1)).isoformat()}, {"session_date": "2026-02-30"},
        {"supervisor_id": other_clin}, {"supervisor_id": clin_id}, {"supervisor_id": str(uuid4())},
        {"supervisor_id": "not-a-uuid"}, {"surprise": True},
    ]
    for change in bads:
        problem(api.post("/api/v1/supervision/sessions", headers=clin, json={**good, **change}), 422)
    saved = log(api, clin, **good)
    sid = saved["id"]
    for change in ({"hours": 9}, {"format": "x"}, {}, {"hours": None}, {"topics": ["y" * 81]}, {"extra": 1},
                   {"session_date": (day + timedelta(days=1)).isoformat()}):
        problem(api.patch(f"/api/v1/supervision/sessions/{sid}", headers=clin, json=change), 422)
    for params in ({"month": "2026-13"}, {"month": "2026-3"}, {"month": "march"}):
        problem(api.get("/api/v1/supervision/hours", headers=clin, params=params), 422)
        problem(api.get("/api/v1/supervision/sessions", headers=clin, params=params), 422)
    body = api.get(f"/api/v1/supervision/sessions/{sid}", headers=clin).json()
    assert (body["hours"], body["format"], body["topics"], body["session_date"]) == (
        "1.00", "individual", [], day.isoformat())
    listed = api.get("/api/v1/supervision/sessions", headers=sup, params={"min_position": saved["position"]}).json()
    assert [(s["id"], s["hours"]) for s in listed if s["supervisee_id"] == clin_id] == [(sid, "1.00")]

    problem(api.patch(f"/api/v1/members/{clin_id}/license", headers=token("admin", P),
                      json={"license_type": "Shaman"}), 422)
    problem(api.patch(f"/api/v1/members/{clin_id}/license", headers=token("admin", P), json={}), 422)
    problem(api.patch(f"/api/v1/members/{clin_id}/license", headers=clin, json={"license_type": "LPC"}), 403)
    assert api.get(f"/api/v1/members/{clin_id}", headers=token("admin", P)).json()["license_type"] is None


def test_other_practices_see_nothing(api: TestClient, token: Any, container: Any) -> None:
    clin, clin_id, _, sup_id = people(token, "iso")
    sid = log(api, clin, supervisor_id=sup_id, session_date=today(container).isoformat(), hours=1,
              format="individual")["id"]
    beta = token("admin", "beta")
    problem(api.get(f"/api/v1/supervision/sessions/{sid}", headers=beta), 404, "not_found")
    problem(api.patch(f"/api/v1/supervision/sessions/{sid}", headers=beta, json={"hours": 2}), 404, "not_found")
    problem(api.post(f"/api/v1/supervision/sessions/{sid}/sign", headers=beta), 404, "not_found")
    problem(api.patch(f"/api/v1/members/{clin_id}/license", headers=beta, json={"license_type": "LPC"}), 404, "not_found")
    assert all(s["id"] != sid for s in api.get("/api/v1/supervision/sessions", headers=beta).json())
    beta_sup = str(member_id("supervisor", "beta"))
    token("supervisor", "beta")
    problem(api.post("/api/v1/supervision/sessions", headers=clin, json={
        "supervisor_id": beta_sup, "session_date": today(container).isoformat(), "hours": 1, "format": "group"}), 422)
    problem(api.get(f"/api/v1/supervision/sessions/{uuid4()}", headers=clin), 404)
    body = api.get(f"/api/v1/supervision/sessions/{sid}", headers=clin).json()
    assert (body["hours"], body["signed_by"]) == ("1.00", None)


def test_permissions(api: TestClient, token: Any, container: Any) -> None:
    _, _, sup, sup_id = people(token, "perm")
    body = {"supervisor_id": sup_id, "session_date": today(container).isoformat(), "hours": 1, "format": "group"}
    problem(api.post("/api/v1/supervision/sessions", headers=token("front_desk", P), json=body), 403,
            "permission_denied")
    problem(api.get("/api/v1/supervision/hours", headers=token("external_caregiver", P)), 403)
    problem(api.put("/api/v1/practice/supervision-requirements", headers=sup,
                    json={"license_type": "LMSW", "monthly_hours": 1}), 403, "permission_denied")


def test_requirements(api: TestClient, token: Any) -> None:
    admin = token("admin", P)
    r = api.put("/api/v1/practice/supervision-requirements", headers=admin,
                json={"license_type": "intern", "monthly_hours": "5.5"})
    assert r.status_code == 200, r.text
    r = api.put("/api/v1/practice/supervision-requirements", headers=admin,
                json={"license_type": "LPC", "monthly_hours": 0})
    assert r.status_code == 200, r.text
    for bad in ({"license_type": "intern", "monthly_hours": 41}, {"license_type": "intern", "monthly_hours": 1.1},
                {"license_type": "intern", "monthly_hours": -0.25}, {"license_type": "Wizard", "monthly_hours": 2},
                {"license_type": "intern"}, {"license_type": "intern", "monthly_hours": 2, "x": 1}):
        problem(api.put("/api/v1/practice/supervision-requirements", headers=admin, json=bad), 422)
    listed = api.get("/api/v1/practice/supervision-requirements", headers=token("clinician", P, actor="req-c"))
    assert listed.status_code == 200, listed.text
    shown = {r["license_type"]: (r["monthly_hours"], r["supervised"]) for r in listed.json()}
    assert "LPC" not in shown
    assert shown["intern"] == ("5.50", True) and shown["LPC-Associate"] == ("2.00", True)
    assert shown["LMFT-Associate"] == ("2.00", True)
    beta = {r["license_type"]: r["monthly_hours"] for r in api.get(
        "/api/v1/practice/supervision-requirements", headers=token("admin", "beta")).json()}
    assert beta["intern"] == "4.00" and beta["LPC"] == "2.00"


MY_ROUTES = ("/api/v1/supervision/", "/api/v1/practice/supervision-requirements", "/api/v1/clients/{client_id}/risk-flags",
             "/api/v1/members/{member_id}/license")


def test_my_routes_in_the_permission_matrix(api: TestClient, token: Any) -> None:
    """The shape test_access_matrix checks, for this module's routes: random ids and an empty
    body; a role without the permission gets 403 permission_denied, a role with it never 401/403/5xx."""
    from domain.identity.permissions import ROLE_PERMISSIONS, effective_permissions
    from interfaces.http.deps import Authorize, route_policy
    from tests.interfaces.test_access_matrix import WITH_BODY, api_routes, code_of, fill

    routes = [(m, p, r) for m, p, r in api_routes(api.app) if p.startswith(MY_ROUTES)]  # type: ignore[arg-type]
    assert len(routes) == 12
    failures = []
    for method, path, route in routes:
        policy = route_policy(route)
        assert isinstance(policy, Authorize) and policy.permission is not None
        for role in ROLE_PERMISSIONS:
            if role in {"client", "family_member"}:
                continue
            r = api.request(method, fill(path), headers=token(role, P, actor=f"mx-{role}"),
                            json={} if method in WITH_BODY else None)
            denied = policy.permission not in effective_permissions(role)
            if denied and (r.status_code, code_of(r)) != (403, "permission_denied"):
                failures.append(f"{method} {path} as {role}: {r.status_code}, expected 403")
            if not denied and (r.status_code in {401, 403} or r.status_code >= 500):
                failures.append(f"{method} {path} as {role}: {r.status_code} {r.text[:120]}")
    assert failures == []
