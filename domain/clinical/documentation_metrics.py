"""Documentation, clinical-quality, supervision and Georgia-compliance metrics: seed 001, Module 7,
categories 2, 3, 6, 10 and 12. Like `domain.scheduling.metrics`, each metric is a pure function of
counts a read model keeps, returning a `MetricValue` (value, numerator, denominator, benchmark,
status), and `DOCUMENTATION_METRICS` is their dictionary (`METRIC_DICTIONARY` holds both).

Conventions (those of `domain.scheduling.metrics`, plus):
- Periods are local dates of the practice's time zone (`period_bounds`). A session belongs to the
  local date it starts on; a note is "signed" once it is fully signed (co-signed where required).
- Percentages and hours are rounded half-up to one decimal; the status is decided on the exact
  value. "no_data" when the denominator is zero. A practice's (or team's) value adds up numerators
  and denominators, never averages rates.
- Every report is judged at one moment, `as_of` = the earlier of now and the end of the period's
  last local date: what was recorded after it (a signature, a completion, a consent) does not count
  yet. "Today" below is the local date of `as_of`.
- Sessions: appointments completed by `as_of` (status completed) whose local date lies in the
  period. Per clinician: the session's clinician.
- Clients: active clients at `as_of` (registered or first booked on or before today, not discharged
  or made inactive). A client belongs to their assigned clinician, else to the clinician of their
  latest appointment not cancelled (the compliance engine's attribution).
- Deadlines come from the compliance rule set in force on today (with the practice's supervision
  hours), so a metric and the Georgia alert it mirrors always agree (`thresholds`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from domain.billing.revenue_metrics import REVENUE_METRICS
from domain.compliance import rules as r
from domain.compliance.rules import RuleSet
from domain.errors import InvalidCommand
from domain.scheduling.metrics import (
    HUNDRED,
    METRICS,
    MetricDefinition,
    MetricValue,
    Number,
    check_counts,
    measure,
    rate,
)

HOUR = timedelta(hours=1)
DEFAULT_NOTE_OVERDUE_DAYS = 7
DEFAULT_PLAN_OVERDUE_DAYS = 91
DEFAULT_SUPERVISION_NOTE_DAYS = 7


def _d(text: str) -> Decimal:
    return Decimal(text)


def _define(
    code: str, name: str, category: str, formula: str, unit: str, benchmark: str, **bounds: Decimal
) -> MetricDefinition:
    return MetricDefinition(code, name, category, formula, unit, benchmark, **bounds)


DOCUMENTATION_METRICS: dict[str, MetricDefinition] = {
    m.code: m
    for m in (
        _define("same_day_documentation_rate", "Same-Day Documentation Rate", "documentation_compliance",
                "completed sessions whose note was fully signed on the session's local date / completed "
                "sessions x 100", "percent", ">= 90%", target_min=_d("90"), alert_below=_d("80")),
        _define("average_documentation_time", "Average Documentation Time", "documentation_compliance",
                "sum of (full signature - session end) in hours / sessions signed", "hours", "< 24 hours",
                target_below=_d("24"), alert_above=_d("48")),
        _define("unsigned_note_backlog", "Unsigned Note Backlog", "documentation_compliance",
                "completed sessions whose note is unsigned on day 7 or later after the session", "notes", "0",
                target_max=_d("0"), alert_above=_d("5")),
        _define("treatment_plan_currency", "Treatment Plan Currency", "documentation_compliance",
                "active clients whose latest treatment plan signature is at most 90 days old / active clients "
                "x 100", "percent", "100%", target_min=_d("100"), alert_below=_d("95")),
        _define("client_retention_90", "Client Retention Rate (90 Days)", "clinical_quality",
                "clients first seen 90-180 days ago with a completed session in the last 90 days / clients "
                "first seen 90-180 days ago x 100", "percent", ">= 70%", target_min=_d("70"), alert_below=_d("60")),
        _define("crisis_intervention_rate", "Crisis Intervention Rate", "clinical_quality",
                "completed sessions documented with a crisis intervention note / completed sessions x 100",
                "percent", "< 5%", target_below=_d("5"), alert_above=_d("10")),
        _define("safety_plan_compliance", "Safety Plan Compliance", "clinical_quality",
                "high-risk clients with a safety plan signed on or after the flag / high-risk clients x 100",
                "percent", "100%", target_min=_d("100"), alert_below=_d("100")),
        _define("supervision_hours", "Supervision Hours Logged", "supervision_compliance",
                "supervision hours logged this month (each supervisee counted up to their requirement) / "
                "hours required x 100", "percent", "required hours (100%)", target_min=_d("100"),
                alert_below=_d("100")),
        _define("supervision_note_timeliness", "Supervision Note Timeliness", "supervision_compliance",
                "supervision sessions signed within 7 days / supervision sessions signed or past 7 days x 100",
                "percent", "100%", target_min=_d("100"), alert_below=_d("100")),
        _define("informed_consent_coverage", "Informed Consent Currency", "georgia_compliance",
                "active clients with a current informed consent / active clients x 100", "percent", "100%",
                target_min=_d("100"), alert_below=_d("100")),
        _define("minor_consent_coverage", "Minor Consent Compliance", "georgia_compliance",
                "minor clients with a current guardian consent / minor clients x 100", "percent", "100%",
                target_min=_d("100"), alert_below=_d("100")),
        _define("telehealth_consent_coverage", "Telehealth Consent Compliance", "georgia_compliance",
                "telehealth clients with a current telehealth consent / telehealth clients x 100", "percent",
                "100%", target_min=_d("100"), alert_below=_d("100")),
        _define("hipaa_training_current", "HIPAA Training Current", "risk_management",
                "active staff with a current HIPAA training / active staff x 100", "percent", "100%",
                target_min=_d("100"), alert_below=_d("100")),
        _define("compliance_rate", "Compliance Rate", "georgia_compliance",
                "compliance items in order / compliance items x 100 (see compliance_rate_of)", "percent",
                "100%", target_min=_d("100"), alert_below=_d("90")),
    )
}

METRIC_DICTIONARY: dict[str, MetricDefinition] = {**METRICS, **DOCUMENTATION_METRICS, **REVENUE_METRICS}
"""Every metric of seed 001 Module 7 built so far: schedule, documentation and revenue metrics."""


def _measure(code: str, numerator: Number, denominator: Number, scale: Decimal = Decimal(1)) -> MetricValue:
    return measure(DOCUMENTATION_METRICS[code], numerator, denominator, scale)


def _rate(code: str, part: Number, whole: Number, part_name: str, whole_name: str) -> MetricValue:
    return rate(DOCUMENTATION_METRICS[code], part, whole, part_name, whole_name)


def same_day_documentation_rate(same_day: int, completed: int) -> MetricValue:
    """Completed sessions of the period whose session note was fully signed (by `as_of`) on the
    session's own local date / completed sessions of the period x 100. A session still unsigned,
    or with no note at all, counts in the denominator only."""
    return _rate("same_day_documentation_rate", same_day, completed, "same_day", "completed")


def average_documentation_time(total: timedelta, signed: int) -> MetricValue:
    """Sum over the completed sessions of the period whose note is fully signed (by `as_of`) of
    (first full signature - session end), in hours / number of those sessions. A note signed before
    the session ended counts zero hours. The numerator is reported in hours (Decimal)."""
    check_counts(signed=signed)
    if total < timedelta(0):
        raise InvalidCommand("A documentation time is zero or more.", field="total")
    hours = Decimal(total // timedelta(microseconds=1)) / Decimal(HOUR // timedelta(microseconds=1))
    return _measure("average_documentation_time", hours, signed)


def unsigned_note_backlog(overdue: int) -> MetricValue:
    """Completed sessions (of any date) whose session note is not fully signed at `as_of` although
    today is day `note_overdue_days` (7) or later after the session date: the day the Georgia
    supervisor alert opens (GA-NOTE-SIGNATURE). A count: the denominator is 1 and the value the
    count itself."""
    check_counts(overdue=overdue)
    definition = DOCUMENTATION_METRICS["unsigned_note_backlog"]
    return MetricValue(Decimal(overdue), overdue, 1, definition.benchmark, definition.status(Decimal(overdue)))


def treatment_plan_currency(current: int, active: int) -> MetricValue:
    """Active clients whose latest treatment-plan signature (a plan signed, or its signed
    amendment: a review) is dated fewer than `plan_overdue_days` (91) days before today, i.e. at
    most 90 days old / active clients x 100. A client without any signed plan is not current."""
    return _rate("treatment_plan_currency", current, active, "current", "active")


def client_retention_90(retained: int, cohort: int) -> MetricValue:
    """Retention 90 days, with D = today (the `as_of` local date):
    cohort = clients whose first completed session (with anyone at the practice) is dated between
    D - 180 and D - 90 days, both included; retained = those of the cohort with a completed session
    dated after D - 90 and on or before D. Per clinician, a client counts for the clinician of that
    first session (who took them in); the later session may be with any clinician of the practice."""
    return _rate("client_retention_90", retained, cohort, "retained", "cohort")


def crisis_intervention_rate(crisis: int, completed: int) -> MetricValue:
    """Completed sessions of the period with a crisis-intervention note linked to them / completed
    sessions x 100. A crisis note not linked to an appointment is left out (the data-quality rule
    DQ-NOTE-LINK asks for the link)."""
    return _rate("crisis_intervention_rate", crisis, completed, "crisis", "completed")


def safety_plan_compliance(covered: int, high_risk: int) -> MetricValue:
    """Active clients with a risk flag set at `as_of` (high-risk since the earliest flag still set)
    that have a safety plan signed on or after the local date of that flag / those clients x 100."""
    return _rate("safety_plan_compliance", covered, high_risk, "covered", "high_risk")


def supervision_hours(logged: Decimal, required: Decimal, month_over: bool) -> MetricValue:
    """Hours of supervision dated in the month (logged by `as_of`) / hours the license type requires
    per month x 100: numerator and denominator in hours. While the month is still running a shortfall
    is a "watch"; once it is over, an "alert" (the Georgia shortfall opens the next day)."""
    check_counts(logged=logged, required=required)
    found = _measure("supervision_hours", logged, required, HUNDRED)
    if found.status == "alert" and not month_over:
        return MetricValue(found.value, found.numerator, found.denominator, found.benchmark, "watch")
    return found


def supervision_note_timeliness(timely: int, decided: int) -> MetricValue:
    """Supervision sessions dated in the period signed (by `as_of`) on a local date fewer than
    `supervision_note_days` (7) days after the session / sessions of the period that are signed or
    unsigned on day 7 or later (still unsigned and not yet due: not counted) x 100. Per member: the
    supervisee's sessions."""
    return _rate("supervision_note_timeliness", timely, decided, "timely", "decided")


