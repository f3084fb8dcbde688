"""GET /api/v1/dashboards/... and /api/v1/metrics/documentation over HTTP, on an app of its own
whose clock stands still on Thursday 19 March 2026, noon in New York: exact numbers for the
scripted practice of tests/projections/test_documentation_metrics.py, the status of each
clinician, whose numbers each caller gets, and isolation between practices."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FrozenClock
from application.billing.fee_schedules import FeeChange
from domain.identity.membership import Membership
from interfaces.container import Container
from interfaces.http.app import create_app
from tests.interfaces.conftest import PASSWORD, bearer
from tests.projections.compliance_script import ComplianceScript
from tests.projections.test_documentation_metrics import Practice, build_practice, signed_visit

NOW = datetime(2026, 3, 19, 12, 0, tzinfo=ZoneInfo("America/New_York"))
TRAINED_ON = date(2026, 1, 30)


@dataclass
class Scene:
    k: Any
    api: TestClient
    p: Practice
    tokens: dict[str, dict[str, str]]
    other: ComplianceScript
    other_clinician: UUID

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.api.get(path, params=params, headers=self.tokens[who])

    def ok(self, who: str, path: str, **params: Any) -> Any:
        r = self.get(who, path, **params)
        assert r.status_code == 200, r.text
        return r.json()


def provisioned(k: Any, s: ComplianceScript, role: str, name: str, license_type: str | None = None,
                supervisor: UUID | None = None) -> UUID:
    with s.acting():
        member_id: UUID = k.members.provision(s.practice_id, f"{uuid4().hex[:10]}@example.org", name, role, PASSWORD,
                                              license_type=license_type, hipaa_training_on=TRAINED_ON)
    if supervisor is not None:
        m = s.load(member_id, Membership)
        m.assign_supervisor(s.load(supervisor, Membership))
        s.save(m)
    return member_id


@pytest.fixture(scope="module")
def scene(database_url: str) -> Iterator[Scene]:
    k = Container(database_url=database_url)
    k.clock = FrozenClock(NOW)  # before any service captures it
    try:
        s = ComplianceScript(k)
        s.trained_on = TRAINED_ON
        supervisor = provisioned(k, s, "supervisor", "Sam Supervisor", "LCSW")
        a = provisioned(k, s, "clinician", "Avery Adams", "LPC-Associate", supervisor)
        b = provisioned(k, s, "clinician", "Blake Brown", "LMSW", supervisor)
        c = s.member("clinician", "LCSW", trained=False)  # "Staff Member"
        admin = provisioned(k, s, "admin", "Alex Admin")
        p = build_practice(s, supervisor, a, b, c, admin)
        bill(k, p)

        other = ComplianceScript(k)
        other.trained_on = TRAINED_ON
        other_admin = provisioned(k, other, "admin", "Olive Other")
        other_clinician = provisioned(k, other, "clinician", "Oscar Other", "LCSW")
        client = other.client(other_clinician, consent_on=date(2026, 2, 1))
        signed_visit(other, other_clinician, client, date(2026, 3, 16))
        other.tick(NOW.date())
        for name in ("members", "attendance_metrics", "compliance", "billing_ledger", "invoices", "remittances",
                     "billing_reports"):  # only what the dashboards read
            k.runner(name).catch_up()
        tokens = {name: bearer(k, member) for name, member in (
            ("a", a), ("b", b), ("supervisor", supervisor), ("admin", admin), ("other_admin", other_admin))}
        with TestClient(create_app(k), raise_server_exceptions=False) as api:
            yield Scene(k, api, p, tokens, other, other_clinician)
    finally:
        k.close()


def bill(k: Any, p: Practice) -> None:
    """March's billing: Avery's client charged 150.00 twice and paying 100.00 in cash, Blake's once;
    nothing for Sam or the unsupervised clinician."""
    s = p.s
    with s.acting():
        k.fee_schedules.update(s.practice_id, fees=[FeeChange("90837", Decimal("150.00"), date(2026, 1, 1))])
        charged = [
            k.charges.enter(s.practice_id, client, clinician_id=clinician, service_date=day, cpt="90837",
                            diagnosis_codes=["F41.1"], payer=None).id
            for client, clinician, day in ((p.clients["a1"], p.a, date(2026, 3, 10)),
                                           (p.clients["a2"], p.a, date(2026, 3, 12)),
                                           (p.clients["b1"], p.b, date(2026, 3, 16)))]
        cash = k.payments.receive(s.practice_id, method="cash", amount=Decimal("100.00"), client_id=p.clients["a1"])
        k.payments.apply(s.practice_id, cash.id, target="charge", target_id=charged[0], amount=Decimal("100.00"))


def m(value: str | None, numerator: str, denominator: str, status: str) -> tuple[Any, ...]:
    return value, numerator, denominator, status


def got(metric: dict[str, Any]) -> tuple[Any, ...]:
    return metric["value"], metric["numerator"], metric["denominator"], metric["status"]


def problem(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.json()


def test_my_practice_is_the_caller_s_own(scene: Scene) -> None:
    p = scene.p
    body = scene.ok("a", "/api/v1/dashboards/my-practice")
    assert (body["clinician_id"], body["name"], body["time_zone"], body["as_of"]) == (
        str(p.a), "Avery Adams", "America/New_York", "2026-03-19T12:00:00-04:00")
    assert body["revenue"] is None
    week = body["this_week"]
    assert week["period"] == {"period": "week", "start": "2026-03-16", "end": "2026-03-22"}
    assert (week["sessions_completed"], week["sessions_scheduled"], week["no_shows"], week["cancellations"]) == (
        2, 5, 1, 1)
    assert week["kept_visit_rate"] == {
        "name": "Kept Visit Rate (KVR)", "value": "40.0", "numerator": "2", "denominator": "5",
        "benchmark": ">= 85%", "status": "alert", "formula": "completed / scheduled x 100", "unit": "percent",
    }
    assert got(week["no_show_rate"]) == m("20.0", "1", "5", "alert")
    assert got(week["cancellation_rate"]) == m("20.0", "1", "5", "watch")
    unsigned = week["unsigned_notes"]
    assert (unsigned["count"], unsigned["oldest_session_date"], unsigned["oldest_age_days"]) == (2, "2026-03-10", 9)
    assert got(unsigned["past_7_days"]) == m("1", "1", "1", "watch")

    docs = body["documentation"]
    assert docs["period"]["period"] == "week" and docs["notes_pending_signature"] == 2
    assert got(docs["same_day_documentation_rate"]) == m("50.0", "1", "2", "alert")
    assert docs["average_documentation_time"]["unit"] == "hours"
    assert got(docs["average_documentation_time"]) == m("4.0", "4", "1", "on_target")
    assert got(docs["unsigned_note_backlog"]) == m("1", "1", "1", "watch")
    assert got(docs["treatment_plan_currency"]) == m("20.0", "1", "5", "alert")

    engagement = body["client_engagement"]
    assert engagement["period"] == {"period": "month", "start": "2026-03-01", "end": "2026-03-31"}
    assert got(engagement["rebook_rate"]) == m("80.0", "4", "5", "on_target")
    assert got(engagement["client_retention_90"]) == m("50.0", "1", "2", "alert")
    assert engagement["active_clients"] == 5

    alerts = body["alerts_and_nudges"]["alerts"]
    assert {a["clinician_id"] for a in alerts} == {str(p.a)}
    assert sorted((a["rule_code"], a["step"]) for a in alerts) == [
        ("ESC-OVERDUE-NOTE", "escalation"), ("GA-INFORMED-CONSENT", "alert"), ("GA-INFORMED-CONSENT", "alert"),
        ("GA-MINOR-CONSENT", "missing"), ("GA-NOTE-SIGNATURE", "supervisor_alert"),
        ("GA-PLAN-REVIEW", "out_of_compliance"), ("GA-SAFETY-PLAN", "missing"),
        ("GA-SUPERVISION-HOURS", "shortfall"), ("GA-SUPERVISION-NOTE", "overdue"),
    ]
    nudges = body["alerts_and_nudges"]["nudges"]
    assert [(n["metric"], n["status"]) for n in nudges] == [
        ("notes_pending_signature", "watch"), ("kept_visit_rate", "alert"), ("same_day_documentation_rate", "alert"),
        ("unsigned_note_backlog", "watch"), ("treatment_plan_currency", "alert"), ("client_retention_90", "alert"),
    ]
    assert nudges[0]["message"] == "2 notes pending signature (oldest: 9 days)."
    assert nudges[1]["message"] == "Kept Visit Rate (KVR) 40.0% (benchmark >= 85%)."

    other = scene.ok("b", "/api/v1/dashboards/my-practice")
    assert other["clinician_id"] == str(p.b) and other["alerts_and_nudges"]["alerts"][0]["rule_code"] == (
        "GA-TELEHEALTH-CONSENT")
    assert got(other["documentation"]["same_day_documentation_rate"]) == m("100.0", "3", "3", "on_target")
    assert other["this_week"]["unsigned_notes"]["oldest_age_days"] is None


def test_a_supervisor_s_team_is_their_supervisees(scene: Scene) -> None:
    p = scene.p
    body = scene.ok("supervisor", "/api/v1/dashboards/my-team")
    assert (body["scope"], body["period"]) == (
        "supervisees", {"period": "month", "start": "2026-03-01", "end": "2026-03-31"})
    rows = {row["name"]: row for row in body["team"]}
    assert list(rows) == ["Avery Adams", "Blake Brown"]
    a, b = rows["Avery Adams"], rows["Blake Brown"]
    assert (a["clinician_id"], a["license_type"], a["status"]) == (str(p.a), "LPC-Associate", "urgent")
    assert got(a["kept_visit_rate"]) == m("62.5", "5", "8", "alert")
    assert got(a["no_show_rate"]) == m("12.5", "1", "8", "watch")
    assert got(a["same_day_documentation_rate"]) == m("40.0", "2", "5", "alert")
    assert (a["unsigned_notes"]["count"], a["unsigned_notes"]["oldest_age_days"]) == (2, 9)
    assert b["status"] == "review"  # KVR 83.3% is outside the 85% benchmark, above the 80% alert
    assert got(b["kept_visit_rate"]) == m("83.3", "5", "6", "watch")
    assert got(b["no_show_rate"]) == m("0.0", "0", "6", "on_target")
    assert got(b["same_day_documentation_rate"]) == m("100.0", "5", "5", "on_target")
    assert got(b["unsigned_notes"]["past_7_days"]) == m("0", "0", "1", "on_target")

    team = body["team_metrics"]  # sums of numerators and denominators, not averages of rates
    assert got(team["kept_visit_rate"]) == m("71.4", "10", "14", "alert")
    assert got(team["no_show_rate"]) == m("7.1", "1", "14", "on_target")
    assert got(team["same_day_documentation_rate"]) == m("70.0", "7", "10", "alert")
    assert (team["unsigned_notes"], got(team["unsigned_note_backlog"])) == (2, m("1", "1", "1", "watch"))

    assert [(c["name"], c["kind"], c["metric"]) for c in body["coaching_opportunities"]] == [
        ("Avery Adams", "urgent", "kept_visit_rate"), ("Avery Adams", "urgent", "same_day_documentation_rate"),
        ("Avery Adams", "urgent", "unsigned_note_backlog"), ("Avery Adams", "review", "no_show_rate"),
        ("Blake Brown", "review", "kept_visit_rate"),
    ]
    backlog = body["coaching_opportunities"][2]
    assert backlog["message"] == ("1 note unsigned 7 days or more (oldest: 9 days): Georgia compliance risk: sign "
                                  "the notes past 7 days.")

    hours = [(x["name"], x["license_type"], x["hours_logged"], x["hours_required"], x["hours_remaining"],
              x["month_end"], got(x["metric"])) for x in body["supervision_hours"]]
    assert hours == [
        ("Avery Adams", "LPC-Associate", "1.5", "2", "0.5", "2026-03-31", m("75.0", "1.5", "2", "watch")),
        ("Blake Brown", "LMSW", "4", "4", "0", "2026-03-31", m("100.0", "4", "4", "on_target")),
    ]
    assert got(body["supervision_total"]) == m("91.7", "5.5", "6", "watch")
    assert len(body["alerts"]) == 10
    assert {a["clinician_id"] for a in body["alerts"]} == {str(p.a), str(p.b)}


def test_an_administrator_s_team_is_every_clinician(scene: Scene) -> None:
    p = scene.p
    body = scene.ok("admin", "/api/v1/dashboards/my-team")
    assert body["scope"] == "practice"
    assert [(row["name"], row["status"]) for row in body["team"]] == [
        ("Avery Adams", "urgent"), ("Blake Brown", "review"), ("Sam Supervisor", "on_track"),
        ("Staff Member", "on_track"),
    ]
    sam = body["team"][2]
    assert got(sam["kept_visit_rate"]) == m(None, "0", "0", "no_data")
    assert got(body["team_metrics"]["kept_visit_rate"]) == m("73.3", "11", "15", "alert")
    assert got(body["team_metrics"]["same_day_documentation_rate"]) == m("72.7", "8", "11", "alert")
    recognition = [(c["clinician_id"], c["message"]) for c in body["coaching_opportunities"]
                   if c["kind"] == "recognition"]
    assert recognition == [(str(p.c), "Meets every benchmark: recognition opportunity.")]
    assert len(body["alerts"]) == 12  # the whole practice's


def test_practice_overview(scene: Scene) -> None:
    p = scene.p
    body = scene.ok("admin", "/api/v1/dashboards/practice-overview")
    card = body["scorecard"]
    assert (card["period"]["start"], card["previous_period"]) == (
        "2026-03-01", {"period": "month", "start": "2026-02-01", "end": "2026-02-28"})
    assert got(card["kept_visit_rate"]) == m("73.3", "11", "15", "alert")
    assert got(card["kept_visit_rate_last_month"]) == m("100.0", "1", "1", "on_target")
    assert (card["trend"], card["change_points"]) == ("down", "-26.7")
    revenue = card["revenue"]
    assert (revenue["charges"], revenue["collections"], revenue["outstanding_ar"]) == ("450.00", "100.00", "350.00")
    # Entered on the 19th for visits of the 10th, 12th and 16th; none of the 11 completed visits has a
    # charge (these were entered without their appointment); 350.00 open over 450.00 in 19 days.
    assert {code: got(metric) for code, metric in revenue["metrics"].items()} == {
        "charge_entry_lag": m("6.3", "19", "3", "alert"),
        "charge_entry_lag_median": m("7.0", "7", "1", "alert"),
        "billing_compliance_rate": m("0.0", "0", "11", "alert"),
        "claim_acceptance_rate": m(None, "0", "0", "no_data"),
        "average_reimbursement_per_session": m("100.00", "100.00", "1", "no_benchmark"),
        "days_in_ar": m("14.8", "350.00", "23.68", "on_target"),
        "collection_rate": m("22.2", "100.00", "450.00", "alert"),
    }
    assert revenue["metrics"]["charge_entry_lag"]["name"] == "Charge Entry Lag"

    matrix = {row["name"]: row for row in body["clinician_matrix"]}
    assert list(matrix) == ["Avery Adams", "Blake Brown", "Sam Supervisor", "Staff Member"]
    a, b, sam, c = matrix.values()
    assert (got(a["kept_visit_rate"]), got(a["sessions_per_day"]), got(a["compliance"]), a["notes_past_7_days"],
            a["status"]) == (m("62.5", "5", "8", "alert"), m(None, "5", "0", "no_data"), m("55.0", "11", "20", "alert"),
                             1, "urgent")
    assert (got(b["sessions_per_day"]), got(b["compliance"]), b["status"]) == (
        m("0.2", "5", "22", "alert"), m("90.9", "10", "11", "watch"), "urgent")
    assert (got(sam["compliance"]), sam["status"]) == (m("100.0", "1", "1", "on_target"), "on_track")
    assert (got(c["compliance"]), c["status"]) == (m("50.0", "2", "4", "alert"), "urgent")
    assert a["compliance"]["name"] == "Compliance Rate"
    assert {name: row["revenue"] for name, row in matrix.items()} == {
        "Avery Adams": "300.00", "Blake Brown": "150.00", "Sam Supervisor": "0.00", "Staff Member": "0.00"}

    panel = {i["item"]: i for i in body["georgia_compliance"]}
    assert {item: (i["open_alerts"], i["clinicians_affected"], i["status"]) for item, i in panel.items()} == {
        "notes_over_7_days": (1, 1, "attention"),
        "treatment_plans_out_of_compliance": (1, 1, "attention"),
        "informed_consents_lapsed": (2, 1, "attention"),
        "hipaa_training_lapsed": (1, 1, "attention"),
        "supervision_shortfalls": (1, 1, "attention"),
        "supervision_notes_overdue": (1, 1, "attention"),
        "missing_safety_plans": (1, 1, "attention"),
        "minor_consent_gaps": (1, 1, "attention"),
        "telehealth_consent_gaps": (1, 1, "attention"),
        "data_quality": (0, 0, "ok"),
    }
    assert panel["notes_over_7_days"]["by_clinician"] == [
        {"clinician_id": str(p.a), "name": "Avery Adams", "count": 1}]
    assert panel["hipaa_training_lapsed"]["by_clinician"][0]["clinician_id"] == str(p.c)
    assert panel["telehealth_consent_gaps"]["by_clinician"][0]["name"] == "Blake Brown"
    assert got(panel["informed_consents_lapsed"]["metric"]) == m("75.0", "6", "8", "alert")
    assert got(panel["hipaa_training_lapsed"]["metric"]) == m("80.0", "4", "5", "alert")
    assert got(panel["supervision_shortfalls"]["metric"]) == m("91.7", "5.5", "6", "watch")
    assert panel["data_quality"]["metric"] is None

    capacity = body["capacity"]
    assert got(capacity["schedule_fill_rate"]) == m("2.8", "300", "10560", "alert")
    assert got(capacity["prime_time_utilization"]) == m("2.9", "250", "8640", "alert")
    assert got(capacity["sessions_per_day"]) == m("0.5", "11", "22", "alert")
    assert sorted(a["rule_code"] for a in body["alerts_and_action_items"]) == [
        "ESC-OVERDUE-NOTE", "ESC-VIOLATION-SPREAD", "GA-HIPAA-TRAINING"]


def test_documentation_metrics_endpoint(scene: Scene) -> None:
    p = scene.p
    path = "/api/v1/metrics/documentation"
    body = scene.ok("a", path, clinician_id=str(p.a), period="month", start="2026-03-07")
    assert (body["clinician_id"], body["period"], body["start"], body["end"], body["as_of"]) == (
        str(p.a), "month", "2026-03-01", "2026-03-31", "2026-03-19T12:00:00-04:00")
    assert body["counts"]["completed_sessions"] == 5 and body["counts"]["overdue_notes"] == 1
    assert body["metrics"]["crisis_intervention_rate"] == {
        "name": "Crisis Intervention Rate", "value": "20.0", "numerator": "1", "denominator": "5",
        "benchmark": "< 5%", "status": "alert",
        "formula": "completed sessions documented with a crisis intervention note / completed sessions x 100",
        "unit": "percent",
    }
    assert got(body["metrics"]["compliance_rate"]) == m("55.0", "11", "20", "alert")
    whole = scene.ok("b", path, period="month", start="2026-03-01")
    assert whole["clinician_id"] is None
    assert got(whole["metrics"]["same_day_documentation_rate"]) == m("72.7", "8", "11", "alert")
    default = scene.ok("a", path, clinician_id=str(p.a))  # this week
    assert (default["start"], default["end"]) == ("2026-03-16", "2026-03-22")
    past = scene.ok("admin", path, period="month", start="2026-02-14")
    assert past["as_of"] == "2026-02-28T23:59:59.999999-05:00"
    assert scene.ok("supervisor", path, clinician_id=str(p.a))["clinician_id"] == str(p.a)
    problem(scene.get("a", path, clinician_id=str(p.b)), 403, "outside_team")
    problem(scene.get("a", path, clinician_id=str(uuid4())), 404, "not_found")
    problem(scene.get("admin", path, clinician_id=str(scene.other_clinician)), 404, "not_found")
    problem(scene.get("a", path, period="year"), 422, "validation_failed")


def test_who_may_open_which_dashboard(scene: Scene) -> None:
    problem(scene.get("a", "/api/v1/dashboards/my-team"), 403, "not_a_team_lead")
    problem(scene.get("a", "/api/v1/dashboards/practice-overview"), 403, "permission_denied")
    problem(scene.get("supervisor", "/api/v1/dashboards/practice-overview"), 403, "permission_denied")
    assert scene.get("supervisor", "/api/v1/dashboards/my-practice").status_code == 200
    assert scene.api.get("/api/v1/dashboards/my-practice").status_code == 401


def test_practices_see_only_their_own(scene: Scene) -> None:
    body = scene.ok("other_admin", "/api/v1/dashboards/practice-overview")
    assert got(body["scorecard"]["kept_visit_rate"]) == m("100.0", "1", "1", "on_target")
    assert [row["name"] for row in body["clinician_matrix"]] == ["Oscar Other"]
    theirs = body["scorecard"]["revenue"]
    assert (theirs["charges"], theirs["collections"], theirs["outstanding_ar"]) == ("0.00", "0.00", "0.00")
    assert body["clinician_matrix"][0]["revenue"] == "0.00"
    assert [i["open_alerts"] for i in body["georgia_compliance"]] == [0] * 10
    team = scene.ok("other_admin", "/api/v1/dashboards/my-team")
    assert [row["clinician_id"] for row in team["team"]] == [str(scene.other_clinician)]
    assert team["alerts"] == []
    ours = scene.ok("admin", "/api/v1/dashboards/my-team")
    assert str(scene.other_clinician) not in {row["clinician_id"] for row in ours["team"]}
