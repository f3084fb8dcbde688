from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.compliance.evaluation import (
    GUARDIAN,
    INFORMED,
    TELEHEALTH,
    ClientFact,
    ClinicianWeekFact,
    ConsentFact,
    Facts,
    Finding,
    NoteFact,
    PlanFact,
    PracticeMonthFact,
    StaffFact,
    SupervisionFact,
    TrainingFact,
    evaluate,
    evaluate_as_of,
)
from domain.compliance.rules import GEORGIA_V1, RULESETS, RuleSet
from domain.errors import InvalidCommand

TZ = ZoneInfo("America/New_York")
SESSION = date(2024, 1, 1)  # a Monday
SUP = uuid4()


def at(day: date, hh: int = 9, mm: int = 0) -> datetime:
    """An instant given in the practice's local time."""
    return datetime.combine(day, time(hh, mm), TZ).astimezone(UTC)


def run(facts: Facts, now: datetime, ruleset: RuleSet = GEORGIA_V1) -> list[tuple[str, str]]:
    return [(f.rule_code, f.step) for f in evaluate(ruleset, facts, now, TZ)]


def note(session: date = SESSION, clinician: UUID | None = None, signed_at: datetime | None = None) -> NoteFact:
    return NoteFact(uuid4(), uuid4(), clinician or uuid4(), SUP, session, signed_at)


def day(n: int, base: date = SESSION) -> date:
    return base + timedelta(days=n)


# -- note signature ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (4, []),
        (5, [("GA-NOTE-SIGNATURE", "reminder")]),
        (6, [("GA-NOTE-SIGNATURE", "reminder")]),
        (7, [("GA-NOTE-SIGNATURE", "supervisor_alert"), ("ESC-OVERDUE-NOTE", "escalation")]),
        (13, [("GA-NOTE-SIGNATURE", "supervisor_alert"), ("ESC-OVERDUE-NOTE", "escalation")]),
        (
            14,
            [
                ("GA-NOTE-SIGNATURE", "supervisor_alert"),
                ("GA-NOTE-SIGNATURE", "billing_hold"),
                ("ESC-OVERDUE-NOTE", "escalation"),
            ],
        ),
    ],
)
def test_unsigned_note_ladder(n: int, expected: list[tuple[str, str]]) -> None:
    assert run(Facts(notes=[note()]), at(day(n))) == expected


def test_note_findings_carry_targets_dates_and_messages() -> None:
    n = note()
    [reminder] = evaluate(GEORGIA_V1, Facts(notes=[n]), at(day(5)), TZ)
    assert (reminder.severity, reminder.target, reminder.action) == ("warning", "clinician", "sign_note")
    assert (reminder.since, reminder.due) == (date(2024, 1, 6), date(2024, 1, 8))
    assert reminder.message == "Note for the session on 2024-01-01 is unsigned (day 5); sign it before 2024-01-08."
    assert (reminder.subject_type, reminder.subject_id, reminder.client_id) == ("note", n.note_id, n.client_id)
    assert (reminder.rule_version, reminder.supervisor_id, reminder.violation) == (1, SUP, False)
    hold = evaluate(GEORGIA_V1, Facts(notes=[n]), at(day(20)), TZ)[1]
    assert (hold.step, hold.target, hold.severity, hold.since, hold.due, hold.violation) == (
        "billing_hold", "admin", "critical", date(2024, 1, 15), None, True
    )


def test_days_turn_at_local_midnight() -> None:
    facts = Facts(notes=[note()])
    assert run(facts, at(day(4), 23, 59)) == []  # already 5 January in UTC
    assert run(facts, at(day(5), 0, 0)) == [("GA-NOTE-SIGNATURE", "reminder")]


def test_signing_clears_the_finding_from_the_moment_of_signature() -> None:
    facts = Facts(notes=[note(signed_at=at(day(6), 10))])
    assert run(facts, at(day(6), 9, 59)) == [("GA-NOTE-SIGNATURE", "reminder")]
    assert run(facts, at(day(6), 10)) == []
    assert run(facts, at(day(30))) == []


def test_evaluation_is_deterministic_and_keys_are_stable() -> None:
    facts = Facts(notes=[note(), note(), note(day(2))])
    first = evaluate(GEORGIA_V1, facts, at(day(9)), TZ)
    again = evaluate(GEORGIA_V1, Facts(notes=list(reversed(facts.notes))), at(day(9)), TZ)
    assert first == again
    later = evaluate(GEORGIA_V1, facts, at(day(10)), TZ)
    assert {f.key for f in first} == {f.key for f in later}


