"""Invoices over HTTP: create, edit, send (mail with the PDF attached), download the PDF, void,
write off, list and filter; bad input gets problem+json (never a 500) and changes nothing;
another practice gets 404; clients see their own issued invoices only."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from adapters.clock import FrozenClock
from application import audit
from domain.billing.charge import Charge
from interfaces.container import Container
from interfaces.sweeps import mark_overdue_invoices
from interfaces.workers.periodic import PERIODIC_SWEEPS
from tests.interfaces.conftest import practice, setup_practice

P = "invoicing"  # a practice of these tests' own (America/New_York)


@pytest.fixture(scope="module", autouse=True)
def _practice(container: Any, api: TestClient) -> None:
    setup_practice(container, P, "America/New_York")


def problem(r: Any, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert r.json()["code"] == code, r.json()


def new_client(api: TestClient, token: Any, email: str | None = "auto") -> tuple[str, str | None]:
    """A client registered by the front desk (billing staff do not edit client records)."""
    headers = token("front_desk", P)
    address = f"client-{uuid4().hex[:8]}@example.test" if email == "auto" else email
    body: dict[str, Any] = {"first_name": "Mara", "last_name": "Quinn", "date_of_birth": "1984-04-04",
                            "address": {"line1": "9 Harbor Road", "city": "Salem", "state": "MA", "zip": "01970"}}
    if address:
        body["email"] = address
    r = api.post("/api/v1/clients", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"], address


def charge(container: Any, client_id: str, fee: str = "140.00") -> str:
    pid = practice(P)
    with audit.acting(audit.system("system:test", practice_id=pid)):
        c = Charge.enter(
            practice_id=pid, client_id=UUID(client_id), clinician_id=uuid4(), appointment_id=None,
            service_date=container.clock.now().date() - timedelta(days=3), cpt="90837", charge_modifiers=[],
            charge_units=Decimal(1), diagnosis_codes=["F32.9"], diagnosis_pointers=[1], unit_fee=Decimal(fee),
            payer=None, entered_at=container.clock.now(), by=pid, today=container.clock.now().date(),
        )
        container.store.save(c)
    return str(c.id)


def service_line(**extra: Any) -> dict[str, Any]:
    return {"description": "In-home support", "service_date": "2026-02-10", "hours": "2.5", "rate": "40.00", **extra}


def create(api: TestClient, headers: dict[str, str], client_id: str, **body: Any) -> dict[str, Any]:
    body.setdefault("service_lines", [service_line()])
    r = api.post("/api/v1/invoices", headers=headers, json={"client_id": client_id, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_create_edit_send_download(api: TestClient, token: Any, container: Any) -> None:
    billing = token("billing", P)
    client_id, email = new_client(api, token)
    charge_id = charge(container, client_id)
    created = create(api, billing, client_id, charge_ids=[charge_id], tax_rate="6.5",
                     discount={"kind": "percent", "value": "10"}, notes="Thank you for your visit.")
    assert re.fullmatch(r"INV-\d{4}-\d{6}", created["number"])
    iid = created["id"]

    r = api.patch(f"/api/v1/invoices/{iid}", headers=billing, json={
        "add_service_lines": [service_line(description="Medication reminders", hours=1, rate=30, taxable=True)]})
    assert r.status_code == 200, r.text
    body = api.get(f"/api/v1/invoices/{iid}", headers=billing).json()
    # 140.00 + 100.00 + 30.00 = 270.00; 10% = 27.00; 6.5% of 30.00 x 243 / 270 = 27.00 -> 1.755 -> 1.76
    assert {k: body[k] for k in ("number", "status", "subtotal", "discount_amount", "tax", "total", "paid",
                                 "written_off", "balance", "notes", "tax_rate")} == {
        "number": created["number"], "status": "draft", "subtotal": "270.00", "discount_amount": "27.00",
        "tax": "1.76", "total": "244.76", "paid": "0.00", "written_off": "0.00", "balance": "244.76",
        "notes": "Thank you for your visit.", "tax_rate": "6.5"}
    assert [(line["line_no"], line["kind"], line["amount"], line["taxable"], line["charge_id"]) for line in
            body["lines"]] == [(1, "charge", "140.00", False, charge_id), (2, "service", "100.00", False, None),
                               (3, "service", "30.00", True, None)]
    assert body["discount"] == {"kind": "percent", "value": "10"}

    r = api.post(f"/api/v1/invoices/{iid}/send", headers=billing, json={})
    assert r.status_code == 200, r.text
    sent = r.json()
    assert sent["emailed"] is True and sent["number"] == created["number"]
    mails = [m for m in container.mailer.list(to=email) if created["number"] in m.subject]
    assert len(mails) == 1 and str(mails[0].id) == sent["mail_id"]
    (attachment,) = mails[0].attachments
    assert (attachment.filename, attachment.content_type) == (f"{created['number']}.pdf", "application/pdf")
    assert attachment.size > 1000

    r = api.get(f"/api/v1/invoices/{iid}/pdf", headers=billing)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="{created["number"]}.pdf"'
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    for shown in (created["number"], "Mara Quinn", "9 Harbor Road", "In-home support", "$244.76"):
        assert shown in text, shown

    problem(api.patch(f"/api/v1/invoices/{iid}", headers=billing, json={"tax_rate": 0}), 409, "illegal_transition")
    problem(api.post(f"/api/v1/invoices/{iid}/send", headers=billing, json={}), 409, "illegal_transition")
    r = api.post(f"/api/v1/invoices/{iid}/write-offs", headers=billing,
                 json={"amount": "4.76", "reason": "Courtesy", "write_off_id": str(uuid4())})
    assert r.status_code == 201, r.text
    rows = api.get("/api/v1/invoices", headers=billing, params={
        "client_id": client_id, "status": "partially_paid", "min_position": r.json()["position"]}).json()["items"]
    assert [(row["id"], row["total"], row["written_off"], row["balance"], row["line_count"]) for row in rows] == [
        (iid, "244.76", "4.76", "240.00", 3)]


def test_void_keeps_the_number_and_frees_the_charge(api: TestClient, token: Any, container: Any) -> None:
    billing = token("billing", P)
    client_id, _ = new_client(api, token)
    charge_id = charge(container, client_id)
    first = create(api, billing, client_id, charge_ids=[charge_id], service_lines=[])
    problem(api.post(f"/api/v1/invoices/{first['id']}/void", headers=billing, json={"reason": " "}), 422)
    r = api.post(f"/api/v1/invoices/{first['id']}/void", headers=billing, json={"reason": "Wrong month"})
    assert r.status_code == 200, r.text
    body = api.get(f"/api/v1/invoices/{first['id']}", headers=billing).json()
    assert (body["status"], body["number"], body["void_reason"]) == ("void", first["number"], "Wrong month")
    second = create(api, billing, client_id, charge_ids=[charge_id], service_lines=[])
    year, seq = first["number"].rsplit("-", 1)
    assert second["number"].rsplit("-", 1)[0] == year and int(second["number"].rsplit("-", 1)[1]) == int(seq) + 1


def test_send_without_an_email_on_file(api: TestClient, token: Any) -> None:
    billing = token("billing", P)
    client_id, _ = new_client(api, token, email=None)
    iid = create(api, billing, client_id)["id"]
    problem(api.post(f"/api/v1/invoices/{iid}/send", headers=billing), 409, "client_has_no_email")
    assert api.get(f"/api/v1/invoices/{iid}", headers=billing).json()["status"] == "draft"
    r = api.post(f"/api/v1/invoices/{iid}/send", headers=billing, json={"email": False})
    assert r.status_code == 200, r.text
    assert (r.json()["emailed"], r.json()["mail_id"]) == (False, None)
    assert api.get(f"/api/v1/invoices/{iid}", headers=billing).json()["status"] == "sent"


BAD_CREATES: list[tuple[dict[str, Any], int, str]] = [
    ({"tax_rate": "101"}, 422, "validation_failed"),
    ({"tax_rate": "NaN"}, 422, "validation_failed"),
    ({"tax_rate": "8.8751"}, 422, "validation_failed"),
    ({"discount": {"kind": "percent", "value": "150"}}, 422, "invalid_command"),
    ({"discount": {"kind": "coupon", "value": "5"}}, 422, "validation_failed"),
    ({"service_lines": [service_line(hours="0")]}, 422, "validation_failed"),
    ({"service_lines": [service_line(rate="1e400")]}, 422, "validation_failed"),
    ({"service_lines": [service_line(rate="0.001")]}, 422, "validation_failed"),
    ({"service_lines": [service_line(description="")]}, 422, "validation_failed"),
    ({"service_lines": [service_line(rate="999999.99", hours="744")]}, 422, "invalid_command"),
    ({"service_lines": []}, 422, "invalid_command"),
    ({"due_on": "2020-01-01"}, 422, "invalid_command"),
    ({"charge_ids": ["not-a-uuid"]}, 422, "validation_failed"),
    ({"colour": "red"}, 422, "validation_failed"),
]


@pytest.mark.parametrize(("extra", "status", "code"), BAD_CREATES)
def test_bad_input_is_a_problem_and_takes_no_number(api: TestClient, token: Any, extra: dict[str, Any], status: int,
                                                    code: str) -> None:
    billing = token("billing", P)
    client_id, _ = new_client(api, token)
    body = {"client_id": client_id, "service_lines": [service_line()], **extra}
    problem(api.post("/api/v1/invoices", headers=billing, json=body), status, code)
    assert api.get("/api/v1/invoices", headers=billing, params={"client_id": client_id}).json()["items"] == []


def test_more_problems(api: TestClient, token: Any, container: Any) -> None:
    billing = token("billing", P)
    client_id, _ = new_client(api, token)
    other_client, _ = new_client(api, token)
    problem(api.post("/api/v1/invoices", headers={**billing, "content-type": "application/json"}, content=b"{"), 400,
            "malformed_json")
    problem(api.post("/api/v1/invoices", headers=billing, json={
        "client_id": client_id, "charge_ids": [charge(container, other_client)]}), 422, "invalid_command")
    problem(api.post("/api/v1/invoices", headers=billing, json={"client_id": str(uuid4()),
                                                                 "service_lines": [service_line()]}), 404, "not_found")
    problem(api.get(f"/api/v1/invoices/{uuid4()}", headers=billing), 404, "not_found")
    problem(api.get(f"/api/v1/invoices/{uuid4()}/pdf", headers=billing), 404, "not_found")
    problem(api.get("/api/v1/invoices", headers=billing, params={"status": "bogus"}), 422, "invalid_command")
    problem(api.get("/api/v1/invoices", headers=billing, params={"cursor": "%%%"}), 422)
    problem(api.get("/api/v1/invoices", headers=billing, params={"limit": 0}), 422, "validation_failed")
    iid = create(api, billing, client_id)["id"]
    problem(api.patch(f"/api/v1/invoices/{iid}", headers=billing, json={}), 422, "validation_failed")
    problem(api.patch(f"/api/v1/invoices/{iid}", headers=billing, json={"remove_lines": [7]}), 422, "invalid_command")
    problem(api.patch(f"/api/v1/invoices/{iid}", headers=billing, json={"due_on": "1999-12-31"}), 422)
    problem(api.post(f"/api/v1/invoices/{iid}/write-offs", headers=billing, json={"amount": "1.00", "reason": "x"}),
            409, "illegal_transition")  # a draft
    api.post(f"/api/v1/invoices/{iid}/send", headers=billing, json={"email": False})
    problem(api.post(f"/api/v1/invoices/{iid}/write-offs", headers=billing,
                     json={"amount": "100.01", "reason": "Too much"}), 422, "invalid_command")
    problem(api.post(f"/api/v1/invoices/{iid}/write-offs", headers=billing, json={"amount": "-1", "reason": "x"}),
            422, "validation_failed")
    assert api.get(f"/api/v1/invoices/{iid}", headers=billing).json()["balance"] == "100.00"


def test_another_practice_gets_404_and_changes_nothing(api: TestClient, token: Any) -> None:
    billing = token("billing", P)
    client_id, _ = new_client(api, token)
    iid = create(api, billing, client_id)["id"]
    before = api.get(f"/api/v1/invoices/{iid}", headers=billing).json()
    beta = token("admin", "beta")
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/v1/invoices/{iid}", None),
        ("GET", f"/api/v1/invoices/{iid}/pdf", None),
        ("PATCH", f"/api/v1/invoices/{iid}", {"tax_rate": "5"}),
        ("POST", f"/api/v1/invoices/{iid}/send", {"email": False}),
        ("POST", f"/api/v1/invoices/{iid}/void", {"reason": "Intruder"}),
        ("POST", f"/api/v1/invoices/{iid}/write-offs", {"amount": "1.00", "reason": "Intruder"}),
    ]
    for method, path, body in calls:
        problem(api.request(method, path, headers=beta, json=body), 404, "not_found")
    problem(api.post("/api/v1/invoices", headers=beta, json={"client_id": client_id,
                                                              "service_lines": [service_line()]}), 404, "not_found")
    assert all(row["id"] != iid for row in api.get("/api/v1/invoices", headers=beta).json()["items"])
    assert api.get(f"/api/v1/invoices/{iid}", headers=billing).json() == before


def test_clients_see_their_own_issued_invoices(api: TestClient, token: Any) -> None:
    billing = token("billing", P)
    mine, _ = new_client(api, token)
    theirs, _ = new_client(api, token)
    sent = create(api, billing, mine)["id"]
    draft = create(api, billing, mine)["id"]
    other = create(api, billing, theirs)["id"]
    for iid in (sent, other):
        assert api.post(f"/api/v1/invoices/{iid}/send", headers=billing, json={"email": False}).status_code == 200
    portal = token("client", P, actor=f"portal-{mine[:8]}", clients=[UUID(mine)])
    r = api.get("/api/v1/invoices", headers=portal)
    assert r.status_code == 200, r.text
    assert [row["id"] for row in r.json()["items"]] == [sent]
    assert api.get(f"/api/v1/invoices/{sent}", headers=portal).status_code == 200
    r = api.get(f"/api/v1/invoices/{sent}/pdf", headers=portal)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    for hidden in (draft, other):
        problem(api.get(f"/api/v1/invoices/{hidden}", headers=portal), 404, "not_found")
        problem(api.get(f"/api/v1/invoices/{hidden}/pdf", headers=portal), 404, "not_found")
    problem(api.post(f"/api/v1/invoices/{sent}/void", headers=portal, json={"reason": "no"}), 403, "permission_denied")
    problem(api.get("/api/v1/invoices", headers=token("clinician", P)), 403, "permission_denied")


def test_the_worker_sweep_marks_overdue_invoices(api: TestClient, token: Any, container: Any) -> None:
    assert "overdue_invoices" in {s.name for s in PERIODIC_SWEEPS}
    billing = token("billing", P)
    client_id, _ = new_client(api, token)
    today = container.clock.now().date()
    iid = create(api, billing, client_id, due_on=(today + timedelta(days=10)).isoformat())["id"]
    api.post(f"/api/v1/invoices/{iid}/send", headers=billing, json={"email": False})
    later_day = today + timedelta(days=12)
    later = Container(database_url=container.database_url, clock=FrozenClock(
        datetime(later_day.year, later_day.month, later_day.day, 17, tzinfo=UTC)))
    try:
        assert mark_overdue_invoices(later) >= 1
        assert mark_overdue_invoices(later) == 0
    finally:
        later.close()
    container.runner("invoices").catch_up()
    rows = api.get("/api/v1/invoices", headers=billing, params={"overdue": "true", "client_id": client_id}).json()
    assert [(r["id"], r["status"], r["overdue_since"]) for r in rows["items"]] == [
        (iid, "overdue", (today + timedelta(days=11)).isoformat())]
    assert api.get("/api/v1/invoices", headers=billing, params={"overdue": "false", "client_id": client_id}
                   ).json()["items"] == []
    assert date.fromisoformat(api.get(f"/api/v1/invoices/{iid}", headers=billing).json()["overdue_since"]) == (
        today + timedelta(days=11))
