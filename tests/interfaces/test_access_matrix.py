"""The access policy of every `/api/` route, generated from the route table itself.

New routes are covered without touching this file (the permission matrix), or make it fail until
they are described (practice isolation needs a real id and a valid body for each id route).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from application import audit
from domain.identity.permissions import ROLE_PERMISSIONS, effective_permissions
from domain.practices.practice import practice_id_for
from domain.scheduling.front_desk_task import FrontDeskTask
from interfaces.http.deps import Authorize, public, route_policy
from tests.application.remittance.support import claim, era, line
from tests.interfaces.conftest import PORTAL, member_id

PUBLIC_ROUTES = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
    ("POST", "/api/v1/auth/invitations/accept"),
    ("POST", "/api/v1/webhooks/twilio/sms"),  # authenticated by X-Twilio-Signature
    ("POST", "/api/v1/webhooks/stripe"),  # authenticated by Stripe-Signature
    ("GET", "/api/v1/calendar-feeds/{token}.ics"),  # the token in the URL is the credential
}
WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}
PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}")


def api_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) of every `/api/` operation.

    Walks included routers too: since FastAPI 0.16x `app.routes` holds one entry per included
    router rather than the APIRoutes themselves, so `isinstance(r, APIRoute) for r in app.routes`
    finds nothing at all.
    """
    found: list[tuple[str, str, APIRoute]] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path or ""
        if isinstance(route, APIRoute) and path.startswith("/api/"):
            found.extend((method, path, route) for method in sorted(context.methods or ()))
    return found


def fill(path: str, ids: dict[str, str] | None = None) -> str:
    """The path with its parameters filled from `ids`, or with random UUIDs."""
    return PATH_PARAM.sub(lambda m: (ids or {}).get(m.group(1)) or str(uuid4()), path)


def path_params(path: str) -> list[str]:
    return PATH_PARAM.findall(path)


def code_of(r: Any) -> str | None:
    if not r.headers.get("content-type", "").startswith(("application/json", "application/problem+json")):
        return None
    body = r.json()
    return body.get("code") if isinstance(body, dict) else None


def test_every_api_route_has_a_policy_and_only_the_auth_entry_points_are_public(api: TestClient) -> None:
    app = cast(FastAPI, api.app)
    routes = api_routes(app)
    assert len({(m, p) for m, p, _ in routes}) > 25
    undeclared = [(m, p) for m, p, r in routes if route_policy(r) is None]
    assert undeclared == []
    public_routes = {(m, p) for m, p, r in routes if route_policy(r) is public}
    assert public_routes == PUBLIC_ROUTES
    # The walk sees everything the app serves: every /api/ operation of the OpenAPI schema.
    schema = api.get("/openapi.json").json()
    documented = {
        (method.upper(), path) for path, item in schema["paths"].items() if path.startswith("/api/") for method in item
    }
    assert documented <= {(m, p) for m, p, _ in routes}


ROLE_GATED: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    # Beyond the permission, a role rule: only team leads have a team.
    ("GET", "/api/v1/dashboards/my-team"): (frozenset({"supervisor", "admin", "owner"}), "not_a_team_lead"),
    # Portal members hold view_billing for their own statement, not the practice's reports.
    **{("GET", p): (frozenset({"owner", "admin", "billing"}), "practice_reports_only") for p in (
        "/api/v1/reports/ar-aging", "/api/v1/reports/revenue", "/api/v1/reports/reconciliation",
        "/api/v1/metrics/revenue")},
    **{("GET", p): (frozenset({"owner", "admin", "billing"}), "forbidden") for p in (
        "/api/v1/remittances", "/api/v1/remittances/review-queue", "/api/v1/remittances/{remittance_id}")},
}


