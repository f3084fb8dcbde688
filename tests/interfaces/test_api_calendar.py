"""Calendar export over HTTP: per-appointment .ics and revocable clinician feed URLs."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from application import audit
from application.scheduling.booking import Booking
from domain.scheduling.consents import ConsentRecord
from interfaces.http.calendar import redact_path
from tests.interfaces.conftest import bearer, ensure_member, practice

FIRST, LAST = "Quentin", "Zamboni"


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code, body
    return body


def uids(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    return {str(e["UID"]): e for e in Calendar.from_ical(r.content).walk("VEVENT")}


class Setup:
    """An alpha clinician with a client (named, with consents) and two booked appointments."""

    def __init__(self, api: TestClient, token: Any, container: Any) -> None:
        self.api, self.k = api, container
        self.pid = practice("alpha")
        tag = uuid4().hex[:8]
        self.clinician = ensure_member(container, "alpha", "clinician", f"ics-clin-{tag}@alpha.test")
        self.clinician_headers = bearer(container, self.clinician)
        self.admin = token("admin")
        r = api.post("/api/v1/clients", headers=self.admin,
                     json={"first_name": FIRST, "last_name": LAST, "date_of_birth": "1984-06-07"})
        assert r.status_code == 201, r.text
        self.client = UUID(r.json()["id"])
        system = audit.system("system:test", practice_id=self.pid)
        now = container.clock.now()
        with audit.acting(system):
            for kind in ("informed_consent", "telehealth_consent"):
                container.clients.record_consent(
                    self.pid, self.client, ConsentRecord(kind, now - timedelta(days=1), None, f"{FIRST} {LAST}"))
            start = now.replace(second=0, microsecond=0) + timedelta(days=3)
            self.appointments = [
                container.scheduling.book(self.pid, Booking(
                    self.client, self.clinician, "therapy_session", start + timedelta(hours=h), modality,
                    allow_outside_hours=True,
                )).id
                for h, modality in ((0, "telehealth"), (2, "in_person"))
            ]
        container.runner("appointments").catch_up()

    def issue(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        r = self.api.post(f"/api/v1/clinicians/{self.clinician}/calendar-feed", headers=headers or self.clinician_headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def fetch(self, url: str) -> Any:
        return self.api.get(urlsplit(url).path)  # no Authorization header: the URL is the credential


@pytest.fixture
def world(api: TestClient, token: Any, container: Any) -> Setup:
    return Setup(api, token, container)


def test_issue_fetch_revoke_and_reissue_a_feed(world: Setup) -> None:
    api = world.api
    issued = world.issue()
    assert set(issued) == {"url", "token"}
    assert issued["url"].endswith(f"/api/v1/calendar-feeds/{issued['token']}.ics")

    r = world.fetch(issued["url"])
    events = uids(r)
    assert set(events) == {f"{a}@careledger" for a in world.appointments}
    assert FIRST.encode() not in r.content and LAST.encode() not in r.content
    assert str(world.client).encode() not in r.content
    assert "no-store" in r.headers["cache-control"]
    for e in events.values():
        assert e.decoded("DTSTART").utcoffset() == timedelta(0)
        assert str(e["SUMMARY"]).startswith("Therapy Session (")
    cal = Calendar.from_ical(r.content)
    assert str(cal["X-WR-CALNAME"]) == "Test clinician - Practice alpha (CareLedger)"

    unknown = problem(api.get(f"/api/v1/calendar-feeds/{uuid4()}.{'x' * 43}.ics"), 404, "not_found")
    garbage = problem(api.get("/api/v1/calendar-feeds/nothing-here.ics"), 404, "not_found")

    # Reissue: the old URL is dead at once, the new one works.
    again = world.issue()
    assert again["token"] != issued["token"]
    replaced = problem(world.fetch(issued["url"]), 404, "not_found")
    assert set(uids(world.fetch(again["url"]))) == set(events)

    # A cancellation shows as CANCELLED, so subscribed calendars drop it.
    with audit.acting(audit.system("system:test", practice_id=world.pid)):
        world.k.scheduling.cancel(world.pid, world.appointments[0], "practice", "clinician_ill")
    world.k.runner("appointments").catch_up()
    after = uids(world.fetch(again["url"]))
    assert str(after[f"{world.appointments[0]}@careledger"]["STATUS"]) == "CANCELLED"
    assert after[f"{world.appointments[0]}@careledger"].decoded("SEQUENCE") > \
        events[f"{world.appointments[0]}@careledger"].decoded("SEQUENCE")

    # Revoke: 404, with the very same answer as a token that never existed.
    r = api.delete(f"/api/v1/clinicians/{world.clinician}/calendar-feed", headers=world.clinician_headers,
                   params={"reason_code": "lost_device"})
    assert r.status_code == 200, r.text
    revoked = problem(world.fetch(again["url"]), 404, "not_found")
    assert revoked["detail"] == replaced["detail"] == unknown["detail"] == garbage["detail"]
    assert revoked["title"] == unknown["title"]
    problem(api.delete(f"/api/v1/clinicians/{world.clinician}/calendar-feed", headers=world.clinician_headers),
            409, "illegal_transition")

    third = world.issue(world.admin)  # practice staff may issue it for the clinician
    assert set(uids(world.fetch(third["url"]))) == set(events)


def test_who_may_issue_a_clinicians_feed(world: Setup, token: Any) -> None:
    api, path = world.api, f"/api/v1/clinicians/{world.clinician}/calendar-feed"
    assert api.post(path, headers=token("front_desk")).status_code == 201
    problem(api.post(path, headers=token("clinician", actor="ics-other-clinician")), 403, "forbidden")
    problem(api.delete(path, headers=token("clinician", actor="ics-other-clinician")), 403, "forbidden")
    portal = token("client", actor=f"ics-portal-{uuid4().hex[:6]}", clients=[world.client])
    problem(api.post(path, headers=portal), 403, "forbidden")
    problem(api.post(f"/api/v1/clinicians/{uuid4()}/calendar-feed", headers=world.admin), 404, "not_found")
    problem(api.delete(f"/api/v1/clinicians/{uuid4()}/calendar-feed", headers=world.admin), 404, "not_found")


def test_another_practices_clinician_is_not_found(world: Setup, token: Any, container: Any) -> None:
    api, beta = world.api, token("admin", "beta")
    path = f"/api/v1/clinicians/{world.clinician}/calendar-feed"
    issued = world.issue()
    problem(api.post(path, headers=beta), 404, "not_found")
    problem(api.delete(path, headers=beta), 404, "not_found")
    assert world.fetch(issued["url"]).status_code == 200  # untouched by beta's attempts
    problem(api.get(f"/api/v1/appointments/{world.appointments[0]}/ics", headers=beta), 404, "not_found")
    beta_clinician = ensure_member(container, "beta", "clinician", f"ics-beta-{uuid4().hex[:6]}@beta.test")
    problem(api.post(f"/api/v1/clinicians/{beta_clinician}/calendar-feed", headers=world.admin), 404, "not_found")


def test_one_appointment_as_ics(world: Setup) -> None:
    api, appointment = world.api, world.appointments[1]
    r = api.get(f"/api/v1/appointments/{appointment}/ics", headers=world.admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    assert r.headers["content-disposition"] == f'attachment; filename="appointment-{appointment}.ics"'
    [event] = uids(r).values()
    assert str(event["UID"]) == f"{appointment}@careledger"
    assert str(event["SUMMARY"]) == "Therapy Session (in person)"
    assert str(event["LOCATION"]) == "Practice alpha"
    assert "Test clinician" in str(event["DESCRIPTION"])
    start = event.decoded("DTSTART")
    assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
    assert event.decoded("DTEND") - start == timedelta(minutes=53)
    assert FIRST.encode() not in r.content and LAST.encode() not in r.content
    problem(api.get(f"/api/v1/appointments/{uuid4()}/ics", headers=world.admin), 404, "not_found")


def test_record_scope_of_the_ics(world: Setup, token: Any, container: Any) -> None:
    api, path = world.api, f"/api/v1/appointments/{world.appointments[0]}/ics"
    assert api.get(path, headers=world.clinician_headers).status_code == 200  # their own appointment
    stranger = token("clinician", actor="ics-stranger")
    problem(api.get(path, headers=stranger), 403, "outside_caseload")
    colleague_id = ensure_member(container, "alpha", "clinician", f"ics-team-{uuid4().hex[:6]}@alpha.test")
    colleague = bearer(container, colleague_id)
    problem(api.get(path, headers=colleague), 403, "outside_caseload")
    r = api.post(f"/api/v1/clients/{world.client}/care-team", json={"staff_id": str(colleague_id)},
                 headers=world.admin)
    assert r.status_code == 200, r.text
    assert api.get(path, headers=colleague).status_code == 200  # their client's appointment

    own = token("client", actor=f"ics-own-{uuid4().hex[:6]}", clients=[world.client])
    assert api.get(path, headers=own).status_code == 200
    someone_else = token("client", actor=f"ics-else-{uuid4().hex[:6]}")
    problem(api.get(path, headers=someone_else), 403, "outside_caseload")
    assert api.get(path, headers=token("billing")).status_code == 200  # practice-wide role


def test_feed_times_are_utc_whatever_the_practice_zone(world: Setup) -> None:
    issued = world.issue()
    r = world.fetch(issued["url"])
    events = uids(r)
    starts = [line for line in r.content.decode().splitlines() if line.startswith(("DTSTART", "DTEND"))]
    assert len(starts) == 4 and all(line.endswith("Z") and ";TZID" not in line for line in starts)
    with audit.acting(audit.system("system:test", practice_id=world.pid)):
        stored = {a: world.k.scheduling.appointment(world.pid, a) for a in world.appointments}
    for appointment_id, appointment in stored.items():
        event = events[f"{appointment_id}@careledger"]
        assert event.decoded("DTSTART") == appointment.starts_at.astimezone(UTC)
        assert event.decoded("DTEND") == appointment.ends_at.astimezone(UTC)


def test_the_access_log_never_shows_a_feed_token() -> None:
    token = f"{uuid4()}.{'s' * 43}"
    assert redact_path(f"/api/v1/calendar-feeds/{token}.ics") == "/api/v1/calendar-feeds/[redacted].ics"
    other = f"/api/v1/appointments/{uuid4()}/ics"
    assert redact_path(other) == other
