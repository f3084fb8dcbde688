"""Charges and the fee schedule over HTTP: exact bodies with money as two-decimal strings, defaults
from the visit, claims and the billing hold, adjustments and void; bad input is problem+json and
changes nothing; record scope for portal members; another practice's ids answer 404."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from tests.interfaces.billing_support import P, client, clinician, price, problem, settle, visit
from tests.interfaces.conftest import member_id, setup_practice

OTHER = "billing-api-other"


@pytest.fixture(scope="module", autouse=True)
def _practices(container: Any, api: TestClient, token: Any) -> None:
    setup_practice(container, P, "America/New_York")
    setup_practice(container, OTHER, "Europe/London")
    price(api, token)


def charge(api: TestClient, token: Any, body: dict[str, Any], status: int = 201) -> Any:
    r = api.post("/api/v1/charges", headers=token("billing", P), json=body)
    assert r.status_code == status, r.text
    return r.json()


def test_the_fee_schedule(api: TestClient, token: Any, container: Any) -> None:
    slug = f"fees-{uuid4().hex[:6]}"
    setup_practice(container, slug)
    admin = token("admin", slug)
    r = api.get("/api/v1/fee-schedule", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"charge_on_completion": False, "fees": [], "type_codes": [], "version": 0}
    r = api.put("/api/v1/fee-schedule", headers=admin, json={
        "fees": [{"cpt": "90837", "amount": "150", "effective_from": "2026-01-01"},
                 {"cpt": "90837", "modifier": "95", "amount": 165.5, "effective_from": "2026-01-01"},
                 {"cpt": "90837", "amount": "160.00", "effective_from": "2026-07-01"}],
        "type_codes": [{"appointment_type": "therapy_session", "cpt": "90837", "modifiers": ["95"]}],
        "charge_on_completion": True})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 6
    body = api.get("/api/v1/fee-schedule", headers=token("billing", slug)).json()
    assert body == {
        "charge_on_completion": True,
        "fees": [{"cpt": "90837", "modifier": None, "amount": "150.00", "effective_from": "2026-01-01"},
                 {"cpt": "90837", "modifier": None, "amount": "160.00", "effective_from": "2026-07-01"},
                 {"cpt": "90837", "modifier": "95", "amount": "165.50", "effective_from": "2026-01-01"}],
        "type_codes": [{"appointment_type": "therapy_session", "cpt": "90837", "modifiers": ["95"]}],
        "version": 6}
    problem(api.put("/api/v1/fee-schedule", headers=admin, json={}), 422, "validation_failed")
    problem(api.put("/api/v1/fee-schedule", headers=admin, json={"fees": [
        {"cpt": "90837", "amount": "1.005", "effective_from": "2026-01-01"}]}), 422, "validation_failed")
    problem(api.put("/api/v1/fee-schedule", headers=admin, json={"fees": [
        {"cpt": "ABCDE", "amount": "10", "effective_from": "2026-01-01"}]}), 422, "invalid_command")
    problem(api.put("/api/v1/fee-schedule", headers=admin, json={"type_codes": [
        {"appointment_type": "nope", "cpt": "90837"}]}), 422, "invalid_command")
    problem(api.put("/api/v1/fee-schedule", headers=token("clinician", slug), json={"charge_on_completion": False}),
            403, "permission_denied")
    assert api.get("/api/v1/fee-schedule", headers=admin).json() == body  # the refusals changed nothing


def test_enter_read_edit_bill_adjust(api: TestClient, token: Any, container: Any) -> None:
    cid, clin = client(api, token), clinician(token)
    appt = visit(container, cid, clin, days_ago=3, note_codes=["F32.1", "F41.1"])
    settle(container)
    saved = charge(api, token, {"client_id": cid, "appointment_id": appt, "units": "1.5"})
    r = api.get(f"/api/v1/charges/{saved['id']}", headers=token("billing", P))
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("client_id", "clinician_id", "appointment_id", "cpt", "modifiers", "units",
                                 "unit_fee", "amount", "paid", "adjusted", "transferred", "balance", "status",
                                 "payer", "claim_number", "diagnosis_codes", "diagnosis_pointers", "entries")} == {
        "client_id": cid, "clinician_id": clin, "appointment_id": appt, "cpt": "90837", "modifiers": [],
        "units": "1.50", "unit_fee": "150.00", "amount": "225.00", "paid": "0.00", "adjusted": "0.00",
        "transferred": "0.00", "balance": "225.00", "status": "unbilled", "payer": "Aetna", "claim_number": None,
        "diagnosis_codes": ["F32.1", "F41.1"], "diagnosis_pointers": [1, 2], "entries": []}
    problem(api.post("/api/v1/charges", headers=token("billing", P), json={"client_id": cid, "appointment_id": appt}),
            409, "conflict")

    r = api.patch(f"/api/v1/charges/{saved['id']}", headers=token("billing", P), json={"units": 1})
    assert r.status_code == 200, r.text
    problem(api.patch(f"/api/v1/charges/{saved['id']}", headers=token("billing", P), json={}), 422)

    r = api.post("/api/v1/charges/bill", headers=token("billing", P), json={"charge_ids": [saved["id"]]})
    assert r.status_code == 200, r.text
    claim = r.json()
    assert claim["claim_number"].startswith("C") and claim["charge_ids"] == [saved["id"]]
    problem(api.patch(f"/api/v1/charges/{saved['id']}", headers=token("billing", P), json={"units": 2}), 409,
            "illegal_transition")

    adjustment = str(uuid4())
    adjust = {"kind": "adjustment", "group": "CO", "reason_code": "45", "amount": "30.00", "note": "Contractual",
              "remark_codes": ["N130"], "adjustment_id": adjustment}
    r = api.post(f"/api/v1/charges/{saved['id']}/adjustments", headers=token("billing", P), json=adjust)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == adjustment
    r = api.post(f"/api/v1/charges/{saved['id']}/adjustments", headers=token("billing", P), json=adjust)
    assert r.status_code == 201 and r.json()["position"] == 0  # a retry changes nothing
    problem(api.post(f"/api/v1/charges/{saved['id']}/adjustments", headers=token("billing", P),
                     json={**adjust, "adjustment_id": None, "amount": "120.01"}), 422, "invalid_command")
    problem(api.post(f"/api/v1/charges/{saved['id']}/void", headers=token("billing", P), json={"reason": "Oops"}),
            409, "illegal_transition")
    body = api.get(f"/api/v1/charges/{saved['id']}", headers=token("billing", P)).json()
    assert (body["amount"], body["adjusted"], body["balance"], body["status"], body["claim_number"]) == (
        "150.00", "30.00", "120.00", "partially_paid", claim["claim_number"])
    assert [(e["kind"], e["amount"], e["group"], e["reason_code"]) for e in body["entries"]] == [
        ("adjustment", "30.00", "CO", "45")]


def test_a_visit_on_billing_hold_is_refused_and_nothing_is_billed(api: TestClient, token: Any, container: Any) -> None:
    cid, clin = client(api, token), clinician(token)
    held_visit = visit(container, cid, clin, days_ago=20)  # no signed note for 20 days: on hold since day 14
    fresh_visit = visit(container, cid, clin, days_ago=2)
    settle(container)
    held = charge(api, token, {"client_id": cid, "appointment_id": held_visit, "diagnosis_codes": ["F32.1"]})
    fresh = charge(api, token, {"client_id": cid, "appointment_id": fresh_visit, "diagnosis_codes": ["F32.1"]})
    settle(container)
    body = problem(api.post("/api/v1/charges/bill", headers=token("billing", P),
                            json={"charge_ids": [fresh["id"], held["id"]], "claim_number": "HOLD-1"}),
                   409, "billing_hold")
    assert "note_unsigned" in body["detail"]
    for c in (held, fresh):
        assert api.get(f"/api/v1/charges/{c['id']}", headers=token("billing", P)).json()["claim_number"] is None
    r = api.post("/api/v1/charges/bill", headers=token("billing", P), json={"charge_ids": [fresh["id"]]})
    assert r.status_code == 200, r.text


def test_lists_scope_and_unbilled_visits(api: TestClient, token: Any, container: Any) -> None:
    mine, theirs, clin = client(api, token), client(api, token, insurer=None), clinician(token)
    a = charge(api, token, {"client_id": mine, "cpt": "90837", "service_date": "2026-10-01",
                            "clinician_id": clin, "diagnosis_codes": ["F32.1"]})
    b = charge(api, token, {"client_id": theirs, "cpt": "90837", "service_date": "2026-10-02",
                            "clinician_id": clin, "diagnosis_codes": ["F32.1"], "unit_fee": "80"})
    uncharged = visit(container, mine, clin, days_ago=1)
    r = api.get("/api/v1/charges", headers=token("billing", P),
                params={"client_id": mine, "min_position": a["position"]})
    assert r.status_code == 200, r.text
    [row] = r.json()["items"]
    assert (row["id"], row["amount"], row["balance"], row["payer"], row["status"]) == (
        a["id"], "150.00", "150.00", "Aetna", "unbilled")
    listed = api.get("/api/v1/charges", headers=token("billing", P),
                     params={"payer": "self-pay", "from": "2026-10-02", "to": "2026-10-02", "unbilled": "true",
                             "min_position": b["position"]}).json()["items"]
    assert [(c["id"], c["amount"], c["payer"]) for c in listed] == [(b["id"], "80.00", None)]

    portal = token("client", P, actor=f"portal-{uuid4().hex[:6]}", clients=[UUID(theirs)])
    assert [c["id"] for c in api.get("/api/v1/charges", headers=portal).json()["items"]] == [b["id"]]
    problem(api.get(f"/api/v1/charges/{a['id']}", headers=portal), 404, "not_found")
    assert api.get(f"/api/v1/charges/{b['id']}", headers=portal).status_code == 200
    problem(api.post("/api/v1/charges", headers=portal, json={"client_id": theirs}), 403, "permission_denied")

    settle(container)
    unbilled = api.get("/api/v1/visits/unbilled", headers=token("billing", P), params={"clinician_id": clin}).json()
    assert uncharged in [v["appointment_id"] for v in unbilled]
    assert api.get("/api/v1/visits/unbilled", headers=portal).json() == []

    problem(api.get("/api/v1/charges", headers=token("billing", P), params={"status": "lost"}), 422)
    problem(api.get("/api/v1/charges", headers=token("billing", P), params={"cursor": "not-a-cursor"}), 422)
    problem(api.get("/api/v1/charges", headers=token("billing", P), params={"limit": 0}), 422)
    problem(api.get("/api/v1/charges", headers=token("billing", P), params={"from": "2026-13-01"}), 422)


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"client_id": "not-a-uuid"}, 422, "validation_failed"),
    ({"client_id": str(uuid4()), "cpt": "90837", "service_date": "2026-10-01", "diagnosis_codes": ["F32.1"]},
     404, "not_found"),
    ({"client_id": str(uuid4()), "unit_fee": "1.234"}, 422, "validation_failed"),
    ({"client_id": str(uuid4()), "units": 0}, 422, "validation_failed"),
    ({"client_id": str(uuid4()), "modifiers": ["95", "GT", "HO", "U1", "U2"]}, 422, "validation_failed"),
    ({"client_id": str(uuid4()), "surprise": 1}, 422, "validation_failed"),
])
def test_bad_charges_are_problems(api: TestClient, token: Any, body: dict[str, Any], status: int, code: str) -> None:
    problem(api.post("/api/v1/charges", headers=token("billing", P), json=body), status, code)


def test_bad_input_changes_nothing(api: TestClient, token: Any, container: Any) -> None:
    cid, clin = client(api, token), clinician(token)
    r = api.post("/api/v1/charges", headers={**token("billing", P), "content-type": "application/json"},
                 content=b"{not json")
    problem(r, 400, "malformed_json")
    for extra in ({"cpt": "ABCDE"}, {"diagnosis_codes": ["NOPE"]}, {"service_date": "2099-01-01"},
                  {"diagnosis_pointers": [3]}, {"clinician_id": str(uuid4())}):
        problem(api.post("/api/v1/charges", headers=token("billing", P), json={
            "client_id": cid, "cpt": "90837", "service_date": "2026-10-01", "clinician_id": clin,
            "diagnosis_codes": ["F32.1"], **extra}), 422)
    problem(api.post("/api/v1/charges/bill", headers=token("billing", P), json={"charge_ids": []}), 422)
    problem(api.post("/api/v1/charges/bill", headers=token("billing", P), json={"charge_ids": [str(uuid4())]}), 404)
    settle(container)
    assert api.get("/api/v1/charges", headers=token("billing", P), params={"client_id": cid}).json()["items"] == []


def test_another_practices_ids_answer_404_and_change_nothing(api: TestClient, token: Any, container: Any) -> None:
    cid, clin = client(api, token), clinician(token)
    mine = charge(api, token, {"client_id": cid, "cpt": "90837", "service_date": "2026-10-01",
                               "clinician_id": clin, "diagnosis_codes": ["F32.1"]})
    before = api.get(f"/api/v1/charges/{mine['id']}", headers=token("billing", P)).json()
    stranger = token("admin", OTHER)
    calls = [
        ("GET", f"/api/v1/charges/{mine['id']}", None),
        ("PATCH", f"/api/v1/charges/{mine['id']}", {"units": 3}),
        ("POST", f"/api/v1/charges/{mine['id']}/adjustments",
         {"reason_code": "45", "amount": "10.00", "note": "Intruder"}),
        ("POST", f"/api/v1/charges/{mine['id']}/void", {"reason": "Intruder"}),
        ("POST", "/api/v1/charges/bill", {"charge_ids": [mine["id"]]}),
        ("POST", "/api/v1/charges", {"client_id": cid, "cpt": "90837", "service_date": "2026-10-01",
                                     "clinician_id": str(member_id("admin", OTHER)),
                                     "diagnosis_codes": ["F32.1"]}),
    ]
    for method, url, body in calls:
        problem(api.request(method, url, headers=stranger, json=body), 404, "not_found")
    settle(container)
    assert api.get("/api/v1/charges", headers=stranger).json()["items"] == []
    assert api.get(f"/api/v1/charges/{mine['id']}", headers=token("billing", P)).json() == before