def informed_consent_coverage(covered: int, active: int) -> MetricValue:
    """Active clients with an informed consent signed, not withdrawn and not expired at `as_of`
    (one without an expiry lapses 365 days after signing) / active clients x 100."""
    return _rate("informed_consent_coverage", covered, active, "covered", "active")


def minor_consent_coverage(covered: int, minors: int) -> MetricValue:
    """Active clients under 18 today with a current guardian consent / active clients under 18 x 100."""
    return _rate("minor_consent_coverage", covered, minors, "covered", "minors")


def telehealth_consent_coverage(covered: int, telehealth: int) -> MetricValue:
    """Active clients with a telehealth appointment (not cancelled) dated on or before today that
    have a current telehealth consent / those clients x 100."""
    return _rate("telehealth_consent_coverage", covered, telehealth, "covered", "telehealth")


def hipaa_training_current(current: int, staff: int) -> MetricValue:
    """Active staff members with a HIPAA training completed on or before today and expiring after
    it (valid 365 days) / active staff members x 100. Per clinician: that member alone."""
    return _rate("hipaa_training_current", current, staff, "current", "staff")


COMPLIANCE_ITEMS: tuple[tuple[str, str], ...] = (
    ("completed_sessions", "notes_in_order"),
    ("active_clients", "plans_current"),
    ("active_clients", "informed_covered"),
    ("minor_clients", "minors_covered"),
    ("telehealth_clients", "telehealth_covered"),
    ("high_risk_clients", "safety_plans_covered"),
    ("staff", "staff_trained"),
)
"""(items, items in order) count pairs of a report that make up its compliance rate."""