def test_naive_now_is_refused() -> None:
    with pytest.raises(InvalidCommand):
        evaluate(GEORGIA_V1, Facts(), datetime(2024, 1, 1), TZ)


# -- treatment plan review ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [(79, []), (80, ["reminder"]), (89, ["reminder"]), (90, ["alert"]), (91, ["out_of_compliance"]), (200, ["out_of_compliance"])],
)
def test_treatment_plan_review_ladder(n: int, expected: list[str]) -> None:
    plan = PlanFact(uuid4(), uuid4(), uuid4(), SUP, reviewed_on=(SESSION,))
    assert run(Facts(plans=[plan]), at(day(n))) == [("GA-PLAN-REVIEW", s) for s in expected]


def test_plan_review_restarts_the_count_and_closed_plans_are_ignored() -> None:
    plan = PlanFact(uuid4(), uuid4(), uuid4(), SUP, reviewed_on=(SESSION, day(85)))
    assert run(Facts(plans=[plan]), at(day(84))) == [("GA-PLAN-REVIEW", "reminder")]
    assert run(Facts(plans=[plan]), at(day(91))) == []
    assert run(Facts(plans=[replace(plan, reviewed_on=(SESSION,), closed_on=day(50))]), at(day(91))) == []


# -- informed consent --------------------------------------------------------------------------

EXPIRY = date(2024, 6, 1)


def client(**kw: object) -> ClientFact:
    base = ClientFact(uuid4(), uuid4(), SUP, active_since=date(2023, 1, 1))
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (EXPIRY - timedelta(days=31), []),
        (EXPIRY - timedelta(days=30), ["reminder"]),
        (EXPIRY - timedelta(days=1), ["reminder"]),
        (EXPIRY, ["alert"]),
        (EXPIRY + timedelta(days=40), ["alert"]),
    ],
)
def test_informed_consent_expiry(when: date, expected: list[str]) -> None:
    c = client()
    facts = Facts(clients=[c], consents=[ConsentFact(c.client_id, INFORMED, date(2023, 6, 1), EXPIRY)])
    assert run(facts, at(when)) == [("GA-INFORMED-CONSENT", s) for s in expected]


def test_informed_consent_reminder_message_and_renewal() -> None:
    c = client()
    old = ConsentFact(c.client_id, INFORMED, date(2023, 6, 1), EXPIRY)
    [f] = evaluate(GEORGIA_V1, Facts(clients=[c], consents=[old]), at(EXPIRY - timedelta(days=30)), TZ)
    assert f.message == "Informed consent expires on 2024-06-01 (30 days)."
    assert (f.since, f.due, f.target) == (date(2024, 5, 2), EXPIRY, "clinician")
    renewed = ConsentFact(c.client_id, INFORMED, date(2024, 5, 10))  # no expiry: a year after signing
    assert run(Facts(clients=[c], consents=[old, renewed]), at(EXPIRY)) == []
    assert run(Facts(clients=[c], consents=[old, renewed]), at(date(2025, 5, 10))) == [("GA-INFORMED-CONSENT", "alert")]
    assert run(Facts(clients=[replace(c, discharged_on=EXPIRY)], consents=[old]), at(EXPIRY)) == []


# -- supervision -------------------------------------------------------------------------------


def supervision(staff: StaffFact, on: date, hours: str, signed: bool = True) -> SupervisionFact:
    return SupervisionFact(uuid4(), staff.user_id, SUP, on, Decimal(hours), at(on, 17) if signed else None)


def hours_findings(facts: Facts, when: date) -> list[tuple[str, UUID | None, date | None]]:
    return [(f.step, f.subject_id, f.period) for f in evaluate(GEORGIA_V1, facts, at(when), TZ)
            if f.rule_code == "GA-SUPERVISION-HOURS"]


