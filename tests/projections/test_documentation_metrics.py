"""Documentation metrics from the compliance read model, for a scripted practice: exact numbers per
clinician, per team and for the practice, periods, "as of" the end of a past period, and
isolation between practices. `build_practice` is also the scenario of the dashboard API tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.clients.client import Client
from domain.clinical.documentation_metrics import DocumentationReport
from domain.practices.practice import Practice as PracticeAggregate
from domain.scheduling.appointment import Appointment
from domain.scheduling.metrics import MetricValue
from domain.scheduling.schedule import ClinicianSchedule
from projections.compliance.documentation import DocumentationMetrics
from tests.projections.compliance_script import FULL_DEMOGRAPHICS, PLAN, SAFETY, ComplianceScript

CRISIS = {"situation": "s", "risk_assessment": "r", "interventions": "i", "disposition": "d"}
TODAY = date(2026, 3, 19)  # a Thursday; the week runs 16-22 March


@dataclass(frozen=True)
class Practice:
    """Who is who in the scripted practice (clients are ids only: no PHI in read models)."""

    s: ComplianceScript
    supervisor: UUID
    a: UUID  # LPC-Associate, supervised
    b: UUID  # LMSW, supervised, with working hours Monday-Friday 09:00-17:00
    c: UUID  # LCSW, no supervisor, no HIPAA training
    admin: UUID
    clients: dict[str, UUID]

    @property
    def now(self) -> datetime:
        return self.s.at(TODAY, 12, 0)


def cancelled_visit(s: ComplianceScript, clinician: UUID, client: UUID, day: date, hour: int) -> UUID:
    starts = s.at(day, hour, 0)
    a = Appointment.book(s.practice_id, client, clinician, "therapy_session", "in_person", starts,
                         starts + timedelta(minutes=50), booked_at=starts - timedelta(days=7))
    a.cancel("client", "illness", now=starts - timedelta(days=2), late_window=timedelta(hours=24))
    s.save(a)
    return a.id


def flag(s: ComplianceScript, client: UUID, at: datetime, by: UUID) -> None:
    c = s.load(client, Client)
    c.set_risk_flag("suicidal_ideation", "Disclosed in session", at, by)
    s.save(c)


def signed_visit(s: ComplianceScript, clinician: UUID, client: UUID, day: date, hours_to_sign: float = 2,
                 modality: str = "in_person", kind: str = "soap") -> UUID:
    """A 09:00-09:50 session whose note is signed `hours_to_sign` after it ends."""
    visit = s.visit(clinician, client, day, hour=9, modality=modality)
    ends = s.at(day, 9, 50)
    s.note(clinician, client, day, visit, kind=kind, sections=CRISIS if kind == "crisis_intervention" else None,
           signed_at=ends + timedelta(hours=hours_to_sign))
    return visit


def build_practice(s: ComplianceScript, supervisor: UUID, a: UUID, b: UUID, c: UUID, admin: UUID) -> Practice:
    """March 2026, New York. See the module's tests for the numbers this gives."""
    # Clinician A: five sessions this month (two signed the same day, one the next day with a crisis
    # note, one unsigned, one without a note 9 days on), a no-show, a cancellation, an open visit.
    a1 = s.client(a, consent_on=date(2026, 1, 10))
    a2 = s.client(a, consent_on=date(2026, 1, 10), birth=date(2012, 6, 1))  # a minor, no guardian consent
    a3 = s.client(a, consent_on=date(2025, 3, 1))  # informed consent lapsed on 1 March
    r1 = s.client(a, consent_on=date(2025, 11, 1))  # first seen December, seen again in February
    r2 = s.client(a, consent_on=None)  # first seen November, last in December; no consent at all
    s.consent(a1, "telehealth_consent", date(2026, 3, 15))
    s.note(a, a1, date(2026, 1, 5), None, kind="treatment_plan", sections=PLAN, signed_at=s.at(date(2026, 1, 5), 12))
    s.note(a, a3, date(2025, 12, 1), None, kind="treatment_plan", sections=PLAN,
           signed_at=s.at(date(2025, 12, 1), 12))
    for client, day in ((r2, date(2025, 11, 3)), (r1, date(2025, 12, 1)), (r2, date(2025, 12, 10)),
                        (r1, date(2026, 2, 23))):
        signed_visit(s, a, client, day)
    signed_visit(s, a, a1, date(2026, 3, 2), hours_to_sign=2)
    signed_visit(s, a, a1, date(2026, 3, 9), hours_to_sign=24, kind="crisis_intervention")
    s.visit(a, a3, date(2026, 3, 10), hour=9)  # completed, no note
    signed_visit(s, a, a1, date(2026, 3, 16), hours_to_sign=4, modality="telehealth")
    unsigned = s.visit(a, a2, date(2026, 3, 17), hour=9)
    s.note(a, a2, date(2026, 3, 17), unsigned)
    s.visit(a, a2, date(2026, 3, 18), status="no_show", hour=9)
    cancelled_visit(s, a, a1, date(2026, 3, 18), hour=11)
    s.visit(a, a1, date(2026, 3, 20), status="open", hour=9)
    flag(s, a3, s.at(date(2026, 3, 3), 10), a)
    s.note(a, a3, date(2026, 3, 4), None, kind="safety_plan", sections=SAFETY, signed_at=s.at(date(2026, 3, 4), 12))
    flag(s, r2, s.at(date(2026, 3, 5), 10), a)  # no safety plan
    s.supervision(a, supervisor, date(2026, 3, 5), "1")
    s.supervision(a, supervisor, date(2026, 3, 9), "0.25", signed=False)  # overdue
    s.supervision(a, supervisor, date(2026, 3, 17), "0.25", signed=False)  # not due yet

    # Clinician B: every note signed two hours after the session; a telehealth client without
    # a telehealth consent; an open visit this week; hours Monday to Friday.
    b1 = s.client(b, consent_on=date(2026, 2, 1))
    b2 = s.client(b, consent_on=date(2026, 2, 1))
    s.note(b, b1, date(2026, 2, 1), None, kind="treatment_plan", sections=PLAN, signed_at=s.at(date(2026, 2, 1), 12))
    s.note(b, b2, date(2026, 3, 1), None, kind="treatment_plan", sections=PLAN, signed_at=s.at(date(2026, 3, 1), 12))
    for client, day, modality in ((b2, date(2026, 3, 2), "in_person"), (b2, date(2026, 3, 9), "in_person"),
                                  (b1, date(2026, 3, 16), "telehealth"), (b2, date(2026, 3, 17), "in_person"),
                                  (b1, date(2026, 3, 18), "telehealth")):
        signed_visit(s, b, client, day, modality=modality)
    s.visit(b, b2, date(2026, 3, 20), status="open", hour=9)
    schedule = ClinicianSchedule.open(s.practice_id, b)
    schedule.set_working_hours({d: [(time(9), time(17))] for d in range(5)})
    s.save(schedule)
    s.supervision(b, supervisor, date(2026, 3, 3), "4")

    # Clinician C: one session signed the same day, no treatment plan.
    c1 = s.client(c, consent_on=date(2026, 2, 1))
    signed_visit(s, c, c1, date(2026, 3, 16))

    s.tick(TODAY)
    s.settle()
    s.k.runner("attendance_metrics").catch_up()
    clients = {"a1": a1, "a2": a2, "a3": a3, "r1": r1, "r2": r2, "b1": b1, "b2": b2, "c1": c1}
    return Practice(s, supervisor, a, b, c, admin, clients)


