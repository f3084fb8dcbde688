"""Shared set-up for the billing API tests: a practice of their own with a billing clerk, an
insured client and completed visits written at chosen past times (the API's clock is real)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from application import audit
from domain.clinical.clinical_note import ClinicalNote
from domain.practices.practice import practice_id_for
from domain.scheduling.appointment import Appointment
from tests.interfaces.conftest import member_id

P = "billing-api"  # a practice of these tests' own (America/New_York)
NY = ZoneInfo("America/New_York")


def problem(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    if code:
        assert body["code"] == code, body
    return body


def client(api: TestClient, token: Any, insurer: str | None = "Aetna", practice: str = P) -> str:
    body: dict[str, Any] = {"first_name": "Bill", "last_name": f"Able{uuid4().hex[:6]}", "date_of_birth": "1980-02-03"}
    if insurer:
        body["insurance_primary"] = {"payer": insurer, "member_id": "W1"}
    r = api.post("/api/v1/clients", json=body, headers=token("admin", practice))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def clinician(token: Any, practice: str = P, actor: str = "billing-clin") -> str:
    token("clinician", practice, actor=actor)
    return str(member_id("clinician", practice, actor=actor))


def visit(container: Any, client_id: str, clinician_id: str, days_ago: int, practice: str = P,
          completed: bool = True, note_codes: list[str] | None = None) -> str:
    """A visit at 10:00 New York time `days_ago` days ago, completed (and optionally its note)."""
    pid = practice_id_for(practice)
    day = datetime.now(NY).date() - timedelta(days=days_ago)
    starts = datetime.combine(day, time(10), NY)
    a = Appointment.book(pid, UUID(client_id), UUID(clinician_id), "therapy_session", "in_person", starts,
                         starts + timedelta(minutes=50), booked_at=starts - timedelta(days=7))
    if completed:
        a.complete(starts + timedelta(minutes=50))
    with audit.acting(audit.system("system:test", practice_id=pid)):
        container.store.save(a)
        if note_codes:
            n = ClinicalNote.draft(pid, UUID(client_id), UUID(clinician_id), "soap", day, now=starts + timedelta(hours=1),
                                   sections={"subjective": "s", "objective": "o", "assessment": "a", "plan": "p"},
                                   appointment_id=a.id, icd10_codes=note_codes)
            container.store.save(n)
    return str(a.id)


def price(api: TestClient, token: Any, practice: str = P, amount: str = "150.00") -> None:
    r = api.put("/api/v1/fee-schedule", headers=token("admin", practice), json={
        "fees": [{"cpt": "90837", "amount": amount, "effective_from": "2026-01-01"}],
        "type_codes": [{"appointment_type": "therapy_session", "cpt": "90837", "modifiers": []}]})
    assert r.status_code == 200, r.text


def settle(container: Any) -> None:
    for name in ("billing_ledger", "compliance"):
        container.runner(name).catch_up()