def test_supervision_hours_at_month_end_lpc_vs_lmsw() -> None:
    lpc, lmsw = StaffFact(uuid4(), SUP, "LPC"), StaffFact(uuid4(), SUP, "LMSW")
    other = StaffFact(uuid4(), SUP, "psychiatrist")
    jan = date(2024, 1, 1)
    facts = Facts(
        staff=[lpc, lmsw, other],
        supervision=[supervision(lpc, date(2023, 12, 5), "2"), supervision(lmsw, date(2023, 12, 5), "4"),
                     supervision(lpc, date(2024, 1, 10), "2"), supervision(lmsw, date(2024, 1, 10), "2"),
                     supervision(lmsw, date(2024, 2, 2), "1.5")],
    )
    assert hours_findings(facts, date(2024, 1, 24)) == []
    assert hours_findings(facts, date(2024, 1, 25)) == [("reminder", lmsw.user_id, jan)]
    assert hours_findings(facts, date(2024, 1, 31)) == [("reminder", lmsw.user_id, jan)]
    assert hours_findings(facts, date(2024, 2, 1)) == [("shortfall", lmsw.user_id, jan)]
    assert set(hours_findings(facts, date(2024, 2, 29))) == {
        ("reminder", lpc.user_id, date(2024, 2, 1)),
        ("reminder", lmsw.user_id, date(2024, 2, 1)),
        ("shortfall", lmsw.user_id, jan),
    }
    march = hours_findings(facts, date(2024, 3, 1))
    assert set(march) == {("shortfall", lpc.user_id, date(2024, 2, 1)), ("shortfall", lmsw.user_id, date(2024, 2, 1))}
    [f] = [f for f in evaluate(GEORGIA_V1, facts, at(date(2024, 2, 1)), TZ) if f.rule_code == "GA-SUPERVISION-HOURS"]
    assert f.message == "Supervision for 2024-01: 2 of 4 hours required for LMSW."
    assert (f.target, f.severity, f.violation, f.clinician_id) == ("supervisor", "critical", True, lmsw.user_id)


def test_supervision_note_signed_within_seven_days() -> None:
    staff = StaffFact(uuid4(), SUP, None)
    facts = Facts(supervision=[supervision(staff, SESSION, "1", signed=False)])
    assert run(facts, at(day(4))) == []
    assert run(facts, at(day(5))) == [("GA-SUPERVISION-NOTE", "reminder")]
    assert run(facts, at(day(7))) == [("GA-SUPERVISION-NOTE", "overdue")]
    signed = Facts(supervision=[replace(facts.supervision[0], signed_at=at(day(6)))])
    assert run(signed, at(day(7))) == []


# -- coverage: minor, telehealth, safety plan, HIPAA ---------------------------------------------

TODAY = date(2024, 4, 1)


def test_minor_consent_coverage() -> None:
    minor = client(birth_date=date(2010, 5, 1))
    assert run(Facts(clients=[minor], consents=[_informed(minor)]), at(TODAY)) == [("GA-MINOR-CONSENT", "missing")]
    guardian = ConsentFact(minor.client_id, GUARDIAN, date(2023, 1, 1), date(2024, 3, 1))
    [f] = evaluate(GEORGIA_V1, Facts(clients=[minor], consents=[_informed(minor), guardian]), at(TODAY), TZ)
    assert (f.since, f.message) == (date(2024, 3, 1), "Minor client without a current guardian consent since 2024-03-01.")
    renewed = replace(guardian, signed_on=date(2024, 3, 5), expires_on=None)
    assert run(Facts(clients=[minor], consents=[_informed(minor), renewed]), at(TODAY)) == []
    assert run(Facts(clients=[replace(minor, emancipated=True)], consents=[_informed(minor)]), at(TODAY)) == []
    adult = replace(minor, birth_date=date(2006, 4, 1))
    assert run(Facts(clients=[adult], consents=[_informed(adult)]), at(TODAY)) == []


def test_telehealth_consent_coverage() -> None:
    c = client(telehealth_since=date(2024, 3, 1))
    assert run(Facts(clients=[c], consents=[_informed(c)]), at(TODAY)) == [("GA-TELEHEALTH-CONSENT", "missing")]
    assert run(Facts(clients=[c], consents=[_informed(c)]), at(date(2024, 2, 29))) == []
    consent = ConsentFact(c.client_id, TELEHEALTH, date(2024, 3, 2))
    assert run(Facts(clients=[c], consents=[_informed(c), consent]), at(TODAY)) == []


def test_safety_plan_for_high_risk_clients() -> None:
    c = client(high_risk_since=date(2024, 3, 10))
    assert run(Facts(clients=[c], consents=[_informed(c)]), at(TODAY)) == [("GA-SAFETY-PLAN", "missing")]
    stale = replace(c, safety_plan_on=date(2024, 3, 1))
    assert run(Facts(clients=[stale], consents=[_informed(c)]), at(TODAY)) == [("GA-SAFETY-PLAN", "missing")]
    planned = replace(c, safety_plan_on=date(2024, 3, 10))
    assert run(Facts(clients=[planned], consents=[_informed(c)]), at(TODAY)) == []
    assert run(Facts(clients=[replace(c, high_risk_since=None)], consents=[_informed(c)]), at(TODAY)) == []


