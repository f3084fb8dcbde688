"""Shared set-up for scheduling API tests: a clinician with working hours, a consenting client."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.interfaces.conftest import member_id

WEEKDAY_HOURS = {day: [["09:00", "17:00"]] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}
LUNCH = {day: [["12:00", "13:00"]] for day in WEEKDAY_HOURS}


def monday_in(weeks: int, zone: str = "America/New_York") -> date:
    today = datetime.now(ZoneInfo(zone)).date()
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks)


def at(day: date, hour: int, minute: int = 0, zone: str = "America/New_York") -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


def clinician(api: TestClient, token: Any, practice: str = "alpha", actor: str | None = None) -> str:
    """A clinician (a member of `practice`) working 9-17 Monday to Friday with a lunch break."""
    name = actor or f"clin-{uuid4().hex[:8]}"
    token("clinician", practice, actor=name)
    clinician_id = str(member_id("clinician", practice, actor=name))
    r = api.put(f"/api/v1/clinicians/{clinician_id}/schedule/working-hours", headers=token("admin", practice),
                json={"hours": WEEKDAY_HOURS, "breaks": LUNCH})
    assert r.status_code == 200, r.text
    return clinician_id


def client(
    api: TestClient, token: Any, practice: str = "alpha", born: str = "1985-04-02",
    consents: tuple[str, ...] = ("informed_consent",), **demographics: Any,
) -> str:
    body = {"first_name": "Sam", "last_name": f"Booker{uuid4().hex[:6]}", "date_of_birth": born, **demographics}
    r = api.post("/api/v1/clients", json=body, headers=token("admin", practice))
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    for kind in consents:
        consent: dict[str, Any] = {"type": kind, "signed_at": "2026-01-05T10:00:00+00:00", "signed_by": "Sam Booker"}
        if kind == "informed_consent":
            consent["expires_at"] = (datetime.now(ZoneInfo("UTC")) + timedelta(days=300)).isoformat()
        if kind == "guardian_consent":
            consent["guardian_name"] = "Pat Guardian"
        r = api.post(f"/api/v1/clients/{client_id}/consents", json=consent, headers=token("admin", practice))
        assert r.status_code == 201, r.text
    return str(client_id)


def book(api: TestClient, headers: dict[str, str], client_id: str, clinician_id: str, starts_at: datetime,
         appointment_type: str = "therapy_session", **extra: Any) -> Any:
    return api.post("/api/v1/appointments", headers=headers, json={
        "client_id": client_id, "clinician_id": clinician_id, "appointment_type": appointment_type,
        "starts_at": starts_at.isoformat(), **extra,
    })
