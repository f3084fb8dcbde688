"""Booking through the API: slots, the lifecycle, gates, series, calendars."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.interfaces.scheduling_support import at, book, client, clinician, monday_in


def test_book_then_walk_the_lifecycle(api: TestClient, token: Any, container: Any) -> None:
    desk = token("front_desk")
    doc, person = clinician(api, token), client(api, token)
    day = monday_in(2)
    r = book(api, desk, person, doc, at(day, 10))
    assert r.status_code == 201, r.text
    appointment_id = r.json()["id"]
    r = api.get(f"/api/v1/appointments/{appointment_id}", headers=desk)
    assert r.status_code == 200 and r.json()["status"] == "scheduled"
    assert r.json()["ends_at"] == (at(day, 10) + timedelta(minutes=53)).astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")
    assert api.post(f"/api/v1/appointments/{appointment_id}/confirm", headers=desk).status_code == 200
    r = api.post(f"/api/v1/appointments/{appointment_id}/confirm", headers=desk)
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    r = api.post(f"/api/v1/appointments/{appointment_id}/complete", headers=desk)
    assert r.status_code == 409 and r.json()["code"] == "appointment_not_started"
    r = api.post(f"/api/v1/appointments/{appointment_id}/cancel", headers=desk,
                 json={"by": "client", "reason_code": "illness"})
    assert r.status_code == 200, r.text
    r = api.get(f"/api/v1/appointments/{appointment_id}", headers=desk)
    assert r.json()["status"] == "cancelled" and r.json()["late"] is False and r.json()["cancelled_by"] == "client"
    # the time is free again
    assert book(api, desk, person, doc, at(day, 10)).status_code == 201


def test_slots_honour_hours_breaks_bookings_and_the_callers_zone(api: TestClient, token: Any) -> None:
    desk = token("front_desk")
    doc, person = clinician(api, token), client(api, token)
    day = monday_in(2)
    params = {"clinician_id": doc, "from": day.isoformat(), "to": day.isoformat(),
              "appointment_type": "follow_up", "step_minutes": 30}
    before = api.get("/api/v1/slots", params=params, headers=desk).json()["slots"]
    starts = [datetime.fromisoformat(s["starts_at"]) for s in before]
    assert starts[0] == at(day, 9) and at(day, 12) not in starts and at(day, 16, 30) in starts
    assert book(api, desk, person, doc, at(day, 10), "follow_up").status_code == 201
    after = api.get("/api/v1/slots", params=params, headers=desk).json()["slots"]
    # 10:00 taken; 10:30 too (the 10-minute buffer after the 30-minute visit reaches 10:40)
    assert {at(day, 10), at(day, 10, 30)} & {datetime.fromisoformat(s["starts_at"]) for s in after} == set()
    london = api.get("/api/v1/slots", params={**params, "tz": "Europe/London"}, headers=desk).json()
    assert london["time_zone"] == "Europe/London"
    assert london["slots"][0]["starts_at"].endswith(("+00:00", "Z")) or "+01:00" in london["slots"][0]["starts_at"]
    assert datetime.fromisoformat(london["slots"][0]["starts_at"]) == at(day, 9)
    r = api.get("/api/v1/slots", params={**params, "tz": "Mars/Olympus"}, headers=desk)
    assert r.status_code == 422 and r.json()["field"] == "tz"


def test_double_booking_and_outside_hours_are_refused(api: TestClient, token: Any) -> None:
    desk = token("front_desk")
    doc, person, other = clinician(api, token), client(api, token), client(api, token)
    day = monday_in(3)
    assert book(api, desk, person, doc, at(day, 14)).status_code == 201
    r = book(api, desk, other, doc, at(day, 14, 30))
    assert r.status_code == 409 and r.json()["code"] == "slot_taken"
    r = book(api, desk, other, doc, at(day, 12, 15))
    assert r.status_code == 422 and r.json()["code"] == "outside_working_hours"
    r = book(api, desk, other, doc, at(day + timedelta(days=5), 10))  # Saturday
    assert r.status_code == 422
    assert book(api, desk, other, doc, at(day + timedelta(days=5), 10), allow_outside_hours=True).status_code == 201


def test_consent_gates_name_what_is_missing(api: TestClient, token: Any) -> None:
    desk = token("front_desk")
    doc = clinician(api, token)
    day = monday_in(2)
    minor = client(api, token, born=(datetime.now().date() - timedelta(days=365 * 12)).isoformat())
    r = book(api, desk, minor, doc, at(day, 9), modality="telehealth")
    assert r.status_code == 422 and r.json()["code"] == "consents_missing"
    assert r.json()["missing"] == ["guardian_consent", "telehealth_consent"]
    nobody = client(api, token, consents=())
    r = book(api, desk, nobody, doc, at(day, 11))
    assert r.status_code == 422 and r.json()["missing"] == ["informed_consent"]
    ok = client(api, token, consents=("informed_consent", "telehealth_consent"))
    assert book(api, desk, ok, doc, at(day, 15), modality="telehealth").status_code == 201


def test_a_series_is_all_or_nothing_and_can_be_cut_short(api: TestClient, token: Any) -> None:
    desk = token("front_desk")
    doc, person, other = clinician(api, token), client(api, token), client(api, token)
    first = monday_in(2)
    blocker = book(api, desk, other, doc, at(first + timedelta(weeks=2), 10))
    assert blocker.status_code == 201
    series = {"client_id": person, "clinician_id": doc, "appointment_type": "therapy_session",
              "first_day": first.isoformat(), "start_time": "10:00", "frequency": "weekly", "count": 4}
    r = api.post("/api/v1/appointments/series", json=series, headers=desk)
    assert r.status_code == 409 and r.json()["code"] == "series_conflicts"
    assert [c["starts_at"] for c in r.json()["conflicts"]] == [at(first + timedelta(weeks=2), 10).astimezone(ZoneInfo("UTC")).isoformat()]
    assert api.post(f"/api/v1/appointments/{blocker.json()['id']}/cancel", headers=desk,
                    json={"by": "practice", "reason_code": "moved"}).status_code == 200
    r = api.post("/api/v1/appointments/series", json=series, headers=desk)
    assert r.status_code == 201, r.text
    ids = r.json()["appointment_ids"]
    assert len(ids) == 4
    r = api.post(f"/api/v1/appointments/{ids[2]}/cancel-series", headers=desk,
                 json={"by": "client", "reason_code": "ending_treatment"})
    assert r.status_code == 200 and r.json() == ids[2:]
    statuses = [api.get(f"/api/v1/appointments/{i}", headers=desk).json()["status"] for i in ids]
    assert statuses == ["scheduled", "scheduled", "cancelled", "cancelled"]


def test_reschedule_links_both_ways_and_frees_the_old_time(api: TestClient, token: Any, container: Any) -> None:
    desk = token("front_desk")
    doc, person, other = clinician(api, token), client(api, token), client(api, token)
    day = monday_in(2)
    old = book(api, desk, person, doc, at(day, 9)).json()["id"]
    r = api.post(f"/api/v1/appointments/{old}/reschedule", headers=desk,
                 json={"starts_at": at(day, 15).isoformat(), "by": "client", "reason_code": "work"})
    assert r.status_code == 201, r.text
    new = r.json()["id"]
    assert api.get(f"/api/v1/appointments/{old}", headers=desk).json()["replacement_id"] == new
    assert api.get(f"/api/v1/appointments/{new}", headers=desk).json()["rescheduled_from"] == old
    assert book(api, desk, other, doc, at(day, 9)).status_code == 201
    container.runner("appointments").catch_up()
    history = api.get(f"/api/v1/clients/{person}/appointments", headers=desk).json()
    assert [(h["id"], h["status"]) for h in history] == [(old, "rescheduled"), (new, "scheduled")]
    assert history[0]["client_name"].startswith("Sam Booker")


def test_calendars_and_scope(api: TestClient, token: Any, container: Any) -> None:
    desk = token("front_desk")
    doc, person = clinician(api, token, actor="cal-doc"), client(api, token)
    day = monday_in(2)
    booked = book(api, desk, person, doc, at(day, 9))
    assert booked.status_code == 201
    position = booked.json()["position"]
    r = api.get(f"/api/v1/calendar/clinicians/{doc}", params={"view": "week", "date": day.isoformat(),
                                                              "min_position": position}, headers=desk)
    assert r.status_code == 200, r.text
    assert [e["client_id"] for e in r.json()["entries"]] == [person]
    own = api.get(f"/api/v1/calendar/clinicians/{doc}", params={"date": day.isoformat()},
                  headers=token("clinician", actor="cal-doc"))
    assert own.status_code == 200 and len(own.json()["entries"]) == 1
    r = api.get(f"/api/v1/calendar/clinicians/{doc}", headers=token("clinician", actor="cal-other"))
    assert r.status_code == 403 and r.json()["code"] == "outside_team"
    month = api.get("/api/v1/calendar/practice", params={"view": "month", "date": day.isoformat()}, headers=desk)
    assert booked.json()["id"] in {e["id"] for e in month.json()["entries"]}
    r = api.get("/api/v1/front-desk/today", params={"date": day.isoformat()}, headers=token("clinician", actor="cal-doc"))
    assert r.status_code == 200 and [e["id"] for e in r.json()["entries"]] == [booked.json()["id"]]
    r = api.get("/api/v1/front-desk/today", params={"date": day.isoformat()}, headers=token("clinician", actor="cal-other"))
    assert r.status_code == 200 and r.json()["entries"] == []


def test_bad_input_is_a_clear_problem_and_changes_nothing(api: TestClient, token: Any) -> None:
    desk = token("front_desk")
    doc, person = clinician(api, token), client(api, token)
    day = monday_in(2)
    r = api.post("/api/v1/appointments", headers=desk, json={
        "client_id": person, "clinician_id": doc, "appointment_type": "therapy_session",
        "starts_at": "2026-12-01T10:00:00"})
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    r = book(api, desk, person, doc, at(day, 10), "no_such_type")
    assert r.status_code == 422 and r.json()["field"] == "appointment_type"
    r = book(api, desk, person, person, at(day, 10))
    assert r.status_code == 404
    r = book(api, desk, person, doc, datetime.now(ZoneInfo("UTC")) - timedelta(days=1))
    assert r.status_code == 422
    r = api.post("/api/v1/appointments", headers={**desk, "content-type": "application/json"}, content=b"{")
    assert r.status_code == 400
    beta_client = client(api, token, practice="beta")
    r = book(api, desk, beta_client, doc, at(day, 10))
    assert r.status_code == 404


def test_a_visit_left_open_a_day_is_flagged_once_for_the_front_desk(
    api: TestClient, token: Any, container: Any
) -> None:
    from uuid import UUID

    from adapters.clock import FrozenClock
    from application import audit
    from application.scheduling.booking import Booking, SchedulingService
    from interfaces.sweeps import flag_unrecorded_visits
    from tests.interfaces.conftest import practice

    doc, person = clinician(api, token), client(api, token)
    start = at(monday_in(-1), 10)
    then = FrozenClock(start - timedelta(days=3))
    with audit.acting(audit.system("system:test", practice_id=practice("alpha"))):
        saved = SchedulingService(container.store, then).book(
            practice("alpha"), Booking(UUID(person), UUID(doc), "therapy_session", start))
    flag_unrecorded_visits(container)
    assert flag_unrecorded_visits(container) == 0  # once only
    board = api.get("/api/v1/front-desk/today", headers=token("front_desk")).json()
    assert str(saved.id) in {e["id"] for e in board["unrecorded"]}
    r = api.get(f"/api/v1/appointments/{saved.id}", headers=token("front_desk"))
    assert r.json()["attendance_unrecorded"] is True and r.json()["status"] == "scheduled"
    # recording the attendance clears it from the board
    assert api.post(f"/api/v1/appointments/{saved.id}/complete", headers=token("front_desk")).status_code == 200
    container.runner("appointments").catch_up()
    board = api.get("/api/v1/front-desk/today", headers=token("front_desk")).json()
    assert str(saved.id) not in {e["id"] for e in board["unrecorded"]}
