"""The waitlist over HTTP: join, list, leave, decline; windows checked; practice and record scope."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from application import audit
from tests.interfaces.conftest import bearer, ensure_member, setup_practice

NY = ZoneInfo("America/New_York")  # practice alpha's zone


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code and body["detail"], body
    return body


def today(container: Any, tz: ZoneInfo = NY) -> date:
    day: date = container.clock.now().astimezone(tz).date()
    return day


def window(container: Any, **extra: Any) -> dict[str, Any]:
    first = today(container)
    return {"earliest_date": first.isoformat(), "latest_date": (first + timedelta(days=30)).isoformat(), **extra}


def register(api: TestClient, headers: dict[str, str], last_name: str = "Waits") -> str:
    r = api.post("/api/v1/clients", headers=headers,
                 json={"first_name": "Wendy", "last_name": last_name, "date_of_birth": "1988-08-08"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def join(api: TestClient, headers: dict[str, str], client_id: str, **criteria: Any) -> dict[str, Any]:
    r = api.post("/api/v1/waitlist", headers=headers, json={"client_id": client_id, **criteria})
    assert r.status_code == 201, r.text
    return dict(r.json())


def listed(api: TestClient, headers: dict[str, str], position: int, **params: Any) -> dict[str, dict[str, Any]]:
    r = api.get("/api/v1/waitlist", headers=headers, params={"min_position": position, **params})
    assert r.status_code == 200, r.text
    return {e["id"]: e for e in r.json()}


def test_join_list_and_leave(api: TestClient, token: Any, container: Any) -> None:
    desk = token("front_desk")
    client_id = register(api, token("admin"))
    criteria = window(container, weekdays=[0, 2, 4], earliest_time="09:00", latest_time="12:30",
                      appointment_type="therapy_session")
    joined = join(api, desk, client_id, **criteria)
    assert set(joined) == {"id", "version", "position", "offered_to"} and joined["offered_to"] is None

    entry = listed(api, desk, joined["position"], status="waiting")[joined["id"]]
    assert entry["client_id"] == client_id and entry["status"] == "waiting"
    assert entry["weekdays"] == [0, 2, 4] and entry["earliest_time"] == "09:00:00"
    assert entry["appointment_type"] == "therapy_session" and entry["clinician_id"] is None
    assert entry["earliest_date"] == criteria["earliest_date"] and entry["offer"] is None
    assert joined["id"] not in listed(api, desk, joined["position"], status="left")

    problem(api.post("/api/v1/waitlist", headers=desk, json={"client_id": client_id, **criteria}),
            409, "already_waiting")

    r = api.request("DELETE", f"/api/v1/waitlist/{joined['id']}", headers=desk,
                    json={"reason_code": "booked_elsewhere"})
    assert r.status_code == 200, r.text
    left = listed(api, desk, r.json()["position"], status="left")[joined["id"]]
    assert left["left_reason"] == "booked_elsewhere"
    assert joined["id"] not in listed(api, desk, r.json()["position"], status="waiting")
    problem(api.request("DELETE", f"/api/v1/waitlist/{joined['id']}", headers=desk,
                        json={"reason_code": "again"}), 404, "not_found")
    again = join(api, desk, client_id, **criteria)  # the same wish may be put down again once closed
    problem(api.request("DELETE", f"/api/v1/waitlist/{again['id']}", headers=desk,
                        json={"reason_code": "Free text, not a code"}), 422, "invalid_command")


def test_bad_windows_are_refused_with_422(api: TestClient, token: Any, container: Any) -> None:
    desk = token("front_desk")
    client_id = register(api, token("admin"))
    first = today(container)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"earliest_date": (first + timedelta(days=9)).isoformat(),
          "latest_date": (first + timedelta(days=2)).isoformat()}, "invalid_command"),
        ({"earliest_date": (first - timedelta(days=9)).isoformat(),
          "latest_date": (first - timedelta(days=2)).isoformat()}, "invalid_command"),
        (window(container, earliest_time="13:00", latest_time="09:00"), "invalid_command"),
        (window(container, appointment_type="astrology"), "invalid_command"),
        (window(container, weekdays=[7]), "validation_failed"),
        (window(container, weekdays=[]), "validation_failed"),
        ({"earliest_date": first.isoformat()}, "validation_failed"),
        (window(container, unexpected=True), "validation_failed"),
    ]
    before = container.store.recorder.max_notification_id()
    for criteria, code in bad:
        problem(api.post("/api/v1/waitlist", headers=desk, json={"client_id": client_id, **criteria}), 422, code)
    assert container.store.recorder.max_notification_id() == before


def test_clients_and_entries_of_another_practice_answer_404(api: TestClient, token: Any, container: Any) -> None:
    alpha, beta = token("admin"), token("admin", "beta")
    client_id = register(api, alpha)
    criteria = window(container)
    problem(api.post("/api/v1/waitlist", headers=beta, json={"client_id": client_id, **criteria}), 404, "not_found")
    problem(api.post("/api/v1/waitlist", headers=alpha, json={"client_id": str(uuid4()), **criteria}),
            404, "not_found")
    problem(api.post("/api/v1/waitlist", headers=alpha,
                     json={"client_id": client_id, "clinician_id": str(uuid4()), **criteria}), 404, "not_found")
    entry = join(api, alpha, client_id, **criteria)
    problem(api.request("DELETE", f"/api/v1/waitlist/{entry['id']}", headers=beta,
                        json={"reason_code": "hijacked"}), 404, "not_found")
    problem(api.post(f"/api/v1/waitlist/{entry['id']}/decline", headers=beta), 404, "not_found")
    assert entry["id"] not in listed(api, beta, entry["position"])
    assert listed(api, alpha, entry["position"])[entry["id"]]["status"] == "waiting"


def test_caseload_and_portal_roles_see_their_own_clients_entries_only(
    api: TestClient, token: Any, container: Any
) -> None:
    actor = f"wl-clin-{uuid4().hex[:6]}"
    clinician = token("clinician", actor=actor)
    admin = token("admin")
    mine = register(api, clinician)  # the registering clinician joins the care team
    other = register(api, admin)
    my_entry = join(api, clinician, mine, **window(container))
    other_entry = join(api, admin, other, **window(container))
    problem(api.post("/api/v1/waitlist", headers=clinician, json={"client_id": other, **window(container)}),
            403, "outside_caseload")

    seen = listed(api, clinician, other_entry["position"])
    assert my_entry["id"] in seen and other_entry["id"] not in seen
    everyone = listed(api, token("front_desk"), other_entry["position"])
    assert {my_entry["id"], other_entry["id"]} <= set(everyone)

    portal = token("client", actor=f"wl-portal-{uuid4().hex[:6]}", clients=[UUID(other)])
    assert set(listed(api, portal, other_entry["position"])) == {other_entry["id"]}
    problem(api.post("/api/v1/waitlist", headers=portal, json={"client_id": other, **window(container)}),
            403, "permission_denied")
    problem(api.post(f"/api/v1/waitlist/{my_entry['id']}/decline", headers=portal), 403, "permission_denied")
    problem(api.request("DELETE", f"/api/v1/waitlist/{other_entry['id']}", headers=clinician,
                        json={"reason_code": "not_mine"}), 403, "outside_caseload")


def test_a_freed_slot_is_offered_and_a_decline_passes_it_on(api: TestClient, container: Any) -> None:
    """In a practice of its own, so no other test's entry stands earlier in line."""
    slug = f"wl-{uuid4().hex[:6]}"
    zone = "America/Chicago"
    pid = setup_practice(container, slug, zone)
    desk = bearer(container, ensure_member(container, slug, "front_desk", f"desk@{slug}.test"))
    admin = bearer(container, ensure_member(container, slug, "admin", f"admin@{slug}.test"))
    dr = ensure_member(container, slug, "clinician", f"dr@{slug}.test")
    tz = ZoneInfo(zone)
    first_day = today(container, tz)
    criteria = {"earliest_date": first_day.isoformat(), "latest_date": (first_day + timedelta(days=30)).isoformat()}
    first = join(api, desk, register(api, admin), clinician_id=str(dr), **criteria)
    second = join(api, desk, register(api, admin), **criteria)

    start = datetime.combine(first_day + timedelta(days=7), time(10), tz)
    with audit.acting(audit.system("system:test", practice_id=pid)):
        offered = container.waitlist.offer_freed_slot(pid, dr, "therapy_session", start, start + timedelta(hours=1))
    assert offered == UUID(first["id"])

    position = container.store.recorder.max_notification_id()
    entry = listed(api, desk, position, status="offered")[first["id"]]
    slot = entry["offer"]
    assert datetime.fromisoformat(slot["starts_at"]) == start
    assert datetime.fromisoformat(slot["starts_at"]).utcoffset() == start.utcoffset()  # practice-local
    assert slot["clinician_id"] == str(dr) and slot["appointment_type"] == "therapy_session"

    r = api.post(f"/api/v1/waitlist/{first['id']}/decline", headers=desk)
    assert r.status_code == 200, r.text
    assert r.json()["offered_to"] == second["id"]
    after = listed(api, desk, r.json()["position"])
    assert after[first["id"]]["status"] == "waiting" and after[first["id"]]["last_offer_outcome"] == "declined"
    assert after[second["id"]]["status"] == "offered"
    problem(api.post(f"/api/v1/waitlist/{first['id']}/decline", headers=desk), 409, "no_open_offer")