def test_permission_matrix_for_every_route_and_role(api: TestClient, token: Any, container: Any) -> None:
    """Each role, on each route, with random ids and an empty body: a role without the route's
    permission gets exactly 403 `permission_denied`; a role with it never does (404, 422, ... are
    fine: random ids exist nowhere, so nothing real changes)."""
    app = cast(FastAPI, api.app)
    # Portal members name the client they may see (the conftest's own default portal client is
    # registered with a string date of birth, which the domain refuses, so pass one explicitly).
    r = api.post("/api/v1/clients", json={"first_name": "Matrix", "last_name": "Portal", "date_of_birth": "1980-01-01"},
                 headers=token("admin"))
    assert r.status_code == 201, r.text
    portal_clients = [UUID(r.json()["id"])]
    failures: list[str] = []
    covered: set[tuple[str, str]] = set()
    skipped: set[tuple[str, str]] = set()
    denials = 0
    for method, path, route in api_routes(app):
        policy = route_policy(route)
        if policy is public:
            skipped.add((method, path))
            continue
        if path.startswith("/api/v1/dev/") and not container.settings.is_dev:
            skipped.add((method, path))
            continue
        assert isinstance(policy, Authorize), (method, path)
        covered.add((method, path))
        for role in ROLE_PERMISSIONS:
            # A fresh session per call: logout, MFA enrolment etc. only touch this throwaway one,
            # and the members are the matrix's own, so shared test members are left alone.
            headers = token(role, "alpha", actor=f"matrix-{role}", clients=portal_clients if role in PORTAL else None)
            body: dict[str, Any] | None = {} if method in WITH_BODY else None
            r = api.request(method, fill(path), headers=headers, json=body)
            code = code_of(r)
            denied = policy.permission is not None and policy.permission not in effective_permissions(role)
            where = f"{method} {path} as {role}: {r.status_code} {code}"
            gated = ROLE_GATED.get((method, path))
            if gated is not None and not denied and role not in gated[0]:
                if r.status_code != 403 or code != gated[1]:
                    failures.append(f"{where}, expected 403 {gated[1]}")
                continue
            if denied:
                denials += 1
                detail = r.json().get("detail", "") if code else ""
                if r.status_code != 403 or code != "permission_denied":
                    failures.append(f"{where}, expected 403 permission_denied")
                elif policy.permission is not None and policy.permission.value not in detail:
                    failures.append(f"{where}, the detail does not name {policy.permission.value}")
            elif r.status_code in {401, 403} or r.status_code >= 500:
                failures.append(f"{where}, expected the role to get past the policy")
    assert failures == []
    assert skipped == PUBLIC_ROUTES
    assert len(covered) > 25
    assert ("GET", "/api/v1/dev/outbox") in covered  # dev mode in tests
    assert denials > 100  # the matrix really denies: most routes are refused to most roles


