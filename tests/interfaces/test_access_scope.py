"""Record scope (caseload, supervisees, own record), break-the-glass, and the gates that act at
once: HIPAA training, the BAA, deactivation, role and permission changes."""

from __future__ import annotations

import random
import string
from datetime import timedelta
from typing import Any, cast
from uuid import UUID, uuid4

from fastapi import FastAPI
from fastapi.testclient import TestClient

from application import audit
from domain.practices.practice import practice_id_for
from interfaces.http.deps import Authorize, public, route_policy
from interfaces.sweeps import sweep_hipaa_training
from tests.interfaces.conftest import PASSWORD, bearer, ensure_member, member_id, setup_practice
from tests.interfaces.test_access_matrix import api_routes, fill

REASON = "Client arrived unconscious at the ER"


def unique_surname() -> str:
    """Letters only, so a name-prefix search finds exactly this test's clients."""
    return "Sc" + "".join(random.choices(string.ascii_lowercase, k=12))


def register(api: TestClient, headers: dict[str, str], last_name: str, first_name: str = "Ana") -> dict[str, Any]:
    r = api.post("/api/v1/clients", headers=headers,
                 json={"first_name": first_name, "last_name": last_name, "date_of_birth": "1990-04-01"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code and body["detail"], body
    return body


def search(api: TestClient, headers: dict[str, str], q: str, min_position: int) -> set[str]:
    r = api.get("/api/v1/clients", params={"q": q, "min_position": min_position, "limit": 200}, headers=headers)
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def chart(api: TestClient, headers: dict[str, str], client_id: str, reason: str | None = None) -> Any:
    extra = {"X-Break-Glass-Reason": reason} if reason is not None else {}
    return api.get(f"/api/v1/clients/{client_id}", headers={**headers, **extra})


def wait_for_members(api: TestClient, admin: dict[str, str], position: int) -> None:
    for _ in range(20):
        r = api.get("/api/v1/members", params={"min_position": position}, headers=admin)
        if r.status_code == 200:
            return
        assert r.status_code == 503, r.text
    raise AssertionError("the members projection did not catch up")


def portal_token(token: Any, role: str, actor: str, clients: list[str]) -> dict[str, str]:
    headers: dict[str, str] = token(role, actor=actor, clients=[UUID(c) for c in clients])
    return headers


# --- record scope --------------------------------------------------------------------------------------


def test_clinician_sees_their_care_team_clients_only(api: TestClient, token: Any) -> None:
    admin = token("admin")
    clinician = token("clinician", actor="scope-clinician")
    me = str(member_id("clinician", actor="scope-clinician"))
    surname = unique_surname()
    own = register(api, clinician, surname)["id"]  # a clinician registering is put on the care team
    other = register(api, admin, surname)["id"]
    assigned = register(api, admin, surname)["id"]
    r = api.post(f"/api/v1/clients/{assigned}/care-team", json={"staff_id": me}, headers=admin)
    assert r.status_code == 200, r.text

    body = chart(api, clinician, own).json()
    assert {"staff_id": me, "team_role": "clinician"} in body["care_team"]
    assert chart(api, clinician, assigned).status_code == 200
    refused = problem(chart(api, clinician, other), 403, "outside_caseload")
    assert "break-the-glass" in refused["detail"]
    problem(api.patch(f"/api/v1/clients/{other}", json={"first_name": "Nope"}, headers=clinician), 403,
            "outside_caseload")

    position = r.json()["position"]
    assert search(api, clinician, surname, position) == {own, assigned}
    assert search(api, admin, surname, position) == {own, other, assigned}  # the filter is the scope
    by_id = api.get("/api/v1/clients", params={"id": other}, headers=clinician).json()
    assert by_id["items"] == []

    # Off the care team again: out of sight at once.
    r = api.delete(f"/api/v1/clients/{assigned}/care-team/{me}", headers=admin)
    assert r.status_code == 200, r.text
    problem(chart(api, clinician, assigned), 403, "outside_caseload")
    assert search(api, clinician, surname, r.json()["position"]) == {own}


def test_supervisor_sees_supervisees_clients_once_linked(api: TestClient, token: Any) -> None:
    admin = token("admin")
    supervisor = token("supervisor", actor="scope-supervisor")
    supervisee = token("clinician", actor="scope-supervisee")
    stranger = token("clinician", actor="scope-unsupervised")
    surname = unique_surname()
    sup_own = register(api, supervisor, surname)["id"]
    theirs = register(api, supervisee, surname)["id"]
    unrelated = register(api, stranger, surname)["id"]
    practice_wide = register(api, admin, surname)
    position = practice_wide["position"]

    problem(chart(api, supervisor, theirs), 403, "outside_caseload")
    assert search(api, supervisor, surname, position) == {sup_own}

    link = api.put(f"/api/v1/members/{member_id('clinician', actor='scope-supervisee')}/supervisor",
                   json={"supervisor_id": str(member_id("supervisor", actor="scope-supervisor"))}, headers=admin)
    assert link.status_code == 200, link.text
    wait_for_members(api, admin, link.json()["position"])

    assert chart(api, supervisor, theirs).status_code == 200
    assert chart(api, supervisor, sup_own).status_code == 200
    problem(chart(api, supervisor, unrelated), 403, "outside_caseload")
    problem(chart(api, supervisor, practice_wide["id"]), 403, "outside_caseload")
    assert search(api, supervisor, surname, position) == {sup_own, theirs}
    # Supervision looks down, not up: the supervisee does not see the supervisor's caseload.
    problem(chart(api, supervisee, sup_own), 403, "outside_caseload")
    assert search(api, supervisee, surname, position) == {theirs}

    unlink = api.put(f"/api/v1/members/{member_id('clinician', actor='scope-supervisee')}/supervisor",
                     json={"supervisor_id": None}, headers=admin)
    assert unlink.status_code == 200, unlink.text
    wait_for_members(api, admin, unlink.json()["position"])
    problem(chart(api, supervisor, theirs), 403, "outside_caseload")
    assert search(api, supervisor, surname, position) == {sup_own}


def test_client_and_family_member_see_only_their_linked_records(api: TestClient, token: Any) -> None:
    admin = token("admin")
    surname = unique_surname()
    first, second, third = (register(api, admin, surname)["id"] for _ in range(3))
    position = register(api, admin, unique_surname())["position"]
    client = portal_token(token, "client", "scope-client", [first])
    family = portal_token(token, "family_member", "scope-family", [first, second])

    assert chart(api, client, first).status_code == 200
    for other in (second, third):
        refused = problem(chart(api, client, other), 403, "outside_caseload")
        assert "break-the-glass" not in refused["detail"]
    problem(chart(api, client, second, reason=REASON), 403, "outside_caseload")  # no break-the-glass for them
    assert search(api, client, surname, position) == {first}

    assert chart(api, family, first).status_code == 200
    assert chart(api, family, second).status_code == 200
    problem(chart(api, family, third), 403, "outside_caseload")
    assert search(api, family, surname, position) == {first, second}
    assert search(api, admin, surname, position) == {first, second, third}

    # Relinking acts at once, for the same token.
    r = api.put(f"/api/v1/members/{member_id('client', actor='scope-client')}/clients",
                json={"client_ids": [third]}, headers=admin)
    assert r.status_code == 200, r.text
    assert chart(api, client, third).status_code == 200
    problem(chart(api, client, first), 403, "outside_caseload")
    assert search(api, client, surname, position) == {third}


# --- break-the-glass -----------------------------------------------------------------------------------


def test_break_the_glass_is_recorded_alerted_and_acknowledged_once(
    api: TestClient, token: Any, container: Any
) -> None:
    admin = token("admin")
    clinician = token("clinician", actor="btg-clinician")
    clinician_id = str(member_id("clinician", actor="btg-clinician"))
    client_id = register(api, admin, unique_surname())["id"]

    problem(chart(api, clinician, client_id), 403, "outside_caseload")
    problem(chart(api, clinician, client_id, reason="too short"), 422, "invalid_command")  # 9 characters
    opened = chart(api, clinician, client_id, reason=REASON)
    assert opened.status_code == 200, opened.text
    assert opened.json()["id"] == client_id
    # One emergency, one opening: the next read without a reason is refused again.
    problem(chart(api, clinician, client_id), 403, "outside_caseload")
    # Practice-wide roles never need it, and their reads are ordinary ones.
    assert chart(api, token("front_desk"), client_id).status_code == 200

    disclosures = api.get(f"/api/v1/audit/clients/{client_id}/disclosures", headers=admin).json()
    glass = [d for d in disclosures if d["purpose"] == "break_glass"]
    assert len(glass) == 1
    assert glass[0]["reason"] == REASON and glass[0]["actor_id"] == clinician_id
    assert glass[0]["actor_role"] == "clinician" and glass[0]["endpoint"] == "GET /api/v1/clients/{id}"
    assert [d["purpose"] for d in disclosures if d["actor_role"] == "front_desk"] == ["treatment"]

    container.runner("access_alerts").catch_up()
    alerts = [a for a in api.get("/api/v1/access-alerts", headers=admin).json() if a["client_id"] == client_id]
    assert len(alerts) == 1  # the refused attempts raised nothing
    alert = alerts[0]
    assert alert["accessed_by"] == clinician_id and alert["accessor_role"] == "clinician"
    assert alert["kind"] == "break_glass" and alert["acknowledged_by"] is None
    problem(api.get("/api/v1/access-alerts", headers=clinician), 403, "permission_denied")
    problem(api.post(f"/api/v1/access-alerts/{alert['id']}/acknowledge", json={"note": "mine"}, headers=clinician),
            403, "permission_denied")

    ack = api.post(f"/api/v1/access-alerts/{alert['id']}/acknowledge", json={"note": "Spoke to Dr. B"}, headers=admin)
    assert ack.status_code == 200, ack.text
    problem(api.post(f"/api/v1/access-alerts/{alert['id']}/acknowledge", json={"note": "again"}, headers=admin),
            409, "illegal_transition")
    container.runner("access_alerts").catch_up()
    listed = next(a for a in api.get("/api/v1/access-alerts", headers=admin).json() if a["id"] == alert["id"])
    assert listed["acknowledged_by"] == str(member_id("admin")) and listed["acknowledged_at"]
    open_alerts = api.get("/api/v1/access-alerts", params={"open_only": True}, headers=admin).json()
    assert alert["id"] not in {a["id"] for a in open_alerts}


def test_who_may_break_the_glass(api: TestClient, token: Any, container: Any) -> None:
    """Clinicians, supervisors and care-team members may; external caregivers (caseload scope, but
    not the practice's workforce) may not."""
    admin = token("admin")
    client_id = register(api, admin, unique_surname())["id"]
    for role in ("supervisor", "care_team"):
        assert chart(api, token(role, actor=f"btg-{role}"), client_id, reason=REASON).status_code == 200
    outsider = token("external_caregiver", actor="btg-external")
    refused = problem(chart(api, outsider, client_id, reason=REASON), 403, "outside_caseload")
    assert "break-the-glass" not in refused["detail"]
    roles = [d["actor_role"] for d in api.get(f"/api/v1/audit/clients/{client_id}/disclosures", headers=admin).json()
             if d["purpose"] == "break_glass"]
    assert sorted(roles) == ["care_team", "supervisor"]


# --- HIPAA training --------------------------------------------------------------------------------------


def test_expired_hipaa_training_suspends_until_an_admin_records_it(
    api: TestClient, token: Any, container: Any
) -> None:
    today = container.clock.now().date()
    trained = today - timedelta(days=366)
    expired_on = trained + timedelta(days=365)
    mid = ensure_member(container, "alpha", "clinician", f"lapsed-{uuid4().hex[:8]}@alpha.test", trained_on=trained)
    headers = bearer(container, mid)

    for r in (api.get("/api/v1/clients", headers=headers), api.get("/api/v1/staff", headers=headers),
              api.post("/api/v1/clients", json={}, headers=headers)):
        refused = problem(r, 403, "hipaa_training_expired")
        assert expired_on.isoformat() in refused["detail"]
    me = api.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["hipaa_training_expires_on"] == expired_on.isoformat()

    r = api.post(f"/api/v1/members/{mid}/hipaa-training", json={"completed_on": today.isoformat()},
                 headers=token("admin"))
    assert r.status_code == 200, r.text
    assert api.get("/api/v1/clients", headers=headers).status_code == 200  # the same token, at once
    assert api.get("/api/v1/auth/me", headers=headers).json()["hipaa_training_on"] == today.isoformat()


SUSPENDED_OK = {
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/password/change"),
    ("POST", "/api/v1/auth/mfa/enrol"),
    ("POST", "/api/v1/auth/mfa/verify"),
    ("POST", "/api/v1/members/{member_id}/hipaa-training"),
}


def test_the_training_gate_covers_every_route_but_the_ones_to_put_things_right(
    api: TestClient, container: Any
) -> None:
    """Walks the route table with a suspended admin (who holds every permission, so only the gate
    can refuse): 403 `hipaa_training_expired` everywhere except the suspended_ok routes."""
    today = container.clock.now().date()
    admin = ensure_member(container, "alpha", "admin", f"lapsed-admin-{uuid4().hex[:8]}@alpha.test",
                          trained_on=today - timedelta(days=400))
    routes = [(m, p, r) for m, p, r in api_routes(cast(FastAPI, api.app)) if route_policy(r) is not public]
    declared = {(m, p) for m, p, r in routes if cast(Authorize, route_policy(r)).suspended_ok}
    assert declared == SUSPENDED_OK
    failures = []
    for method, path, _ in routes:
        r = api.request(method, fill(path), headers=bearer(container, admin),
                        json={} if method in {"POST", "PUT", "PATCH", "DELETE"} else None)
        gated = r.status_code == 403 and r.json().get("code") == "hipaa_training_expired"
        if gated == ((method, path) in SUSPENDED_OK) or r.status_code >= 500:
            failures.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
    assert failures == []


def test_staff_without_any_training_on_record_are_suspended(api: TestClient, container: Any) -> None:
    pid = practice_id_for("alpha")
    with audit.acting(audit.system("system:test", practice_id=pid)):
        mid = container.members.provision(pid, f"untrained-{uuid4().hex[:8]}@alpha.test", "Never Trained",
                                          "front_desk", PASSWORD, hipaa_training_on=None)
    refused = problem(api.get("/api/v1/clients", headers=bearer(container, mid)), 403, "hipaa_training_expired")
    assert "no HIPAA training" in refused["detail"]


def _topics(container: Any, member: UUID) -> list[str]:
    return [type(e).TOPIC for e in container.store.events.get(member)]


def test_hipaa_sweep_reminds_and_lapses_once_per_cycle(api: TestClient, container: Any) -> None:
    today = container.clock.now().date()
    reminded_email = f"remind-{uuid4().hex[:8]}@alpha.test"
    lapsed_email = f"lapse-{uuid4().hex[:8]}@alpha.test"
    current_email = f"current-{uuid4().hex[:8]}@alpha.test"
    reminded = ensure_member(container, "alpha", "billing", reminded_email, trained_on=today - timedelta(days=340))
    lapsed = ensure_member(container, "alpha", "care_team", lapsed_email, trained_on=today - timedelta(days=366))
    current = ensure_member(container, "alpha", "clinician", current_email, trained_on=today - timedelta(days=300))
    reminder_topic = "careledger/membership/hipaa-training-reminder-issued"
    lapse_topic = "careledger/membership/hipaa-training-lapsed"

    result = sweep_hipaa_training(container)
    assert reminded in result.reminded and reminded not in result.lapsed
    assert lapsed in result.lapsed and lapsed not in result.reminded
    assert current not in result.reminded + result.lapsed
    after_first = {m: _topics(container, m) for m in (reminded, lapsed, current)}
    assert after_first[reminded].count(reminder_topic) == 1 and lapse_topic not in after_first[reminded]
    assert after_first[lapsed].count(lapse_topic) == 1
    assert reminder_topic not in after_first[current] and lapse_topic not in after_first[current]
    reminder = next(e for e in container.store.events.get(reminded) if reminder_topic == type(e).TOPIC)
    assert reminder.expires_on == today - timedelta(days=340) + timedelta(days=365)

    mails = {e: container.mailer.list(to=e) for e in (reminded_email, lapsed_email, current_email)}
    assert [m.subject for m in mails[reminded_email]] == ["HIPAA training due soon"]
    assert str(reminder.expires_on) in mails[reminded_email][0].text
    assert [m.subject for m in mails[lapsed_email]] == ["HIPAA training expired"]
    assert mails[current_email] == []

    again = sweep_hipaa_training(container)
    assert not {reminded, lapsed, current} & set(again.reminded + again.lapsed)
    assert {m: _topics(container, m) for m in (reminded, lapsed, current)} == after_first
    assert [len(container.mailer.list(to=e)) for e in (reminded_email, lapsed_email, current_email)] == [1, 1, 0]


# --- BAA gate ------------------------------------------------------------------------------------------


def test_no_client_records_before_the_baa_is_signed(api: TestClient, container: Any) -> None:
    slug = "nobaa-" + uuid4().hex[:6]
    setup_practice(container, slug, baa=False)
    admin = bearer(container, ensure_member(container, slug, "admin", f"admin@{slug}.test"))
    assert api.get("/api/v1/practice", headers=admin).json()["baa"] is None
    body = {"first_name": "Ana", "last_name": "Okafor", "date_of_birth": "1990-04-01"}

    before = container.store.recorder.max_notification_id() or 0
    problem(api.post("/api/v1/clients", json=body, headers=admin), 409, "baa_required")
    assert container.store.recorder.select_notifications(start=before + 1, limit=10) == []
    assert api.get("/api/v1/clients", headers=admin).json()["items"] == []

    signed = api.post("/api/v1/practice/baa", headers=admin, json={
        "signed_by": "Dana Director", "signer_title": "CEO", "version": "2026.1", "signed_on": "2026-01-05",
    })
    assert signed.status_code == 200, signed.text
    baa = api.get("/api/v1/practice", headers=admin).json()["baa"]
    assert baa is not None
    assert baa["signed_by"] == "Dana Director" and baa["version"] == "2026.1"
    assert str(baa["signed_on"]).startswith("2026-01-05")
    created = register(api, admin, "Okafor")
    items = api.get("/api/v1/clients", params={"min_position": created["position"]}, headers=admin).json()["items"]
    assert [c["id"] for c in items] == [created["id"]]


# --- changes that act at once --------------------------------------------------------------------------


def test_deactivation_ends_the_members_access_at_once(api: TestClient, token: Any, container: Any) -> None:
    admin = token("admin")
    mid = ensure_member(container, "alpha", "clinician", f"leaver-{uuid4().hex[:8]}@alpha.test")
    headers = bearer(container, mid)
    assert api.get("/api/v1/auth/me", headers=headers).status_code == 200

    r = api.post(f"/api/v1/members/{mid}/deactivate", json={"reason_code": "left_practice"}, headers=admin)
    assert r.status_code == 200, r.text
    problem(api.get("/api/v1/auth/me", headers=headers), 401, "session_ended")
    problem(api.get("/api/v1/clients", headers=headers), 401, "session_ended")
    assert api.get(f"/api/v1/members/{mid}", headers=admin).json()["status"] == "deactivated"

    assert api.post(f"/api/v1/members/{mid}/reactivate", headers=admin).status_code == 200
    problem(api.get("/api/v1/auth/me", headers=headers), 401, "session_ended")  # old sessions stay ended
    assert api.get("/api/v1/auth/me", headers=bearer(container, mid)).status_code == 200


def test_role_change_takes_effect_at_once(api: TestClient, token: Any, container: Any) -> None:
    admin = token("admin")
    mid = ensure_member(container, "alpha", "front_desk", f"desk-{uuid4().hex[:8]}@alpha.test")
    headers = bearer(container, mid)
    register(api, headers, unique_surname())  # front desk edits patients

    r = api.post(f"/api/v1/members/{mid}/role", json={"role": "billing", "reason": "moved to billing"},
                 headers=admin)
    assert r.status_code == 200, r.text
    refused = problem(api.post("/api/v1/clients", json={}, headers=headers), 403, "permission_denied")
    assert "edit_patients" in refused["detail"]
    me = api.get("/api/v1/auth/me", headers=headers).json()
    assert me["role"] == "billing" and "edit_patients" not in me["permissions"]
    assert api.get("/api/v1/clients", headers=headers).status_code == 200  # billing still views


def test_permission_overrides_grant_and_withhold_at_once(api: TestClient, token: Any, container: Any) -> None:
    admin = token("admin")
    biller = ensure_member(container, "alpha", "billing", f"biller-{uuid4().hex[:8]}@alpha.test")
    biller_headers = bearer(container, biller)
    problem(api.post("/api/v1/clients", json={}, headers=biller_headers), 403, "permission_denied")
    r = api.put(f"/api/v1/members/{biller}/permissions", json={"overrides": {"edit_patients": True}}, headers=admin)
    assert r.status_code == 200, r.text
    register(api, biller_headers, unique_surname())
    assert "edit_patients" in api.get(f"/api/v1/members/{biller}", headers=admin).json()["permissions"]

    auditor = ensure_member(container, "alpha", "admin", f"no-audit-{uuid4().hex[:8]}@alpha.test")
    auditor_headers = bearer(container, auditor)
    assert api.get("/api/v1/access-alerts", headers=auditor_headers).status_code == 200
    r = api.put(f"/api/v1/members/{auditor}/permissions", json={"overrides": {"view_audit": False}}, headers=admin)
    assert r.status_code == 200, r.text
    problem(api.get("/api/v1/access-alerts", headers=auditor_headers), 403, "permission_denied")
    client_id = register(api, auditor_headers, unique_surname())["id"]  # the rest of the role stays
    problem(api.get(f"/api/v1/audit/clients/{client_id}/history", headers=auditor_headers), 403, "permission_denied")

    r = api.put(f"/api/v1/members/{auditor}/permissions", json={"overrides": {}}, headers=admin)
    assert r.status_code == 200, r.text
    assert api.get("/api/v1/access-alerts", headers=auditor_headers).status_code == 200