def scripted(k: Any) -> Practice:
    s = ComplianceScript(k)
    supervisor = s.member("supervisor", "LCSW")
    a = s.member("clinician", "LPC-Associate", supervisor=supervisor)
    b = s.member("clinician", "LMSW", supervisor=supervisor)
    c = s.member("clinician", "LCSW", trained=False)
    admin = s.member("admin")
    return build_practice(s, supervisor, a, b, c, admin)


def v(value: str | None, numerator: Any, denominator: Any, benchmark: str, status: str) -> MetricValue:
    return MetricValue(None if value is None else Decimal(value), numerator, denominator, benchmark, status)


def shown(report: DocumentationReport) -> dict[str, tuple[str | None, str, str, str]]:
    return {code: (None if m.value is None else str(m.value), str(m.numerator), str(m.denominator), m.status)
            for code, m in report.metrics.items()}


def test_a_clinician_s_month(container: Any) -> None:
    p = scripted(container)
    docs = DocumentationMetrics(container.compliance_view)
    a = docs.report(p.s.practice_id, "month", date(2026, 3, 7), p.now, p.a)
    assert (a.clinician_id, a.period, a.start, a.end, a.time_zone) == (
        p.a, "month", date(2026, 3, 1), date(2026, 3, 31), "America/New_York")
    assert (a.as_of, a.today, a.oldest_unsigned_on) == (p.now, TODAY, date(2026, 3, 10))
    assert a.counts == {
        "completed_sessions": 5, "same_day_signed": 2, "signed_sessions": 3, "crisis_sessions": 1,
        "overdue_in_period": 1, "notes_in_order": 4, "unsigned_notes": 2, "overdue_notes": 1, "active_clients": 5,
        "plans_current": 1, "informed_covered": 3, "minor_clients": 1, "minors_covered": 0, "telehealth_clients": 1,
        "telehealth_covered": 1, "high_risk_clients": 2, "safety_plans_covered": 1, "retention_cohort": 2,
        "retained": 1, "supervision_sessions": 2, "supervision_timely": 1, "staff": 1, "staff_trained": 1,
    }
    m = a.metrics
    assert m["same_day_documentation_rate"] == v("40.0", 2, 5, ">= 90%", "alert")
    assert m["average_documentation_time"] == v("10.0", Decimal(30), 3, "< 24 hours", "on_target")
    assert m["unsigned_note_backlog"] == v("1", 1, 1, "0", "watch")
    assert m["treatment_plan_currency"] == v("20.0", 1, 5, "100%", "alert")
    assert m["client_retention_90"] == v("50.0", 1, 2, ">= 70%", "alert")
    assert m["crisis_intervention_rate"] == v("20.0", 1, 5, "< 5%", "alert")
    assert m["safety_plan_compliance"] == v("50.0", 1, 2, "100%", "alert")
    assert m["supervision_hours"] == v("75.0", Decimal("1.5"), Decimal("2"), "required hours (100%)", "watch")
    assert m["supervision_note_timeliness"] == v("50.0", 1, 2, "100%", "alert")
    assert m["informed_consent_coverage"] == v("60.0", 3, 5, "100%", "alert")
    assert m["minor_consent_coverage"] == v("0.0", 0, 1, "100%", "alert")
    assert m["telehealth_consent_coverage"] == v("100.0", 1, 1, "100%", "on_target")
    assert m["hipaa_training_current"] == v("100.0", 1, 1, "100%", "on_target")
    assert m["compliance_rate"] == v("55.0", 11, 20, "100%", "alert")
    [hours] = a.supervision
    assert (hours.member_id, hours.license_type, hours.month, hours.month_end, hours.logged, hours.required,
            hours.remaining) == (p.a, "LPC-Associate", date(2026, 3, 1), date(2026, 3, 31), Decimal("1.5"),
                                 Decimal("2"), Decimal("0.5"))

    week = docs.report(p.s.practice_id, "week", TODAY, p.now, p.a)
    assert (week.start, week.end) == (date(2026, 3, 16), date(2026, 3, 22))
    assert shown(week)["same_day_documentation_rate"] == ("50.0", "1", "2", "alert")
    assert shown(week)["average_documentation_time"] == ("4.0", "4", "1", "on_target")
    assert (week.counts["unsigned_notes"], week.counts["overdue_notes"]) == (2, 1)  # any period
    assert shown(week)["supervision_note_timeliness"] == (None, "0", "0", "no_data")  # 17 March: not due yet

    # Day 7 after 10 March is 17 March: the session joins the backlog that day, not the day before.
    day6 = docs.report(p.s.practice_id, "day", date(2026, 3, 16), p.now, p.a)
    day7 = docs.report(p.s.practice_id, "day", date(2026, 3, 17), p.now, p.a)
    assert (day6.counts["unsigned_notes"], day6.counts["overdue_notes"]) == (1, 0)
    assert (day7.counts["unsigned_notes"], day7.counts["overdue_notes"]) == (2, 1)