def test_ids_of_another_practice_answer_404_and_change_nothing(api: TestClient, token: Any, container: Any) -> None:
    """Every route taking an id, called by another practice's admin with a real id of `alpha` and
    a valid body: 404 `not_found`, and the alpha records are as they were."""
    alpha = token("admin")
    beta = token("admin", "beta")
    yesterday = (container.clock.now().date() - timedelta(days=1)).isoformat()

    r = api.post("/api/v1/clients", json={"first_name": "Iso", "last_name": "Lation", "date_of_birth": "1971-02-03"},
                 headers=alpha)
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    r = api.post("/api/v1/members", headers=alpha, json={
        "email": f"iso-{uuid4().hex[:8]}@alpha.test", "full_name": "Iso Member", "role": "clinician",
        "hipaa_training_on": yesterday,
    })
    assert r.status_code == 201, r.text
    staff_id = r.json()["id"]
    r = api.post(f"/api/v1/clients/{client_id}/care-team", json={"staff_id": staff_id}, headers=alpha)
    assert r.status_code == 200, r.text
    # An alert: an alpha clinician breaks the glass on the client (outside their caseload).
    r = api.get(f"/api/v1/clients/{client_id}", headers={
        **token("clinician", actor="iso-clinician"), "X-Break-Glass-Reason": "Client collapsed in the lobby",
    })
    assert r.status_code == 200, r.text
    container.runner("access_alerts").catch_up()
    alerts = [a for a in api.get("/api/v1/access-alerts", headers=alpha).json() if a["client_id"] == client_id]
    assert len(alerts) == 1
    alert_id = alerts[0]["id"]

    r = api.post(f"/api/v1/clients/{client_id}/consents", headers=alpha, json={
        "type": "informed_consent", "signed_at": "2026-01-05T10:00:00+00:00", "signed_by": "Iso Lation",
        "expires_at": (container.clock.now() + timedelta(days=300)).isoformat()})
    assert r.status_code == 201, r.text
    consent_id = r.json()["id"]
    soon = (container.clock.now() + timedelta(days=9)).replace(hour=15, minute=0, second=0, microsecond=0)
    r = api.post("/api/v1/appointments", headers=alpha, json={
        "client_id": client_id, "clinician_id": staff_id, "appointment_type": "follow_up",
        "starts_at": soon.isoformat(), "allow_outside_hours": True})
    assert r.status_code == 201, r.text
    appointment_id = r.json()["id"]

    with audit.acting(audit.system("system:test", practice_id=practice_id_for("alpha"))):
        task = FrontDeskTask.open(practice_id_for("alpha"), UUID(client_id), "reschedule_request",
                                  container.clock.now(), appointment_id=UUID(appointment_id))
        container.store.save(task)
    today = container.clock.now().date()
    r = api.post("/api/v1/waitlist", headers=alpha, json={
        "client_id": client_id, "earliest_date": today.isoformat(),
        "latest_date": (today + timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    entry_id = r.json()["id"]
    r = api.post("/api/v1/notes", headers=alpha, json={
        "client_id": client_id, "note_type": "progress", "service_date": yesterday, "sections": {"content": "Iso"}})
    assert r.status_code == 201, r.text
    note_id = r.json()["id"]
    r = api.post("/api/v1/practice/note-templates", headers=alpha,
                 json={"name": "Iso", "note_type": "progress", "sections": {}})
    assert r.status_code == 201, r.text
    template_id = r.json()["id"]
    token("supervisor")
    r = api.post("/api/v1/supervision/sessions", headers=token("clinician", actor="iso-clinician"), json={
        "supervisor_id": str(member_id("supervisor")), "session_date": yesterday, "hours": 1, "format": "individual"})
    assert r.status_code == 201, r.text
    session_id = r.json()["id"]
    r = api.post("/api/v1/charges", headers=alpha, json={
        "client_id": client_id, "clinician_id": staff_id, "service_date": yesterday, "cpt": "90837",
        "diagnosis_codes": ["F32.1"], "unit_fee": "150.00"})
    assert r.status_code == 201, r.text
    charge_id = r.json()["id"]
    r = api.post("/api/v1/payments", headers=alpha, json={"method": "cash", "amount": "100.00", "client_id": client_id})
    assert r.status_code == 201, r.text
    payment_id = r.json()["id"]
    r = api.post(f"/api/v1/payments/{payment_id}/applications", headers=alpha,
                 json={"target": "charge", "target_id": charge_id, "amount": "40.00"})
    assert r.status_code in (200, 201), r.text
    application_id = r.json()["id"]
    r = api.post("/api/v1/invoices", headers=alpha, json={"client_id": client_id, "service_lines": [
        {"description": "Iso", "service_date": yesterday, "hours": "1", "rate": "10.00"}]})
    assert r.status_code == 201, r.text
    invoice_id = r.json()["id"]
    era_bytes = era(claim("ISO1", "1", "150", "90", "150", "ICN1", "LATION", "ISO", "M1",
                          *line("90837", "150", "90", "20260310", "", "CAS*CO*45*60")))
    r = api.post("/api/v1/remittances", headers=alpha, files={"file": ("iso.835", era_bytes)})
    assert r.status_code == 201, r.text
    remittance_id = r.json()["id"]
    billing_ids = {"remittance_id": remittance_id, "charge_id": charge_id, "payment_id": payment_id, "application_id": application_id,
                   "invoice_id": invoice_id}
    ids = {**billing_ids, "note_id": note_id, "template_id": template_id, "session_id": session_id, "flag": "suicidal_ideation",
           "task_id": str(task.id), "entry_id": entry_id, "client_id": client_id, "member_id": staff_id, "staff_id": staff_id, "alert_id": alert_id,
           "clinician_id": staff_id, "appointment_id": appointment_id, "consent_id": consent_id,
           "token": f"{uuid4()}.{'x' * 43}"}  # never a live feed token: that route is public
    cancel = {"by": "practice", "reason_code": "moved"}
    closure = {"first_day": (soon + timedelta(days=30)).date().isoformat()}
    beta_staff = str(member_id("admin", "beta"))
    bodies: dict[tuple[str, str], dict[str, Any] | None] = {
        ("GET", "/api/v1/charges/{charge_id}"): None,
        ("GET", "/api/v1/remittances/{remittance_id}"): None,
        ("POST", "/api/v1/remittances/{remittance_id}/match"): {"rules_version": 1},
        ("POST", "/api/v1/remittances/{remittance_id}/claims/resolve"): {"claim_key": "000000001/0001/0/0",
                                                                          "charge_ids": []},
        ("GET", "/api/v1/clients/{client_id}/statement"): None,
        ("GET", "/api/v1/clients/{client_id}/statement.pdf"): None,
        ("PATCH", "/api/v1/charges/{charge_id}"): {"units": 2},
        ("POST", "/api/v1/charges/{charge_id}/adjustments"): {"reason_code": "45", "amount": "10.00", "note": "Intruder"},
        ("POST", "/api/v1/charges/{charge_id}/void"): {"reason": "Intruder"},
        ("GET", "/api/v1/payments/{payment_id}"): None,
        ("POST", "/api/v1/payments/{payment_id}/applications"): {
            "target": "charge", "target_id": charge_id, "amount": "10.00"},
        ("POST", "/api/v1/payments/{payment_id}/applications/{application_id}/unapply"): {"reason": "Intruder"},
        ("POST", "/api/v1/payments/{payment_id}/refunds"): {"amount": "10.00", "reason": "Intruder"},
        ("GET", "/api/v1/invoices/{invoice_id}"): None,
        ("GET", "/api/v1/invoices/{invoice_id}/pdf"): None,
        ("PATCH", "/api/v1/invoices/{invoice_id}"): {"tax_rate": "5"},
        ("POST", "/api/v1/invoices/{invoice_id}/send"): {"email": False},
        ("POST", "/api/v1/invoices/{invoice_id}/void"): {"reason": "Intruder"},
        ("POST", "/api/v1/invoices/{invoice_id}/write-offs"): {"amount": "1.00", "reason": "Intruder"},
        ("POST", "/api/v1/invoices/{invoice_id}/payment-intent"): None,
        ("GET", "/api/v1/notes/{note_id}"): None,
        ("GET", "/api/v1/notes/{note_id}/versions"): None,
        ("PATCH", "/api/v1/notes/{note_id}"): {"sections": {"plan": "Hijacked"}},
        ("POST", "/api/v1/notes/{note_id}/appointment"): {"appointment_id": appointment_id},
        ("POST", "/api/v1/notes/{note_id}/submit"): None,
        ("POST", "/api/v1/notes/{note_id}/return"): {"reason": "Needs more detail."},
        ("POST", "/api/v1/notes/{note_id}/sign"): None,
        ("POST", "/api/v1/notes/{note_id}/cosign"): None,
        ("POST", "/api/v1/notes/{note_id}/amend"): {"reason": "Correction.", "sections": {"plan": "Hijacked"}},
        ("POST", "/api/v1/notes/{note_id}/addenda"): {"text": "Hijacked"},
        ("DELETE", "/api/v1/practice/note-templates/{template_id}"): None,
        ("POST", "/api/v1/clients/{client_id}/risk-flags"): {"flag": "suicidal_ideation", "reason": "Intruder"},
        ("POST", "/api/v1/clients/{client_id}/risk-flags/{flag}/clear"): {"reason": "Intruder"},
        ("GET", "/api/v1/clients/{client_id}/risk-flags"): None,
        ("PATCH", "/api/v1/members/{member_id}/license"): {"license_type": "LMSW"},
        ("GET", "/api/v1/supervision/sessions/{session_id}"): None,
        ("PATCH", "/api/v1/supervision/sessions/{session_id}"): {"hours": 2},
        ("POST", "/api/v1/supervision/sessions/{session_id}/sign"): None,
        ("POST", "/api/v1/compliance/alerts/{alert_id}/acknowledge"): {"note": "seen"},
        ("GET", "/api/v1/appointments/{appointment_id}/billing-hold"): None,
        ("GET", "/api/v1/members/{member_id}"): None,
        ("POST", "/api/v1/members/{member_id}/role"): {"role": "supervisor", "reason": "promotion"},
        ("PUT", "/api/v1/members/{member_id}/permissions"): {"overrides": {"view_audit": True}},
        ("PUT", "/api/v1/members/{member_id}/supervisor"): {"supervisor_id": beta_staff},
        ("PUT", "/api/v1/members/{member_id}/clients"): {"client_ids": []},
        ("POST", "/api/v1/members/{member_id}/deactivate"): {"reason_code": "left_practice"},
        ("POST", "/api/v1/members/{member_id}/reactivate"): None,
        ("POST", "/api/v1/members/{member_id}/invitation"): None,
        ("POST", "/api/v1/members/{member_id}/hipaa-training"): {"completed_on": yesterday},
        ("GET", "/api/v1/clients/{client_id}"): None,
        ("PATCH", "/api/v1/clients/{client_id}"): {"last_name": "Hijacked"},
        ("POST", "/api/v1/clients/{client_id}/status"): {"status": "inactive", "reason_code": "moved_away"},
        ("POST", "/api/v1/clients/{client_id}/care-level"): {"care_level": "intensive"},
        ("POST", "/api/v1/clients/{client_id}/care-team"): {"staff_id": beta_staff},
        ("DELETE", "/api/v1/clients/{client_id}/care-team/{staff_id}"): None,
        ("POST", "/api/v1/clients/{client_id}/erase"): {"reason_code": "client_request"},
        ("GET", "/api/v1/audit/clients/{client_id}/history"): None,
        ("GET", "/api/v1/audit/clients/{client_id}/disclosures"): None,
        ("POST", "/api/v1/access-alerts/{alert_id}/acknowledge"): {"note": "seen"},
        ("GET", "/api/v1/appointments/{appointment_id}"): None,
        ("POST", "/api/v1/appointments/{appointment_id}/confirm"): None,
        ("POST", "/api/v1/appointments/{appointment_id}/check-in"): None,
        ("POST", "/api/v1/appointments/{appointment_id}/complete"): None,
        ("POST", "/api/v1/appointments/{appointment_id}/no-show"): None,
        ("POST", "/api/v1/appointments/{appointment_id}/cancel"): cancel,
        ("POST", "/api/v1/appointments/{appointment_id}/cancel-series"): cancel,
        ("POST", "/api/v1/appointments/{appointment_id}/reschedule"): {
            **cancel, "starts_at": (soon + timedelta(days=1)).isoformat(), "allow_outside_hours": True},
        ("GET", "/api/v1/clinicians/{clinician_id}/schedule"): None,
        ("PUT", "/api/v1/clinicians/{clinician_id}/schedule/working-hours"): {"hours": {"monday": [["09:00", "17:00"]]}},
        ("POST", "/api/v1/clinicians/{clinician_id}/schedule/closures"): closure,
        ("POST", "/api/v1/clinicians/{clinician_id}/schedule/closures/remove"): closure,
        ("POST", "/api/v1/clinicians/{clinician_id}/schedule/holidays"): {"month": 12, "day": 25},
        ("POST", "/api/v1/clinicians/{clinician_id}/schedule/holidays/remove"): {"month": 12, "day": 25},
        ("GET", "/api/v1/calendar/clinicians/{clinician_id}"): None,
        ("GET", "/api/v1/metrics/clinicians/{clinician_id}"): None,
        ("GET", "/api/v1/clients/{client_id}/appointments"): None,
        ("POST", "/api/v1/clients/{client_id}/consents"): {
            "type": "telehealth_consent", "signed_at": "2026-01-05T10:00:00+00:00", "signed_by": "Intruder"},
        ("GET", "/api/v1/clients/{client_id}/consents"): None,
        ("POST", "/api/v1/clients/{client_id}/consents/{consent_id}/withdraw"): {"reason_code": "revoked"},
        ("POST", "/api/v1/front-desk/tasks/{task_id}/complete"): None,
        ("DELETE", "/api/v1/waitlist/{entry_id}"): {"reason_code": "no_longer_needed"},
        ("POST", "/api/v1/waitlist/{entry_id}/decline"): None,
        ("GET", "/api/v1/appointments/{appointment_id}/ics"): None,
        ("POST", "/api/v1/clinicians/{clinician_id}/calendar-feed"): None,
        ("DELETE", "/api/v1/clinicians/{clinician_id}/calendar-feed"): None,
        ("GET", "/api/v1/calendar-feeds/{token}.ics"): None,
        ("PUT", "/api/v1/clients/{client_id}/contact-preferences"): {
            "channel": "none", "sms_opt_in": False, "email_opt_in": False},
    }

    def snapshot() -> dict[str, Any]:
        chart = api.get(f"/api/v1/clients/{client_id}", headers=alpha)
        member = api.get(f"/api/v1/members/{staff_id}", headers=alpha)
        assert chart.status_code == 200 and member.status_code == 200
        return {
            "chart": chart.json(), "member": member.json(),
            "versions": [container.store.repository.get(UUID(i)).version
                         for i in (client_id, staff_id, alert_id, appointment_id, str(task.id), note_id,
                                   session_id, charge_id, payment_id, invoice_id, remittance_id)],
            "appointment": api.get(f"/api/v1/appointments/{appointment_id}", headers=alpha).json(),
        }

    before = snapshot()
    id_routes = [(m, p, r) for m, p, r in api_routes(cast(FastAPI, api.app)) if path_params(p)]
    assert len(id_routes) >= len(bodies)
    failures: list[str] = []
    for method, path, route in id_routes:
        unknown = [name for name in path_params(path) if name not in ids]
        assert not unknown, f"{method} {path}: add a real alpha id for {unknown} to this test"
        assert (method, path) in bodies, f"{method} {path}: add a valid body (or None) to this test"
        body = bodies[(method, path)]
        if route.dependant.body_params:
            assert body is not None, f"{method} {path} takes a body"
            model: Any = route.dependant.body_params[0].field_info.annotation
            TypeAdapter(model).validate_python(body)
        else:
            assert body is None, f"{method} {path} takes no body"
        r = api.request(method, fill(path, ids), headers=beta, json=body)
        if r.status_code != 404 or code_of(r) != "not_found":
            failures.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
    assert failures == []
    assert snapshot() == before
    container.runner("access_alerts").catch_up()
    alert = next(a for a in api.get("/api/v1/access-alerts", headers=alpha).json() if a["id"] == alert_id)
    assert alert["acknowledged_by"] is None
    # ... and beta's own lists do not show alpha's records either.
    assert all(a["id"] != alert_id for a in api.get("/api/v1/access-alerts", headers=beta).json())
    assert [c["id"] for c in api.get("/api/v1/clients", params={"id": client_id}, headers=alpha).json()["items"]] == [
        client_id
    ]
    assert api.get("/api/v1/clients", params={"id": client_id}, headers=beta).json()["items"] == []
    assert all(m["id"] != staff_id for m in api.get("/api/v1/members", headers=beta).json())


def test_an_app_with_an_undeclared_api_route_refuses_to_start(api: TestClient) -> None:
    from fastapi import APIRouter

    from interfaces.http.app import check_access_policies

    check_access_policies(api.app)  # type: ignore[arg-type]
    forgotten = APIRouter(prefix="/api/v1/forgotten")

    @forgotten.get("")
    def leaky() -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(forgotten)
    with pytest.raises(RuntimeError, match="/api/v1/forgotten"):
        check_access_policies(app)
