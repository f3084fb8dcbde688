"""Reports over HTTP: GET /api/v1/reports/ar-aging (as-is, no parameters), revenue,
reconciliation, client statements (JSON and PDF) and /api/v1/metrics/revenue: the shapes, money as
two-decimal strings, problem+json for bad input, who may read what, and another practice's ids
answering 404."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from application import audit
from domain.billing.charge import Charge
from domain.billing.payment import Payment
from tests.interfaces.conftest import practice, setup_practice

P = "reports-api"  # a practice of these tests' own (America/New_York)
NY = ZoneInfo("America/New_York")
MONEY = re.compile(r"^-?\d+\.\d{2}$")
D = Decimal


def problem(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    if code:
        assert body["code"] == code, body
    return body


def settle(container: Any) -> None:
    for name in ("billing_ledger", "invoices", "billing_reports", "clients"):
        container.runner(name).catch_up()


@pytest.fixture(scope="module")
def books(container: Any, api: TestClient, token: Any) -> dict[str, Any]:
    """Two clients: one with an Aetna charge 40 days old, part paid in cash; one with a sent invoice."""
    setup_practice(container, P, "America/New_York")
    pid = practice(P)
    ids = []
    for last in ("Reyes", "Okafor"):
        r = api.post("/api/v1/clients", headers=token("front_desk", P), json={
            "first_name": "Ana", "last_name": last, "date_of_birth": "1985-05-05",
            "address": {"line1": "4 Elm Row", "city": "Macon", "state": "GA", "zip": "31201"}})
        assert r.status_code == 201, r.text
        ids.append(UUID(r.json()["id"]))
    first, second = ids
    now = container.clock.now()
    today = now.astimezone(NY).date()
    with audit.acting(audit.system("system:test", practice_id=pid)):
        charge = Charge.enter(
            practice_id=pid, client_id=first, clinician_id=uuid4(), appointment_id=None,
            service_date=today - timedelta(days=40), cpt="90837", charge_modifiers=[], charge_units=D(1),
            diagnosis_codes=["F41.1"], diagnosis_pointers=[1], unit_fee=D("150.00"), payer="Aetna", entered_at=now,
            by=pid, today=today)
        cash = Payment.receive(practice_id=pid, client_id=first, payer=None, method="cash", amount=D("60.00"),
                               received_on=today, received_at=now, by=pid, today=today)
        application = uuid4()
        cash.apply(application, "charge", charge.id, D("50.00"), at=now, by=pid)
        charge.apply_payment(str(application), cash.id, D("50.00"), source="manual", at=now)
        container.store.save(charge, cash)
    billing = token("billing", P)
    r = api.post("/api/v1/invoices", headers=billing, json={"client_id": str(second), "service_lines": [
        {"description": "In-home support", "service_date": today.isoformat(), "hours": "2", "rate": "45.50"}]})
    assert r.status_code == 201, r.text
    invoice = r.json()["id"]
    assert api.post(f"/api/v1/invoices/{invoice}/send", headers=billing, json={"email": False}).status_code == 200
    settle(container)
    return {"first": str(first), "second": str(second), "today": today, "charge": str(charge.id)}


def money_fields(body: Any) -> list[str]:
    found = []
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, (dict, list)):
                found += money_fields(value)
            elif isinstance(value, str) and key not in {"key", "payer", "client_name", "description", "reference",
                                                        "name", "message", "time_zone", "by", "as_of", "first",
                                                        "last", "on", "client_id", "statement_date", "phone"}:
                found.append(value)
    elif isinstance(body, list):
        for item in body:
            found += money_fields(item)
    return found


def test_ar_aging_as_is(api: TestClient, token: Any, books: dict[str, Any]) -> None:
    r = api.get("/api/v1/reports/ar-aging", headers=token("billing", P))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["as_of"], body["by"], body["time_zone"]) == (books["today"].isoformat(), "client", "America/New_York")
    rows = {row["client_id"]: row for row in body["rows"]}
    first, second = rows[books["first"]], rows[books["second"]]
    assert first["buckets"] == {"current": "0.00", "days_31_60": "100.00", "days_61_90": "0.00",
                                "days_91_120": "0.00", "over_120": "0.00", "total": "100.00"}
    assert (first["unapplied_payments"], first["credits"], first["balance"]) == ("10.00", "10.00", "100.00")
    assert first["client_name"] == "Ana Reyes" and second["client_name"] == "Ana Okafor"
    assert second["buckets"]["current"] == "91.00"
    assert body["totals"]["buckets"]["total"] == "191.00" and body["totals"]["balance"] == "191.00"
    assert all(MONEY.match(v) for v in money_fields(body)), money_fields(body)

    r = api.get("/api/v1/reports/ar-aging", params={"by": "payer", "names": "false"}, headers=token("admin", P))
    payers = {row["payer"]: row for row in r.json()["rows"]}
    assert payers["Aetna"]["buckets"]["total"] == "100.00"
    assert payers["self-pay"]["buckets"]["total"] == "91.00" and payers["self-pay"]["unapplied_payments"] == "10.00"
    assert all(row["client_name"] is None and row["client_id"] is None for row in payers.values())


def test_revenue_reconciliation_and_metrics(api: TestClient, token: Any, books: dict[str, Any]) -> None:
    billing = token("billing", P)
    month = {"from": books["today"].replace(day=1).isoformat(), "to": books["today"].isoformat()}
    for by in ("clinician", "cpt", "payer", "method"):
        r = api.get("/api/v1/reports/revenue", params={**month, "by": by}, headers=billing)
        assert r.status_code == 200, r.text
        t = r.json()["totals"]
        assert (t["charges"], t["invoiced"], t["payments"], t["received"], t["net_collections"]) == (
            "150.00", "91.00", "50.00", "60.00", "60.00")
        assert sum(D(row["charges"]) for row in r.json()["rows"]) == D("150.00")
    r = api.get("/api/v1/reports/reconciliation", params=month, headers=billing)
    body = r.json()
    assert body["balanced"] is True and body["difference"] == "0.00"
    assert (body["billed"], body["settled"], body["closing_balance"], body["ledger_balance"]) == (
        "241.00", "241.00", "191.00", "191.00")
    r = api.get("/api/v1/reports/reconciliation", headers=billing)  # the month to date by default
    assert r.status_code == 200 and r.json()["last"] == books["today"].isoformat()
    r = api.get("/api/v1/metrics/revenue", params=month, headers=billing)
    assert r.status_code == 200, r.text
    metrics = r.json()["metrics"]
    assert set(metrics) >= {"charge_entry_lag", "billing_compliance_rate", "collection_rate", "days_in_ar",
                            "average_reimbursement_per_session", "claim_acceptance_rate"}
    assert metrics["claim_acceptance_rate"]["value"] is None  # no claims yet
    assert metrics["charge_entry_lag"]["value"] == "40.0" and metrics["charge_entry_lag"]["status"] == "alert"
    assert metrics["collection_rate"]["formula"].startswith("payments /")
    assert r.json()["counts"]["open_balance"] == "191.00"


def test_statements_json_and_pdf(api: TestClient, token: Any, books: dict[str, Any]) -> None:
    billing = token("billing", P)
    r = api.get(f"/api/v1/clients/{books['first']}/statement", headers=billing,
                params={"from": (books["today"] - timedelta(days=60)).isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["opening_balance"], body["closing_balance"], body["amount_due"]) == ("0.00", "100.00", "90.00")
    assert [(e["charges"], e["credits"], e["balance"]) for e in body["entries"]] == [
        ("150.00", "0.00", "150.00"), ("0.00", "50.00", "100.00")]
    assert body["aging"]["days_31_60"] == "100.00" and body["client"]["name"] == "Ana Reyes"
    assert "$10.00" in body["message"]
    r = api.get(f"/api/v1/clients/{books['second']}/statement.pdf", headers=billing)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('attachment; filename="statement-')
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    for shown in ("Ana Okafor", "4 Elm Row", "$91.00", "STATEMENT"):
        assert shown in text, shown


def test_who_reads_what(api: TestClient, token: Any, books: dict[str, Any]) -> None:
    own = token("client", P, actor="reports-portal", clients=[UUID(books["first"])])
    r = api.get(f"/api/v1/clients/{books['first']}/statement", headers=own)
    assert r.status_code == 200 and r.json()["closing_balance"] == "100.00"
    assert api.get(f"/api/v1/clients/{books['first']}/statement.pdf", headers=own).status_code == 200
    problem(api.get(f"/api/v1/clients/{books['second']}/statement", headers=own), 404, "not_found")
    problem(api.get(f"/api/v1/clients/{books['second']}/statement.pdf", headers=own), 404, "not_found")
    for path in ("/api/v1/reports/ar-aging", "/api/v1/reports/revenue", "/api/v1/reports/reconciliation",
                 "/api/v1/metrics/revenue"):
        problem(api.get(path, headers=own), 403, "practice_reports_only")
        problem(api.get(path, headers=token("clinician", P)), 403, "permission_denied")
    problem(api.get(f"/api/v1/clients/{books['first']}/statement", headers=token("front_desk", P)), 403,
            "permission_denied")


def test_another_practice_sees_nothing(api: TestClient, token: Any, books: dict[str, Any]) -> None:
    beta = token("admin", "beta")
    for suffix in ("statement", "statement.pdf"):
        problem(api.get(f"/api/v1/clients/{books['first']}/{suffix}", headers=beta), 404, "not_found")
    rows = api.get("/api/v1/reports/ar-aging", headers=beta).json()["rows"]
    assert all(row["client_id"] not in {books["first"], books["second"]} for row in rows)
    assert api.get("/api/v1/reports/reconciliation", headers=beta).json()["balanced"] is True


def test_bad_input_is_problem_json(api: TestClient, token: Any, books: dict[str, Any]) -> None:
    billing = token("billing", P)
    tomorrow = (books["today"] + timedelta(days=1)).isoformat()
    for path, params in (
        ("/api/v1/reports/ar-aging", {"as_of": "2026-13-01"}),
        ("/api/v1/reports/ar-aging", {"by": "room"}),
        ("/api/v1/reports/revenue", {"from": "yesterday"}),
        ("/api/v1/reports/revenue", {"by": "clinic"}),
        ("/api/v1/reports/reconciliation", {"to": "2026-02-30"}),
        ("/api/v1/metrics/revenue", {"from": "2026-1-1"}),
        (f"/api/v1/clients/{books['first']}/statement", {"from": "03/01/2026"}),
    ):
        problem(api.get(path, params=params, headers=billing), 422, "validation_failed")
    problem(api.get("/api/v1/reports/ar-aging", params={"as_of": tomorrow}, headers=billing), 422, "invalid_command")
    problem(api.get("/api/v1/reports/revenue", params={"from": "2026-03-31", "to": "2026-03-01"}, headers=billing),
            422, "invalid_command")
    problem(api.get(f"/api/v1/clients/{books['first']}/statement", params={"to": tomorrow}, headers=billing),
            422, "invalid_command")
    problem(api.get("/api/v1/clients/not-a-uuid/statement", headers=billing), 422, "validation_failed")
    problem(api.get(f"/api/v1/clients/{uuid4()}/statement.pdf", headers=billing), 404, "not_found")
    assert date.fromisoformat(books["today"].isoformat())  # the practice's today drove every default