def compliance_rate_of(counts: Mapping[str, int]) -> MetricValue:
    """100 - the share of a clinician's (or the practice's) compliance-relevant items in violation,
    i.e. items in order / items x 100, where the items are: each completed session of the period
    (in order unless its note is unsigned on day 7 or later), and for each active client a current
    treatment plan and a current informed consent, for each minor a guardian consent, for each
    telehealth client a telehealth consent, for each high-risk client a safety plan, and each
    active staff member's HIPAA training. Supervision is not counted (a month's hours are only
    judged once it is over). Benchmark 100%, alert below 90% (seed 001's practice overview: 90% is
    "needs coaching", 70% "performance plan")."""
    items = sum(counts.get(whole, 0) for whole, _ in COMPLIANCE_ITEMS)
    in_order = sum(counts.get(part, 0) for _, part in COMPLIANCE_ITEMS)
    return _rate("compliance_rate", in_order, items, "in_order", "items")


def performance_status(metrics: Iterable[MetricValue], overdue_notes: int = 0) -> str:
    """A clinician's row on the team and practice dashboards: "urgent" when any metric is past its
    alert threshold or any note is unsigned on day 7 or later (a Georgia violation); "review" when
    any metric is outside its benchmark; else "on_track". Metrics without data or benchmark are
    not judged."""
    statuses = {m.status for m in metrics}
    if "alert" in statuses or overdue_notes > 0:
        return "urgent"
    if "watch" in statuses:
        return "review"
    return "on_track"