def test_the_practice_and_a_team_add_up_numerators_and_denominators(container: Any) -> None:
    p = scripted(container)
    docs = DocumentationMetrics(container.compliance_view)
    practice = docs.report(p.s.practice_id, "month", TODAY, p.now)
    assert practice.clinician_id is None
    assert shown(practice) == {
        "same_day_documentation_rate": ("72.7", "8", "11", "alert"),
        "average_documentation_time": ("4.7", "42", "9", "on_target"),
        "unsigned_note_backlog": ("1", "1", "1", "watch"),
        "treatment_plan_currency": ("37.5", "3", "8", "alert"),
        "client_retention_90": ("50.0", "1", "2", "alert"),
        "crisis_intervention_rate": ("9.1", "1", "11", "watch"),
        "safety_plan_compliance": ("50.0", "1", "2", "alert"),
        "supervision_hours": ("91.7", "5.5", "6", "watch"),
        "supervision_note_timeliness": ("66.7", "2", "3", "alert"),
        "informed_consent_coverage": ("75.0", "6", "8", "alert"),
        "minor_consent_coverage": ("0.0", "0", "1", "alert"),
        "telehealth_consent_coverage": ("50.0", "1", "2", "alert"),
        "hipaa_training_current": ("80.0", "4", "5", "alert"),
        "compliance_rate": ("67.6", "25", "37", "alert"),
    }
    team = docs.team(p.s.practice_id, "month", TODAY, p.now, [p.a, p.b])
    assert list(team.members) == [p.a, p.b]
    b = team.members[p.b]
    assert shown(b)["same_day_documentation_rate"] == ("100.0", "5", "5", "on_target")
    assert shown(b)["average_documentation_time"] == ("2.0", "10", "5", "on_target")
    assert shown(b)["telehealth_consent_coverage"] == ("0.0", "0", "1", "alert")
    assert shown(b)["minor_consent_coverage"] == (None, "0", "0", "no_data")
    assert shown(b)["supervision_hours"] == ("100.0", "4", "4", "on_target")
    assert shown(b)["compliance_rate"] == ("90.9", "10", "11", "watch")
    assert b.oldest_unsigned_on is None
    assert shown(team.members[p.a]) == shown(docs.report(p.s.practice_id, "month", TODAY, p.now, p.a))
    total = team.total
    assert (total.clinician_id, total.counts["active_clients"], total.counts["staff"]) == (None, 7, 2)
    assert shown(total)["same_day_documentation_rate"] == ("70.0", "7", "10", "alert")
    assert shown(total)["supervision_hours"] == ("91.7", "5.5", "6", "watch")
    assert [x.member_id for x in total.supervision] == sorted([p.a, p.b])
    c = docs.report(p.s.practice_id, "month", TODAY, p.now, p.c)
    assert shown(c)["hipaa_training_current"] == ("0.0", "0", "1", "alert")
    assert shown(c)["compliance_rate"] == ("50.0", "2", "4", "alert")
    assert c.supervision == ()  # an LCSW owes no supervision hours


