"""GET /api/v1/metrics/...: periods, the response, and who may read whose metrics."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from application import audit
from domain.scheduling.appointment import Appointment
from domain.scheduling.schedule import ClinicianSchedule
from tests.interfaces.conftest import member_id, practice

NEW_YORK = ZoneInfo("America/New_York")
WEEK = [date(2026, 10, 12) + timedelta(days=i) for i in range(7)]
H24 = timedelta(hours=24)


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code, body
    return body


def record_week(container: Any, clinician: UUID) -> int:
    """Hours Monday to Friday 09:00-17:00; Monday: two visits completed, one no-show, one late
    cancellation. Returns the log position of the last save."""
    pid = practice("alpha")
    position = 0
    with audit.acting(audit.system("system:test", practice_id=pid)):
        schedule = ClinicianSchedule.open(pid, clinician)
        schedule.set_working_hours({d: [(time(9), time(17))] for d in range(5)})
        saved: list[Any] = [schedule]
        for hour, outcome in ((9, "complete"), (10, "complete"), (11, "no_show"), (14, "cancel")):
            start = datetime.combine(WEEK[0], time(hour), NEW_YORK)
            visit = Appointment.book(pid, uuid4(), clinician, "therapy_session", "telehealth", start,
                                     start + timedelta(minutes=60), booked_at=start - timedelta(days=7))
            if outcome == "complete":
                visit.complete(now=start + timedelta(hours=1))
            elif outcome == "no_show":
                visit.mark_no_show(now=start + timedelta(minutes=20))
            else:
                visit.cancel("client", "illness", now=start - timedelta(hours=3), late_window=H24)
            saved.append(visit)
        for aggregate in saved:
            position = max(r.notification.id for r in container.store.save(aggregate))
    return position


def metrics(api: TestClient, headers: dict[str, str], clinician: UUID | str | None, **params: Any) -> Any:
    path = "/api/v1/metrics/practice" if clinician is None else f"/api/v1/metrics/clinicians/{clinician}"
    return api.get(path, params=params, headers=headers)


def test_a_clinicians_week_in_full(api: TestClient, token: Any, container: Any) -> None:
    headers = token("clinician", actor="metrics-shape")
    me = member_id("clinician", actor="metrics-shape")
    position = record_week(container, me)
    r = metrics(api, headers, me, period="week", start="2026-10-14", min_position=position)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("clinician_id", "period", "start", "end", "time_zone")} == {
        "clinician_id": str(me), "period": "week", "start": "2026-10-12", "end": "2026-10-18",
        "time_zone": "America/New_York",
    }
    assert body["counts"] == {
        "scheduled": 4, "completed": 2, "no_shows": 1, "cancelled": 1, "late_cancelled": 1, "early_cancelled": 0,
        "open": 0, "rebooked": 0, "working_days": 5, "available_minutes": 2400, "booked_minutes": 180,
        "available_prime_minutes": 1920, "booked_prime_minutes": 180, "bookings": 0,
    }
    assert list(body["metrics"]) == [
        "kept_visit_rate", "no_show_rate", "cancellation_rate", "late_cancellation_rate", "rebook_rate",
        "sessions_per_day", "schedule_fill_rate", "prime_time_utilization", "average_lead_time",
    ]
    assert body["metrics"]["kept_visit_rate"] == {
        "name": "Kept Visit Rate (KVR)", "value": "50.0", "numerator": "2", "denominator": "4",
        "benchmark": ">= 85%", "status": "alert", "formula": "completed / scheduled x 100", "unit": "percent",
    }
    m = body["metrics"]
    assert (m["no_show_rate"]["value"], m["no_show_rate"]["status"]) == ("25.0", "alert")
    assert (m["late_cancellation_rate"]["value"], m["late_cancellation_rate"]["status"]) == ("25.0", "no_benchmark")
    assert (m["sessions_per_day"]["value"], m["sessions_per_day"]["denominator"]) == ("0.4", "5")
    assert (m["schedule_fill_rate"]["value"], m["prime_time_utilization"]["value"]) == ("7.5", "9.4")
    assert m["average_lead_time"] == {
        "name": "Average Appointment Lead Time", "value": None, "numerator": "0", "denominator": "0",
        "benchmark": "7-14 days", "status": "no_data",
        "formula": "sum of (start - booked at) in days / appointments booked", "unit": "days",
    }

    # The day and the month around it; and the practice, which includes this clinician.
    day = metrics(api, headers, me, period="day", start="2026-10-12").json()
    assert (day["start"], day["end"], day["counts"]["scheduled"], day["counts"]["working_days"]) == (
        "2026-10-12", "2026-10-12", 4, 1)
    month = metrics(api, headers, me, period="month", start="2026-10-31").json()
    assert (month["start"], month["end"], month["counts"]["completed"]) == ("2026-10-01", "2026-10-31", 2)
    whole = metrics(api, headers, None, period="week", start="2026-10-12")
    assert whole.status_code == 200, whole.text
    assert whole.json()["clinician_id"] is None and whole.json()["counts"]["completed"] >= 2
    # Without a start: the period containing today, practice time.
    today = container.clock.now().astimezone(NEW_YORK).date()
    assert metrics(api, headers, me, period="day").json()["start"] == today.isoformat()


def test_periods_are_validated(api: TestClient, token: Any) -> None:
    headers = token("front_desk")
    me = member_id("front_desk")
    problem(metrics(api, headers, me, period="year"), 422, "validation_failed")
    problem(metrics(api, headers, me, period="week", start="2026-02-30"), 422, "validation_failed")
    problem(metrics(api, headers, me, period="week", start="14/10/2026"), 422, "validation_failed")
    problem(metrics(api, headers, me, period="month", start="9999-12-15"), 422, "invalid_command")
    problem(metrics(api, headers, None, period="week", min_position=-1), 422, "validation_failed")
    feb = metrics(api, headers, None, period="month", start="2028-02-14").json()
    assert (feb["start"], feb["end"]) == ("2028-02-01", "2028-02-29")
    sunday = metrics(api, headers, me, period="week", start="2026-03-15").json()
    assert (sunday["start"], sunday["end"]) == ("2026-03-09", "2026-03-15")


def test_who_may_read_whose_metrics(api: TestClient, token: Any, container: Any) -> None:
    admin = token("admin")
    own = token("clinician", actor="metrics-own")
    own_id = member_id("clinician", actor="metrics-own")
    token("clinician", actor="metrics-other")  # a member of the practice, outside this team
    other_id = member_id("clinician", actor="metrics-other")
    supervisor = token("supervisor", actor="metrics-supervisor")
    supervisor_id = member_id("supervisor", actor="metrics-supervisor")
    link = api.put(f"/api/v1/members/{own_id}/supervisor", json={"supervisor_id": str(supervisor_id)}, headers=admin)
    assert link.status_code == 200, link.text
    for _ in range(20):  # the supervisor's team comes from the member directory
        if api.get("/api/v1/members", params={"min_position": link.json()["position"]}, headers=admin).status_code == 200:
            break
    position = link.json()["position"]
    supervisor = token("supervisor", actor="metrics-supervisor")  # a new session sees the new team

    assert metrics(api, own, own_id, min_position=position).status_code == 200
    problem(metrics(api, own, other_id), 403, "outside_team")
    problem(metrics(api, own, supervisor_id), 403, "outside_team")  # supervision looks down, not up
    problem(metrics(api, own, uuid4()), 404, "not_found")
    assert metrics(api, supervisor, supervisor_id).status_code == 200
    assert metrics(api, supervisor, own_id).status_code == 200
    problem(metrics(api, supervisor, other_id), 403, "outside_team")
    for role in ("front_desk", "billing", "admin", "owner"):
        assert metrics(api, token(role), other_id).status_code == 200, role
    # Practice totals: every role that views the team.
    for headers in (own, supervisor, token("care_team", actor="metrics-care")):
        assert metrics(api, headers, None).status_code == 200
    # Portal members and external caregivers do not view the team at all.
    for role in ("client", "family_member", "external_caregiver"):
        denied = problem(metrics(api, token(role, actor=f"metrics-{role}"), own_id), 403, "permission_denied")
        assert "view_team" in denied["detail"]
        problem(metrics(api, token(role, actor=f"metrics-{role}"), None), 403, "permission_denied")
    # Another practice's clinician does not exist for this one, whatever the role.
    beta_admin = token("admin", "beta")
    problem(metrics(api, beta_admin, own_id), 404, "not_found")
    problem(metrics(api, admin, member_id("admin", "beta"), min_position=position), 404, "not_found")
    beta_week = metrics(api, beta_admin, None, period="week", start="2026-10-12").json()
    assert beta_week["time_zone"] == "Europe/London" and beta_week["counts"]["scheduled"] == 0