@dataclass(frozen=True)
class Thresholds:
    """The deadlines the metrics share with the compliance rules in force."""

    note_overdue_days: int = DEFAULT_NOTE_OVERDUE_DAYS
    plan_overdue_days: int = DEFAULT_PLAN_OVERDUE_DAYS
    supervision_note_days: int = DEFAULT_SUPERVISION_NOTE_DAYS
    supervision_hours: Mapping[str, Decimal] = field(default_factory=dict)
    """Required monthly hours per license type (the rule's params, with the practice's own)."""


def _violation_day(ruleset: RuleSet, kind: str, default: int) -> int:
    for rule in ruleset.rules:
        if rule.kind == kind:
            days = [s.at for s in rule.steps if s.violation]
            if days:
                return min(days)
    return default


def thresholds(ruleset: RuleSet) -> Thresholds:
    """From the rule set: the first day of each ladder's first violation step (the note's supervisor
    alert, the plan's out-of-compliance, the supervision note's overdue) and the monthly hours."""
    hours: dict[str, Decimal] = {}
    for rule in ruleset.rules:
        if rule.kind == r.SUPERVISION_HOURS:
            hours.update(rule.params)
    return Thresholds(
        note_overdue_days=_violation_day(ruleset, r.NOTE_SIGNATURE, DEFAULT_NOTE_OVERDUE_DAYS),
        plan_overdue_days=_violation_day(ruleset, r.PLAN_REVIEW, DEFAULT_PLAN_OVERDUE_DAYS),
        supervision_note_days=_violation_day(ruleset, r.SUPERVISION_NOTE, DEFAULT_SUPERVISION_NOTE_DAYS),
        supervision_hours=hours,
    )