def test_a_past_period_is_judged_at_its_end(container: Any) -> None:
    p = scripted(container)
    docs = DocumentationMetrics(container.compliance_view)
    feb = docs.report(p.s.practice_id, "month", date(2026, 2, 10), p.now)
    assert (feb.as_of, feb.today) == (datetime.combine(date(2026, 3, 1), time(), p.s.zone) - timedelta(microseconds=1),
                                      date(2026, 2, 28))
    got = shown(feb)
    assert got["same_day_documentation_rate"] == ("100.0", "1", "1", "on_target")  # r1 on 23 February
    assert got["unsigned_note_backlog"] == ("0", "0", "1", "on_target")  # March had not happened yet
    assert got["treatment_plan_currency"] == ("25.0", "1", "4", "alert")  # a1, r1, r2, b2 active; a1's plan
    assert got["informed_consent_coverage"] == ("75.0", "3", "4", "alert")  # a3's consent only lapses 1 March
    assert got["client_retention_90"] == ("100.0", "1", "1", "on_target")  # r2: first seen 3 November
    assert got["supervision_hours"] == ("0.0", "0", "6", "alert")  # February is over: a shortfall
    assert got["hipaa_training_current"] == ("80.0", "4", "5", "alert")


def test_practices_are_isolated(container: Any) -> None:
    p = scripted(container)
    other = ComplianceScript(container)
    clinician = other.member("clinician", "LCSW")
    client = other.client(clinician, consent_on=date(2026, 2, 1))
    signed_visit(other, clinician, client, date(2026, 3, 16), hours_to_sign=30)
    other.settle()
    docs = DocumentationMetrics(container.compliance_view)
    theirs = docs.report(other.practice_id, "month", TODAY, p.now)
    assert shown(theirs)["same_day_documentation_rate"] == ("0.0", "0", "1", "alert")
    assert shown(theirs)["average_documentation_time"] == ("30.0", "30", "1", "watch")
    assert shown(theirs)["hipaa_training_current"] == ("100.0", "1", "1", "on_target")
    ours = docs.report(p.s.practice_id, "month", TODAY, p.now)
    assert shown(ours)["same_day_documentation_rate"] == ("72.7", "8", "11", "alert")
    # Another practice's clinician, asked for under ours, has nothing.
    stray = docs.report(p.s.practice_id, "month", TODAY, p.now, clinician)
    assert stray.counts["completed_sessions"] == 0 and stray.counts["staff"] == 0
    assert docs.member_practice(clinician) == other.practice_id


