"""The compliance engine driven by the clock: the Georgia ladders open, escalate and resolve
alerts on exactly the expected local days; a rebuild from zero equals the incremental result."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from domain.clinical.clinical_note import ClinicalNote
from tests.projections.compliance_script import PLAN, ComplianceScript


def staff(s: ComplianceScript, license_type: str = "LCSW") -> tuple[Any, Any]:
    supervisor = s.member("supervisor", "LCSW")
    clinician = s.member("clinician", license_type, supervisor=supervisor)
    return supervisor, clinician


def test_note_signature_reminder_day_5_supervisor_day_7_billing_hold_day_14_then_resolved(container: Any) -> None:
    s = ComplianceScript(container)
    supervisor, clinician = staff(s)
    client = s.client(clinician, consent_on=date(2026, 2, 20))
    visit = s.visit(clinician, client, date(2026, 3, 2))
    note = s.note(clinician, client, date(2026, 3, 2), visit)

    s.ticks(date(2026, 3, 2), date(2026, 3, 6))
    assert s.active() == []
    s.tick(date(2026, 3, 7))  # day 5
    [reminder] = s.alerts()
    assert (reminder.rule_code, reminder.step, reminder.severity, reminder.target) == (
        "GA-NOTE-SIGNATURE", "reminder", "warning", "clinician")
    assert (reminder.subject_id, reminder.clinician_id, reminder.supervisor_id) == (visit, clinician, supervisor)
    assert reminder.message == "Note for the session on 2026-03-02 is unsigned (day 5); sign it before 2026-03-09."
    assert reminder.opened_at == s.at(date(2026, 3, 7)) and reminder.due == date(2026, 3, 9)

    s.tick(date(2026, 3, 8))
    assert s.active() == [("GA-NOTE-SIGNATURE", "reminder")]
    assert s.alerts()[0].message.startswith("Note for the session on 2026-03-02 is unsigned (day 6)")
    s.tick(date(2026, 3, 9))  # day 7
    assert s.active() == [("ESC-OVERDUE-NOTE", "escalation"), ("GA-NOTE-SIGNATURE", "supervisor_alert")]
    [old] = [a for a in s.alerts(status="resolved") if a.alert_id == reminder.alert_id]
    assert old.resolved_at == s.at(date(2026, 3, 9))
    s.ticks(date(2026, 3, 10), date(2026, 3, 15))
    assert len(s.active()) == 2
    s.tick(date(2026, 3, 16))  # day 14
    assert s.active() == [
        ("ESC-OVERDUE-NOTE", "escalation"), ("GA-NOTE-SIGNATURE", "billing_hold"),
        ("GA-NOTE-SIGNATURE", "supervisor_alert"),
    ]
    hold = next(a for a in s.alerts() if a.step == "billing_hold")
    assert (hold.severity, hold.target, hold.violation, hold.since) == ("critical", "admin", True, date(2026, 3, 16))

    signed_at = s.at(date(2026, 3, 16), 14, 30)
    s.sign(note, clinician, signed_at)
    assert s.active() == []
    assert {a.resolved_at for a in s.alerts(status="resolved")} == {s.at(date(2026, 3, 9)), signed_at}


def test_who_sees_which_alert(container: Any) -> None:
    s = ComplianceScript(container)
    supervisor, clinician = staff(s)
    other = s.member("clinician", "LCSW")
    client = s.client(clinician, consent_on=date(2026, 2, 20))
    s.note(clinician, client, date(2026, 3, 2), s.visit(clinician, client, date(2026, 3, 2)))
    s.tick(date(2026, 3, 9))
    assert len(s.alerts(concerning={clinician})) == 2
    assert len(s.alerts(concerning={supervisor})) == 2
    assert s.alerts(concerning={other}) == []


def test_treatment_plan_review_day_80_90_91_and_a_review_resolves(container: Any) -> None:
    s = ComplianceScript(container)
    _, clinician = staff(s)
    client = s.client(clinician, consent_on=date(2026, 2, 20))
    plan = s.note(clinician, client, date(2026, 3, 2), None, kind="treatment_plan", sections=PLAN,
                  signed_at=s.at(date(2026, 3, 2), 10))
    expected = {
        date(2026, 5, 20): [],  # day 79
        date(2026, 5, 21): [("GA-PLAN-REVIEW", "reminder")],  # day 80
        date(2026, 5, 30): [("GA-PLAN-REVIEW", "reminder")],  # day 89
        date(2026, 5, 31): [("GA-PLAN-REVIEW", "alert")],  # day 90
        date(2026, 6, 1): [("GA-PLAN-REVIEW", "out_of_compliance")],  # day 91
    }
    for day, alerts in expected.items():
        s.tick(day)
        assert s.active() == alerts, day
    [out] = s.alerts()
    assert (out.severity, out.target, out.violation, out.subject_id) == ("critical", "supervisor", True, client)

    n = s.load(plan, ClinicalNote)
    n.amend("90-day review", PLAN | {"goals": "revised goals"}, None, clinician, s.at(date(2026, 6, 1), 11))
    n.sign(clinician, s.at(date(2026, 6, 1), 12))
    s.save(n)
    assert s.active() == []
    s.tick(date(2026, 8, 20))  # day 80 after the review on 1 June
    assert s.active() == [("GA-PLAN-REVIEW", "reminder")]


def test_supervision_hours_at_month_end_and_a_late_log_clears_the_shortfall(container: Any) -> None:
    s = ComplianceScript(container)
    supervisor = s.member("supervisor", "LCSW")
    associate = s.member("clinician", "LPC-Associate", supervisor=supervisor)
    s.supervision(associate, supervisor, date(2026, 3, 10), "1.5")
    s.tick(date(2026, 3, 24))
    assert s.active() == []
    s.tick(date(2026, 3, 25))  # the month's last seven days
    [reminder] = s.alerts()
    assert (reminder.rule_code, reminder.step, reminder.target) == ("GA-SUPERVISION-HOURS", "reminder", "clinician")
    assert reminder.message == "1.5 of 2 supervision hours logged for 2026-03; the month ends on 2026-03-31."
    s.tick(date(2026, 4, 1))
    [shortfall] = s.alerts()
    assert (shortfall.step, shortfall.severity, shortfall.target, shortfall.violation, shortfall.period) == (
        "shortfall", "critical", "supervisor", True, date(2026, 3, 1))
    assert shortfall.message == "Supervision for 2026-03: 1.5 of 2 hours required for LPC-Associate."
    s.supervision(associate, supervisor, date(2026, 3, 31), "0.5")
    assert s.active() == []


def test_unsigned_supervision_note_escalates_at_day_7(container: Any) -> None:
    s = ComplianceScript(container)
    supervisor = s.member("supervisor", "LCSW")
    associate = s.member("clinician", "LMSW", supervisor=supervisor)
    for day in (date(2026, 3, 3), date(2026, 3, 5)):
        s.supervision(associate, supervisor, day, "2", signed=False)
    s.tick(date(2026, 3, 8))
    assert s.active("GA-SUPERVISION-NOTE") == [("GA-SUPERVISION-NOTE", "reminder")]
    s.tick(date(2026, 3, 10))
    assert s.active("GA-SUPERVISION-NOTE") == [
        ("GA-SUPERVISION-NOTE", "overdue"), ("GA-SUPERVISION-NOTE", "reminder")]


def test_escalations_backlog_no_show_low_kvr_and_practice_kvr_drop(container: Any) -> None:
    s = ComplianceScript(container)
    supervisor, clinician = staff(s)
    client = s.client(clinician, consent_on=date(2026, 1, 20))
    for day in (date(2026, 2, 2), date(2026, 2, 9), date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2),
                date(2026, 3, 9)):
        visit = s.visit(clinician, client, day)
        s.note(clinician, client, day, visit, signed_at=s.at(day, 12))
    for day in (date(2026, 3, 16), date(2026, 3, 23)):
        s.visit(clinician, client, day, status="no_show")
    s.tick(date(2026, 3, 31))
    assert s.active("ESC") == [("ESC-LOW-KVR", "escalation"), ("ESC-NO-SHOW", "escalation")]
    s.tick(date(2026, 4, 1))
    assert s.active("ESC") == [
        ("ESC-LOW-KVR", "escalation"), ("ESC-NO-SHOW", "escalation"), ("ESC-PRACTICE-KVR", "escalation")]
    drop = next(a for a in s.alerts() if a.rule_code == "ESC-PRACTICE-KVR")
    assert (drop.target, drop.clinician_id) == ("admin", None)
    assert drop.message == "Practice KVR fell from 100.0% in 2026-02 to 50.0% in 2026-03."

    # Six completed visits with no signed note: more than five unsigned escalates at once.
    for i in range(6):
        s.visit(clinician, client, date(2026, 4, 6) + timedelta(days=i), hour=9)
    assert ("ESC-UNSIGNED-BACKLOG", "escalation") in s.active("ESC")
    backlog = next(a for a in s.alerts() if a.rule_code == "ESC-UNSIGNED-BACKLOG")
    assert (backlog.target, backlog.supervisor_id) == ("supervisor", supervisor)
    assert backlog.message == "6 unsigned notes (more than 5)."
