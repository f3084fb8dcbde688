"""Payments over HTTP: receiving, the two-step application to a charge, unapplying, refunds, exact
bodies with money as two-decimal strings; bad input is problem+json and changes nothing; portal
members see their own payments; another practice's ids answer 404 and change nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from tests.interfaces.billing_support import P, client, clinician, price, problem, settle
from tests.interfaces.conftest import setup_practice

OTHER = "billing-api-other"


@pytest.fixture(scope="module", autouse=True)
def _practices(container: Any, api: TestClient, token: Any) -> None:
    setup_practice(container, P, "America/New_York")
    setup_practice(container, OTHER, "Europe/London")
    price(api, token)


def post(api: TestClient, token: Any, url: str, body: dict[str, Any], status: int = 201) -> Any:
    r = api.post(url, headers=token("billing", P), json=body)
    assert r.status_code == status, r.text
    return r.json()


def a_charge(api: TestClient, token: Any, client_id: str) -> str:
    body = {"client_id": client_id, "cpt": "90837", "service_date": "2026-10-01", "clinician_id": clinician(token),
            "diagnosis_codes": ["F32.1"]}
    return str(post(api, token, "/api/v1/charges", body)["id"])


def test_receive_apply_unapply_refund(api: TestClient, token: Any, container: Any) -> None:
    cid = client(api, token)
    charge_id = a_charge(api, token, cid)
    paid = post(api, token, "/api/v1/payments", {"method": "check", "amount": "200", "client_id": cid,
                                                 "check_number": "1042", "received_on": "2026-11-01"})
    url = f"/api/v1/payments/{paid['id']}"
    applied = post(api, token, f"{url}/applications", {"target": "charge", "target_id": charge_id, "amount": "150.00"})
    r = api.get(url, headers=token("billing", P))
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("client_id", "payer", "method", "source", "amount", "applied", "refunded",
                                 "unapplied", "received_on", "check_number", "applications", "refunds")} == {
        "client_id": cid, "payer": None, "method": "check", "source": "manual", "amount": "200.00",
        "applied": "150.00", "refunded": "0.00", "unapplied": "50.00", "received_on": "2026-11-01",
        "check_number": "1042", "refunds": [],
        "applications": [{"application_id": applied["id"], "target": "charge", "target_id": charge_id,
                          "amount": "150.00", "active": True}]}
    charge = api.get(f"/api/v1/charges/{charge_id}", headers=token("billing", P)).json()
    assert (charge["paid"], charge["balance"], charge["status"]) == ("150.00", "0.00", "paid")
    assert [(e["kind"], e["amount"], e["reference_id"]) for e in charge["entries"]] == [
        ("payment", "150.00", paid["id"])]

    problem(api.post(f"{url}/refunds", headers=token("billing", P), json={"amount": "50.01", "reason": "Overpaid"}),
            422, "invalid_command")
    refunded = post(api, token, f"{url}/refunds", {"amount": "50.00", "reason": "Overpaid", "refund_id": "r-1"})
    again = post(api, token, f"{url}/refunds", {"amount": "50.00", "reason": "Overpaid", "refund_id": "r-1"})
    assert again["version"] == refunded["version"]  # a retried refund changes nothing

    unapply = f"{url}/applications/{applied['id']}/unapply"
    problem(api.post(unapply, headers=token("billing", P), json={}), 422, "validation_failed")
    r = api.post(unapply, headers=token("billing", P), json={"reason": "Wrong visit"})
    assert r.status_code == 200, r.text
    problem(api.post(unapply, headers=token("billing", P), json={"reason": "Again"}), 409, "illegal_transition")
    body = api.get(url, headers=token("billing", P)).json()
    assert (body["applied"], body["refunded"], body["unapplied"], body["refunds"]) == (
        "0.00", "50.00", "150.00", [{"refund_id": "r-1", "amount": "50.00"}])
    charge = api.get(f"/api/v1/charges/{charge_id}", headers=token("billing", P)).json()
    assert (charge["paid"], charge["balance"], charge["status"]) == ("0.00", "150.00", "unbilled")

    rows = api.get("/api/v1/payments", headers=token("billing", P),
                   params={"client_id": cid, "min_position": r.json()["position"]}).json()["items"]
    assert [(p["id"], p["amount"], p["applied"], p["refunded"], p["unapplied"]) for p in rows] == [
        (paid["id"], "200.00", "0.00", "50.00", "150.00")]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"method": "check", "amount": "10.00", "client_id": None}, 422, "invalid_command"),  # no client
    ({"method": "wire", "amount": "10.00"}, 422, "validation_failed"),
    ({"method": "cash", "amount": "10.001"}, 422, "validation_failed"),
    ({"method": "cash", "amount": "-1"}, 422, "validation_failed"),
    ({"method": "cash", "amount": "10.00", "client_id": str(uuid4())}, 404, "not_found"),
    ({"method": "cash", "amount": "10.00", "received_on": "2099-01-01", "client_id": "CLIENT"}, 422,
     "invalid_command"),
    ({"method": "check", "amount": "10.00", "client_id": "CLIENT"}, 422, "invalid_command"),  # no check number
    ({"method": "insurance", "amount": "10.00"}, 422, "invalid_command"),  # no payer
])
def test_bad_payments_are_problems(api: TestClient, token: Any, body: dict[str, Any], status: int, code: str) -> None:
    if body.get("client_id") == "CLIENT":
        body = {**body, "client_id": client(api, token)}
    problem(api.post("/api/v1/payments", headers=token("billing", P), json=body), status, code)


def test_refused_applications_change_nothing(api: TestClient, token: Any, container: Any) -> None:
    cid, theirs = client(api, token), client(api, token)
    charge_id, their_charge = a_charge(api, token, cid), a_charge(api, token, theirs)
    paid = post(api, token, "/api/v1/payments", {"method": "cash", "amount": "100.00", "client_id": cid})
    url = f"/api/v1/payments/{paid['id']}/applications"
    cases = [
        ({"target": "charge", "target_id": charge_id, "amount": "100.01"}, 422),  # more than the payment
        ({"target": "charge", "target_id": their_charge, "amount": "10.00"}, 422),  # another client's
        ({"target": "charge", "target_id": str(uuid4()), "amount": "10.00"}, 404),
        ({"target": "invoice", "target_id": charge_id, "amount": "10.00"}, 404),
        ({"target": "claim", "target_id": charge_id, "amount": "10.00"}, 422),
        ({"target": "charge", "target_id": charge_id, "amount": "0"}, 422),
    ]
    for body, status in cases:
        problem(api.post(url, headers=token("billing", P), json=body), status)
    problem(api.post(f"/api/v1/payments/{paid['id']}/applications/{uuid4()}/unapply", headers=token("billing", P),
                     json={"reason": "None such"}), 409, "illegal_transition")
    body = api.get(f"/api/v1/payments/{paid['id']}", headers=token("billing", P)).json()
    assert (body["applied"], body["unapplied"], body["version"]) == ("0.00", "100.00", 1)
    assert api.get(f"/api/v1/charges/{charge_id}", headers=token("billing", P)).json()["version"] == 1


def test_portal_members_see_their_own_payments(api: TestClient, token: Any, container: Any) -> None:
    cid, other = client(api, token), client(api, token)
    mine = post(api, token, "/api/v1/payments", {"method": "card", "amount": "25.00", "client_id": cid})
    theirs = post(api, token, "/api/v1/payments", {"method": "cash", "amount": "5.00", "client_id": other})
    settle(container)
    portal = token("family_member", P, actor=f"fam-{uuid4().hex[:6]}", clients=[UUID(cid)])
    assert [p["id"] for p in api.get("/api/v1/payments", headers=portal).json()["items"]] == [mine["id"]]
    assert api.get(f"/api/v1/payments/{mine['id']}", headers=portal).json()["amount"] == "25.00"
    problem(api.get(f"/api/v1/payments/{theirs['id']}", headers=portal), 404, "not_found")
    problem(api.post("/api/v1/payments", headers=portal, json={"method": "cash", "amount": "1.00", "client_id": cid}),
            403, "permission_denied")
    assert [p["id"] for p in api.get("/api/v1/payments", headers=token("billing", P),
                                     params={"method": "card", "client_id": cid}).json()["items"]] == [mine["id"]]
    problem(api.get("/api/v1/payments", headers=token("billing", P), params={"method": "wire"}), 422)


def test_another_practices_ids_answer_404_and_change_nothing(api: TestClient, token: Any, container: Any) -> None:
    cid = client(api, token)
    charge_id = a_charge(api, token, cid)
    paid = post(api, token, "/api/v1/payments", {"method": "cash", "amount": "100.00", "client_id": cid})
    url = f"/api/v1/payments/{paid['id']}"
    applied = post(api, token, f"{url}/applications", {"target": "charge", "target_id": charge_id, "amount": "40"})
    before = api.get(url, headers=token("billing", P)).json()
    stranger = token("admin", OTHER)
    calls = [
        ("GET", url, None),
        ("POST", f"{url}/applications", {"target": "charge", "target_id": charge_id, "amount": "10.00"}),
        ("POST", f"{url}/applications/{applied['id']}/unapply", {"reason": "Intruder"}),
        ("POST", f"{url}/refunds", {"amount": "10.00", "reason": "Intruder"}),
        ("POST", "/api/v1/payments", {"method": "cash", "amount": "10.00", "client_id": cid}),
    ]
    for method, target, body in calls:
        problem(api.request(method, target, headers=stranger, json=body), 404, "not_found")
    # The stranger's own payment cannot be applied to this practice's charge either.
    own_client = client(api, token, practice=OTHER)
    theirs = api.post("/api/v1/payments", headers=stranger,
                      json={"method": "cash", "amount": "10.00", "client_id": own_client}).json()
    problem(api.post(f"/api/v1/payments/{theirs['id']}/applications", headers=stranger,
                     json={"target": "charge", "target_id": charge_id, "amount": "1.00"}), 404, "not_found")
    settle(container)
    assert all(p["id"] != paid["id"] for p in api.get("/api/v1/payments", headers=stranger).json()["items"])
    assert api.get(url, headers=token("billing", P)).json() == before