def test_practice_hours_attribution_by_appointment_and_discharge(container: Any) -> None:
    p = scripted(container)
    s = p.s
    practice = s.load(s.practice_id, PracticeAggregate)
    practice.set_supervision_requirement("LPC-Associate", Decimal("3"), s.at(date(2026, 3, 10), 8))
    s.save(practice)
    # A client nobody is assigned to belongs to the clinician of their latest appointment.
    walk_in = Client.register(s.practice_id, "basic", first_name="Wal", last_name="Kin", date_of_birth=date(1985, 1, 1),
                              **FULL_DEMOGRAPHICS)
    s.save(walk_in)
    s.visit(p.a, walk_in.id, date(2026, 3, 11), status="no_show", hour=13)
    s.visit(p.b, walk_in.id, date(2026, 3, 12), status="no_show", hour=13)
    # A discharged client is no longer active.
    gone = s.load(p.clients["r2"], Client)
    gone.change_status("discharged", "treatment_complete")
    s.save(gone)
    s.settle()
    docs = DocumentationMetrics(container.compliance_view)
    a = docs.report(s.practice_id, "month", TODAY, p.now, p.a)
    assert shown(a)["supervision_hours"] == ("50.0", "1.5", "3", "watch")  # the practice's own 3 hours
    assert a.supervision[0].remaining == Decimal("1.5")
    assert (a.counts["active_clients"], a.counts["high_risk_clients"], a.counts["informed_covered"]) == (4, 1, 3)
    b = docs.report(s.practice_id, "month", TODAY, p.now, p.b)
    assert (b.counts["active_clients"], b.counts["informed_covered"], b.counts["plans_current"]) == (3, 2, 2)
    before = docs.report(s.practice_id, "month", date(2026, 3, 9), s.at(date(2026, 3, 9), 12), p.a)
    assert shown(before)["supervision_hours"] == ("50.0", "1", "2", "watch")  # the rule's 2 hours until 10 March