def test_hipaa_training_currency() -> None:
    staff = StaffFact(uuid4())
    training = TrainingFact(staff.user_id, date(2023, 6, 1), EXPIRY)
    facts = Facts(staff=[staff], trainings=[training])
    assert run(facts, at(EXPIRY - timedelta(days=31))) == []
    assert run(facts, at(EXPIRY - timedelta(days=30))) == [("GA-HIPAA-TRAINING", "reminder")]
    [alert] = evaluate(GEORGIA_V1, facts, at(EXPIRY), TZ)
    assert (alert.step, alert.target, alert.severity) == ("alert", "admin", "critical")
    assert run(Facts(staff=[staff]), at(TODAY)) == [("GA-HIPAA-TRAINING", "alert")]


def _informed(c: ClientFact) -> ConsentFact:
    return ConsentFact(c.client_id, INFORMED, date(2024, 1, 1))


# -- escalations -------------------------------------------------------------------------------


def escalations(facts: Facts, when: date) -> list[Finding]:
    return [f for f in evaluate(GEORGIA_V1, facts, at(when), TZ) if f.rule_code.startswith("ESC-")]


@pytest.mark.parametrize(("count", "escalated"), [(5, False), (6, True)])
def test_unsigned_backlog_escalates_above_five(count: int, escalated: bool) -> None:
    clinician = uuid4()
    facts = Facts(notes=[note(day(i), clinician) for i in range(count)])
    found = escalations(facts, day(6))
    assert [(f.rule_code, f.target) for f in found] == ([("ESC-UNSIGNED-BACKLOG", "supervisor")] if escalated else [])
    if escalated:
        assert (found[0].subject_id, found[0].message) == (clinician, "6 unsigned notes (more than 5).")


@pytest.mark.parametrize(("n", "escalated"), [(6, False), (7, True)])
def test_any_note_past_seven_days_escalates(n: int, escalated: bool) -> None:
    found = escalations(Facts(notes=[note()]), day(n))
    assert [f.rule_code for f in found] == (["ESC-OVERDUE-NOTE"] if escalated else [])


WEEK = date(2024, 1, 1)


def week(clinician: UUID, start: date, completed: int, no_shows: int = 0, scheduled: int = 100) -> ClinicianWeekFact:
    return ClinicianWeekFact(clinician, SUP, start, scheduled, completed, no_shows)


@pytest.mark.parametrize(
    ("first", "second", "escalated"),
    [(70, 69, False), (69, 70, False), (69, 69, True)],
)
def test_kvr_below_seventy_two_weeks_running(first: int, second: int, escalated: bool) -> None:
    c = uuid4()
    facts = Facts(clinician_weeks=[week(c, WEEK, first), week(c, WEEK + timedelta(days=7), second)])
    found = escalations(facts, WEEK + timedelta(days=14))
    assert [f.rule_code for f in found] == (["ESC-LOW-KVR"] if escalated else [])
    if escalated:
        assert found[0].message == "KVR below 70% for 2 weeks running (latest 69.0%)."


def test_kvr_weeks_must_be_consecutive_and_recent() -> None:
    c = uuid4()
    gap = Facts(clinician_weeks=[week(c, WEEK, 50), week(c, WEEK + timedelta(days=14), 50)])
    assert escalations(gap, WEEK + timedelta(days=21)) == []
    run_ = Facts(clinician_weeks=[week(c, WEEK, 50), week(c, WEEK + timedelta(days=7), 50)])
    assert [f.rule_code for f in escalations(run_, WEEK + timedelta(days=20))] == ["ESC-LOW-KVR"]
    assert escalations(run_, WEEK + timedelta(days=21)) == []
    assert escalations(run_, WEEK + timedelta(days=13)) == []  # the second week is not over yet


@pytest.mark.parametrize(("no_shows", "escalated"), [(20, False), (21, True)])
def test_no_show_rate_above_twenty_percent(no_shows: int, escalated: bool) -> None:
    facts = Facts(clinician_weeks=[week(uuid4(), WEEK, 90, no_shows)])
    found = escalations(facts, WEEK + timedelta(days=7))
    assert [(f.rule_code, f.target) for f in found] == ([("ESC-NO-SHOW", "supervisor")] if escalated else [])


