"""835 remittances over HTTP: a multipart upload that matches and posts (201), the same bytes again
(200, nothing new), junk answered with problem+json and nothing stored, the list and a file's
report with its claims, a re-run under another rules version, the review queue and its resolve
command; another practice's ids answer 404; people without practice-wide billing are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application import audit
from domain.billing.charge import Charge
from domain.clients.client import Client
from domain.practices.practice import practice_id_for
from tests.application.remittance.support import claim, era, line
from tests.interfaces.billing_support import problem
from tests.interfaces.conftest import setup_practice

P, OTHER = "remit-api", "remit-api-other"
AT = datetime(2026, 11, 10, 15, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _practices(container: Any, api: TestClient) -> None:
    setup_practice(container, P, "America/New_York")
    setup_practice(container, OTHER, "Europe/London")


def seed(container: Any, last: str, member: str, claim_number: str, line_ref: str, day: date) -> UUID:
    """An insured client and one billed charge of theirs."""
    pid = practice_id_for(P)
    client = Client.register(pid, "basic", first_name="Dana", last_name=last, date_of_birth=date(1985, 5, 6),
                             insurance_primary={"payer": "ACME HEALTH", "member_id": member})
    charge = Charge.enter(
        practice_id=pid, client_id=client.id, clinician_id=uuid4(), appointment_id=None, service_date=day,
        cpt="90837", charge_modifiers=[], charge_units=Decimal(1), diagnosis_codes=["F32.1"], diagnosis_pointers=[1],
        unit_fee=Decimal("150.00"), payer="ACME HEALTH", entered_at=AT, by=uuid4(), today=AT.date(),
        line_ref=line_ref,
    )
    charge.bill(claim_number, payer="ACME HEALTH", hold_reason=None, at=AT, by=uuid4())
    with audit.acting(audit.system("system:test", practice_id=pid)):
        container.store.save(client, charge)
    container.runner("billing_ledger").catch_up()
    return charge.id


def paid_claim(number: str, last: str, member: str, ref: str, day: str, paid: str = "100") -> list[str]:
    co = Decimal(150) - Decimal(paid) - 20
    return claim(number, "1", "150", paid, "20", f"ICN-{number}", last.upper(), "DANA", member,
                 *line("90837", "150", paid, day, ref, f"CAS*CO*45*{co}", "CAS*PR*2*20"))


def upload(api: TestClient, token: Any, data: bytes, name: str = "acme.835", practice: str = P,
           **form: str) -> Any:
    return api.post("/api/v1/remittances", headers=token("billing", practice), files={"file": (name, data)},
                    data=form)


def billing_head(container: Any) -> int:
    with container.pool.connection() as conn:
        return int(conn.execute("SELECT max(notification_id) FROM careledger_events").fetchone()[0])


def billing_events_since(container: Any, head: int) -> list[str]:
    """Remittance, charge and payment events after `head` (sign-ins and sweeps write others)."""
    with container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT topic FROM careledger_events WHERE notification_id > %s AND (topic LIKE 'careledger/remittance/%%' "
            "OR topic LIKE 'careledger/charge/%%' OR topic LIKE 'careledger/payment/%%')", (head,)).fetchall()
    return [r[0] for r in rows]


def unique() -> str:
    return uuid4().hex[:8].upper()


def test_upload_posts_and_the_same_bytes_again_change_nothing(api: TestClient, token: Any, container: Any) -> None:
    tag = unique()
    charge_id = seed(container, f"Upl{tag}", f"M{tag}", f"C{tag}", f"L{tag}", date(2026, 11, 2))
    data = era(paid_claim(f"C{tag}", f"Upl{tag}", f"M{tag}", f"L{tag}", "20261102"), trace=f"T{tag}",
               paid_on="20261105")

    r = upload(api, token, data)
    assert r.status_code == 201, r.text
    body = r.json()
    assert {k: body[k] for k in ("filename", "claims", "matched_by_level", "unmatched", "auto_match_rate",
                                 "balanced", "findings", "postings_written", "status", "rules_version")} == {
        "filename": "acme.835", "claims": 1, "matched_by_level": {"1": 1, "2": 0, "3": 0, "4": 0, "manual": 0},
        "unmatched": 0, "auto_match_rate": "1.0000", "balanced": True, "findings": [], "postings_written": 2,
        "status": "processed", "rules_version": 3}
    assert body["totals"] == {
        "charged": "150.00", "paid": "100.00", "adjusted": "50.00", "patient_responsibility": "20.00",
        "provider_adjustments": "0.00", "payment": "100.00", "posted_payments": "100.00",
        "posted_adjustments": "30.00", "unmatched_paid": "0.00"}
    assert body["transaction_sets"][0]["posting"] == "recorded" and body["claim_results"] is None
    charge = api.get(f"/api/v1/charges/{charge_id}", headers=token("billing", P)).json()
    assert (charge["paid"], charge["adjusted"], charge["balance"]) == ("100.00", "30.00", "20.00")

    head = billing_head(container)
    again = upload(api, token, data, "renamed.835")
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["postings_written"]) == (body["id"], 0)
    assert billing_events_since(container, head) == []

    detail = api.get(f"/api/v1/remittances/{body['id']}", headers=token("admin", P))
    assert detail.status_code == 200, detail.text
    [result] = detail.json()["claim_results"]
    assert (result["claim_number"], result["level"], result["status"], result["charge_ids"], result["posted"]) == (
        f"C{tag}", "1", "matched", [str(charge_id)], "100.00")

    container.runner("remittances").catch_up()
    listed = api.get("/api/v1/remittances", headers=token("billing", P), params={"limit": 200})
    assert listed.status_code == 200, listed.text
    row = next(i for i in listed.json()["items"] if i["id"] == body["id"])
    assert (row["filename"], row["claims"], row["level_1"], row["posted_payments"], row["status"]) == (
        "acme.835", 1, 1, "100.00", "processed")


def test_junk_is_problem_json_and_nothing_is_stored(api: TestClient, token: Any, container: Any) -> None:
    head = billing_head(container)
    body = problem(upload(api, token, b"\x89PNG\r\n\x1a\n not a remittance", "scan.png"), 422, "era_unreadable")
    assert "scan.png is not an 835 remittance" in body["detail"]
    problem(upload(api, token, b"ST*837*0001~BHT*0019~SE*2*0001~", "claims.837"), 422, "era_unreadable")
    problem(api.post("/api/v1/remittances", headers=token("billing", P), data={"rules_version": "1"}), 422)
    assert billing_events_since(container, head) == []


def test_review_queue_resolve_and_rematch(api: TestClient, token: Any, container: Any) -> None:
    tag = unique()
    charge_id = seed(container, f"Rev{tag}", f"M{tag}", f"C{tag}", f"L{tag}", date(2026, 11, 3))
    stranger = claim(f"X{tag}", "1", "150", "90", "0", f"ICN-X{tag}", "NOBODY", "NEMO", "Q1",
                     *line("90837", "150", "90", "20261103", "", "CAS*CO*45*60"))
    report = upload(api, token, era(stranger, trace=f"T{tag}", paid_on="20261105")).json()
    assert (report["unmatched"], report["status"]) == (1, "needs_review")
    remittance = report["id"]

    container.runner("remittances").catch_up()
    queue = api.get("/api/v1/remittances/review-queue", headers=token("billing", P))
    assert queue.status_code == 200, queue.text
    [item] = [i for i in queue.json()["items"] if i["remittance_id"] == remittance]
    assert (item["claim_number"], item["paid"], item["filename"]) == (f"X{tag}", "90.00", "acme.835")

    url = f"/api/v1/remittances/{remittance}"
    problem(api.post(f"{url}/match", headers=token("billing", P), json={"rules_version": 99}), 422)
    rerun = api.post(f"{url}/match", headers=token("billing", P), json={"rules_version": 1})
    assert rerun.status_code == 200, rerun.text
    assert (rerun.json()["rules_version"], rerun.json()["unmatched"], rerun.json()["run"]) == (1, 1, 2)

    body = {"claim_key": item["claim_key"], "charge_ids": [str(charge_id)]}
    resolved = api.post(f"{url}/claims/resolve", headers=token("billing", P), json=body)
    assert resolved.status_code == 200, resolved.text
    out = resolved.json()
    assert (out["matched_by_level"]["manual"], out["unmatched"], out["postings_written"]) == (1, 0, 2)
    [result] = out["claim_results"]
    assert (result["status"], result["charge_ids"], result["posted"]) == ("resolved", [str(charge_id)], "90.00")
    charge = api.get(f"/api/v1/charges/{charge_id}", headers=token("billing", P)).json()
    assert (charge["paid"], charge["adjusted"], charge["balance"]) == ("90.00", "60.00", "0.00")
    container.runner("remittances").catch_up()
    queue = api.get("/api/v1/remittances/review-queue", headers=token("billing", P)).json()
    assert [i for i in queue["items"] if i["remittance_id"] == remittance] == []

    problem(api.post(f"{url}/claims/resolve", headers=token("billing", P),
                     json={"claim_key": "no/such/0/0", "charge_ids": []}), 422)
    problem(api.post(f"{url}/claims/resolve", headers=token("billing", P),
                     json={"claim_key": item["claim_key"], "charge_ids": ["not-a-uuid"]}), 422)


def test_another_practice_and_people_without_billing(api: TestClient, token: Any, container: Any) -> None:
    tag = unique()
    seed(container, f"Iso{tag}", f"M{tag}", f"C{tag}", f"L{tag}", date(2026, 11, 4))
    report = upload(api, token, era(paid_claim(f"C{tag}", f"Iso{tag}", f"M{tag}", f"L{tag}", "20261104"),
                                    trace=f"T{tag}", paid_on="20261105")).json()
    url = f"/api/v1/remittances/{report['id']}"

    problem(api.get(url, headers=token("admin", OTHER)), 404, "not_found")
    problem(api.post(f"{url}/match", headers=token("billing", OTHER), json={}), 404, "not_found")
    problem(api.post(f"{url}/claims/resolve", headers=token("billing", OTHER),
                     json={"claim_key": "x", "charge_ids": []}), 404, "not_found")
    other_list = api.get("/api/v1/remittances", headers=token("billing", OTHER)).json()
    assert report["id"] not in [i["id"] for i in other_list["items"]]

    problem(api.get(url, headers=token("client", P)), 403)
    problem(api.get(url, headers=token("clinician", P)), 403)
    problem(api.post("/api/v1/remittances", headers=token("clinician", P),
                     files={"file": ("a.835", b"ST*835*1~SE*2*1~")}), 403)