def month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


@dataclass(frozen=True)
class SupervisionMonth:
    """One supervisee's supervision in the month of a report's `as_of`."""

    member_id: UUID
    license_type: str
    month: date  # first day
    month_end: date  # last day
    logged: Decimal
    required: Decimal
    metric: MetricValue

    @property
    def remaining(self) -> Decimal:
        return max(self.required - self.logged, Decimal(0))


def supervision_month(
    member_id: UUID, license_type: str, month: date, logged: Decimal, required: Decimal, month_over: bool
) -> SupervisionMonth:
    first, last = month_of(month)
    return SupervisionMonth(member_id, license_type, first, last, logged, required,
                            supervision_hours(logged, required, month_over))


def supervision_total(rows: Sequence[SupervisionMonth], month_over: bool) -> MetricValue:
    """Several supervisees: each one's hours count up to their requirement, so one member's surplus
    never hides another's shortfall."""
    logged = sum((min(x.logged, x.required) for x in rows), Decimal(0))
    required = sum((x.required for x in rows), Decimal(0))
    return supervision_hours(logged, required, month_over)


COUNTS = (
    "completed_sessions", "same_day_signed", "signed_sessions", "crisis_sessions", "overdue_in_period",
    "notes_in_order", "unsigned_notes", "overdue_notes", "active_clients", "plans_current", "informed_covered",
    "minor_clients", "minors_covered", "telehealth_clients", "telehealth_covered", "high_risk_clients",
    "safety_plans_covered", "retention_cohort", "retained", "supervision_sessions", "supervision_timely",
    "staff", "staff_trained",
)


def documentation_metrics(
    counts: Mapping[str, int], documentation_time: timedelta, supervision: Sequence[SupervisionMonth],
    month_over: bool,
) -> dict[str, MetricValue]:
    """Every metric of this module from a report's counts (keys: `COUNTS`)."""
    c = counts
    return {
        "same_day_documentation_rate": same_day_documentation_rate(c["same_day_signed"], c["completed_sessions"]),
        "average_documentation_time": average_documentation_time(documentation_time, c["signed_sessions"]),
        "unsigned_note_backlog": unsigned_note_backlog(c["overdue_notes"]),
        "treatment_plan_currency": treatment_plan_currency(c["plans_current"], c["active_clients"]),
        "client_retention_90": client_retention_90(c["retained"], c["retention_cohort"]),
        "crisis_intervention_rate": crisis_intervention_rate(c["crisis_sessions"], c["completed_sessions"]),
        "safety_plan_compliance": safety_plan_compliance(c["safety_plans_covered"], c["high_risk_clients"]),
        "supervision_hours": supervision_total(supervision, month_over),
        "supervision_note_timeliness": supervision_note_timeliness(c["supervision_timely"],
                                                                   c["supervision_sessions"]),
        "informed_consent_coverage": informed_consent_coverage(c["informed_covered"], c["active_clients"]),
        "minor_consent_coverage": minor_consent_coverage(c["minors_covered"], c["minor_clients"]),
        "telehealth_consent_coverage": telehealth_consent_coverage(c["telehealth_covered"], c["telehealth_clients"]),
        "hipaa_training_current": hipaa_training_current(c["staff_trained"], c["staff"]),
        "compliance_rate": compliance_rate_of(c),
    }


@dataclass(frozen=True)
class DocumentationReport:
    practice_id: UUID
    clinician_id: UUID | None  # None: the practice (or the team a report was asked for)
    period: str
    start: date
    end: date  # the period's last local date, included
    time_zone: str
    as_of: datetime  # in the practice's time zone
    today: date  # the local date of as_of
    counts: dict[str, int]
    oldest_unsigned_on: date | None  # session date of the oldest unsigned note, any period
    supervision: tuple[SupervisionMonth, ...]
    metrics: dict[str, MetricValue]