@pytest.mark.parametrize(("completed", "escalated"), [(770, False), (769, True)])
def test_practice_kvr_down_more_than_five_points(completed: int, escalated: bool) -> None:
    facts = Facts(practice_months=[PracticeMonthFact(date(2024, 1, 1), 1000, 820),
                                   PracticeMonthFact(date(2024, 2, 1), 1000, completed)])
    found = escalations(facts, date(2024, 3, 1))
    assert [(f.rule_code, f.target) for f in found] == ([("ESC-PRACTICE-KVR", "admin")] if escalated else [])
    if escalated:
        assert found[0].message == "Practice KVR fell from 82.0% in 2024-01 to 76.9% in 2024-02."
    assert escalations(facts, date(2024, 2, 29)) == []


@pytest.mark.parametrize(("clinicians", "escalated"), [(2, False), (3, True)])
def test_violations_across_more_than_two_clinicians(clinicians: int, escalated: bool) -> None:
    late = [note() for _ in range(clinicians)]
    nudged = note(day(2))  # a reminder only: not a violation
    found = [f.rule_code for f in escalations(Facts(notes=[*late, nudged]), day(7))]
    assert found.count("ESC-VIOLATION-SPREAD") == (1 if escalated else 0)
    assert found.count("ESC-OVERDUE-NOTE") == clinicians


# -- rule versions -----------------------------------------------------------------------------

V2_FROM = date(2024, 3, 1)


def georgia_v2() -> RuleSet:
    rule = GEORGIA_V1.rule("GA-NOTE-SIGNATURE")
    return GEORGIA_V1.revise(2, V2_FROM, rule.with_step("reminder", at=3, until=5).with_step("supervisor_alert", at=5))


def test_a_new_rule_version_applies_from_its_date_only() -> None:
    versions = RULESETS.with_version(georgia_v2())
    facts = Facts(notes=[note(date(2024, 2, 24))])
    before = evaluate_as_of(versions, facts, at(date(2024, 2, 29)), TZ)  # day 5 under v1
    assert [(f.rule_code, f.step, f.rule_version) for f in before] == [("GA-NOTE-SIGNATURE", "reminder", 1)]
    after = evaluate_as_of(versions, facts, at(V2_FROM), TZ)  # day 6: v2 alerts from day 5
    assert [(f.rule_code, f.step, f.rule_version) for f in after] == [("GA-NOTE-SIGNATURE", "supervisor_alert", 2)]
    assert [f.step for f in evaluate_as_of(RULESETS, facts, at(V2_FROM), TZ)] == ["reminder"]


def test_same_day_count_judged_differently_before_and_after_the_change() -> None:
    versions = RULESETS.with_version(georgia_v2())
    feb, mar = Facts(notes=[note(date(2024, 2, 1))]), Facts(notes=[note(date(2024, 3, 1))])
    assert evaluate_as_of(versions, feb, at(date(2024, 2, 4)), TZ) == []
    assert [f.step for f in evaluate_as_of(versions, mar, at(date(2024, 3, 4)), TZ)] == ["reminder"]
    assert [f.step for f in evaluate_as_of(versions, feb, at(date(2024, 2, 6)), TZ)] == ["reminder"]
    assert [f.step for f in evaluate_as_of(versions, mar, at(date(2024, 3, 6)), TZ)] == [
        "supervisor_alert"
    ]


# -- data quality -------------------------------------------------------------------------------


def test_unlinked_session_note_raises_a_data_quality_finding_until_linked() -> None:
    unlinked = note()
    findings = evaluate(GEORGIA_V1, Facts(unlinked_notes=(unlinked,)), at(SESSION, 18), TZ)
    assert [(f.rule_code, f.step, f.subject_id, f.violation) for f in findings] == [
        ("DQ-NOTE-LINK", "missing", unlinked.note_id, False)
    ]
    assert findings[0].message == "A session note dated 2024-01-01 is not linked to an appointment."
    assert run(Facts(), at(SESSION, 18)) == []


def test_incomplete_demographics_name_the_missing_fields_for_active_clients_only() -> None:
    c = client(missing_demographics=("emergency_contact", "insurance"))
    findings = evaluate(GEORGIA_V1, Facts(clients=(c,)), at(day(3)), TZ)
    dq = [f for f in findings if f.rule_code == "DQ-DEMOGRAPHICS"]
    assert [(f.step, f.target, f.message) for f in dq] == [
        ("incomplete", "admin", "Client record is missing emergency contact, insurance.")
    ]
    discharged = replace(c, discharged_on=day(1))
    assert [f for f in evaluate(GEORGIA_V1, Facts(clients=(discharged,)), at(day(3)), TZ)
            if f.rule_code == "DQ-DEMOGRAPHICS"] == []
