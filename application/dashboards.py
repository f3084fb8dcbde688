"""The three dashboards of seed 001, Module 7 ("My Practice", "My Team", "Practice Overview"),
assembled from the attendance metrics, the documentation metrics, the compliance alerts and the
member directory. The caller's grant decides whose numbers: a clinician their own, a supervisor
their supervisees, an administrator every clinician of the practice.

Periods are local dates of the practice: "this week" is the ISO week containing the clock's now,
"this month" the calendar month containing it. Every number comes with its numerator,
denominator, benchmark and status (`MetricValue`); a team's or the practice's figure adds up the
numerators and denominators of its members, never their rates.

The Practice Overview carries the revenue panels of seed 001 (revenue this month, outstanding AR,
claim acceptance, the revenue cycle health metrics, each clinician's revenue) from the billing
reports, month to date. "My Practice" has no revenue panel yet: its per-clinician billing counts
(sessions billed, reimbursement, outstanding charges) are not in a read model, so it answers
`revenue = None`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from application import access
from application.billing.reports import RevenueMetricsReport, RevenueReport
from application.errors import Forbidden
from application.ports import Clock
from domain.clinical.documentation_metrics import (
    METRIC_DICTIONARY,
    DocumentationReport,
    SupervisionMonth,
    performance_status,
)
from domain.compliance import rules as r
from domain.identity.permissions import Permission
from domain.scheduling.metrics import ONE_PLACE, MetricValue, kept_visit_rate, no_show_rate, period_bounds

TEAM_ROLES = frozenset({"supervisor", "admin", "owner"})
PRACTICE_ROLES = frozenset({"admin", "owner"})
CLINICAL_ROLES = ("clinician", "supervisor")
ALERT_LIMIT = 1000
COACHING = {
    "kept_visit_rate": "schedule review (seed 001: KVR below 80% triggers a weekly review)",
    "no_show_rate": "client engagement review",
    "same_day_documentation_rate": "productivity coaching",
    "unsigned_note_backlog": "Georgia compliance risk: sign the notes past 7 days",
}
NUDGED = (
    "kept_visit_rate", "same_day_documentation_rate", "average_documentation_time", "unsigned_note_backlog",
    "treatment_plan_currency", "rebook_rate", "client_retention_90",
)
GEORGIA_PANEL: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("notes_over_7_days", (r.NOTE_SIGNATURE,), "unsigned_note_backlog"),
    ("treatment_plans_out_of_compliance", (r.PLAN_REVIEW,), "treatment_plan_currency"),
    ("informed_consents_lapsed", (r.INFORMED_CONSENT,), "informed_consent_coverage"),
    ("hipaa_training_lapsed", (r.HIPAA_TRAINING,), "hipaa_training_current"),
    ("supervision_shortfalls", (r.SUPERVISION_HOURS,), "supervision_hours"),
    ("supervision_notes_overdue", (r.SUPERVISION_NOTE,), "supervision_note_timeliness"),
    ("missing_safety_plans", (r.SAFETY_PLAN,), "safety_plan_compliance"),
    ("minor_consent_gaps", (r.MINOR_CONSENT,), "minor_consent_coverage"),
    ("telehealth_consent_gaps", (r.TELEHEALTH_CONSENT,), "telehealth_consent_coverage"),
    ("data_quality", (r.DQ_DEMOGRAPHICS, r.DQ_NOTE_LINK), None),
)
"""(panel item, rule kinds counted, the metric that measures the same thing)."""
DATA_QUALITY = frozenset({r.DQ_DEMOGRAPHICS, r.DQ_NOTE_LINK})

ZERO_MONEY = Decimal("0.00")


class NotATeamLead(Forbidden):
    code = "not_a_team_lead"


class NotAnAdministrator(Forbidden):
    code = "permission_denied"


# --- ports: the read models, as the dashboards use them ------------------------------------


class AttendanceReport(Protocol):
    @property
    def counts(self) -> Mapping[str, int]: ...
    @property
    def metrics(self) -> Mapping[str, MetricValue]: ...


class Attendance(Protocol):
    def report(
        self, practice_id: UUID, period: str, day: date, clinician_id: UUID | None = None
    ) -> AttendanceReport: ...


class TeamDocumentation(Protocol):
    @property
    def members(self) -> Mapping[UUID, DocumentationReport]: ...
    @property
    def total(self) -> DocumentationReport: ...


class Documentation(Protocol):
    def report(
        self, practice_id: UUID, period: str, day: date, now: datetime, clinician_id: UUID | None = None
    ) -> DocumentationReport: ...

    def team(
        self, practice_id: UUID, period: str, day: date, now: datetime, clinician_ids: Sequence[UUID]
    ) -> TeamDocumentation: ...


class AlertRow(Protocol):
    @property
    def alert_id(self) -> UUID: ...
    @property
    def kind(self) -> str: ...
    @property
    def rule_code(self) -> str: ...
    @property
    def step(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def subject_type(self) -> str: ...
    @property
    def subject_id(self) -> UUID | None: ...
    @property
    def period(self) -> date | None: ...
    @property
    def client_id(self) -> UUID | None: ...
    @property
    def clinician_id(self) -> UUID | None: ...
    @property
    def supervisor_id(self) -> UUID | None: ...
    @property
    def message(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def violation(self) -> bool: ...
    @property
    def since(self) -> date: ...
    @property
    def due(self) -> date | None: ...
    @property
    def status(self) -> str: ...
    @property
    def opened_at(self) -> datetime: ...
    @property
    def rule_version(self) -> int: ...
    @property
    def acknowledged_at(self) -> datetime | None: ...
    @property
    def acknowledged_by(self) -> UUID | None: ...
    @property
    def acknowledged_note(self) -> str | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...


class ComplianceAlerts(Protocol):
    def time_zone(self, practice_id: UUID) -> ZoneInfo | None: ...

    def alerts(
        self, practice_id: UUID, *, concerning: Collection[UUID] | None, status: str | None = None,
        kind: str | None = None, severity: str | None = None, limit: int = 200,
    ) -> Sequence[AlertRow]: ...


class StaffRow(Protocol):
    @property
    def member_id(self) -> UUID: ...
    @property
    def full_name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def license_type(self) -> str | None: ...


class StaffDirectory(Protocol):
    def list(
        self, practice_id: UUID, role: str | None = None, active_only: bool = True, staff_only: bool = False
    ) -> Sequence[StaffRow]: ...


# --- what the dashboards answer -----------------------------------------------------------


@dataclass(frozen=True)
class Period:
    period: str  # week | month
    start: date
    end: date  # included


@dataclass(frozen=True)
class UnsignedNotes:
    """Completed sessions (of any date) whose note is not fully signed now."""

    count: int
    past_7_days: MetricValue  # the unsigned note backlog
    oldest_session_date: date | None
    oldest_age_days: int | None


@dataclass(frozen=True)
class WeekSummary:
    period: Period
    sessions_completed: int
    sessions_scheduled: int
    kept_visit_rate: MetricValue
    no_shows: int
    no_show_rate: MetricValue
    cancellations: int
    cancellation_rate: MetricValue
    unsigned_notes: UnsignedNotes


@dataclass(frozen=True)
class DocumentationStatus:
    period: Period
    same_day_documentation_rate: MetricValue
    average_documentation_time: MetricValue
    notes_pending_signature: int
    unsigned_note_backlog: MetricValue
    treatment_plan_currency: MetricValue


@dataclass(frozen=True)
class ClientEngagement:
    period: Period
    rebook_rate: MetricValue
    client_retention_90: MetricValue
    active_clients: int


@dataclass(frozen=True)
class Nudge:
    metric: str
    status: str
    message: str


@dataclass(frozen=True)
class MyPractice:
    clinician_id: UUID
    name: str
    time_zone: str
    as_of: datetime
    this_week: WeekSummary
    documentation: DocumentationStatus
    client_engagement: ClientEngagement
    alerts: list[AlertRow]
    nudges: list[Nudge]
    revenue: None = None
    """Per-clinician revenue counts are not built yet."""


@dataclass(frozen=True)
class TeamRow:
    clinician_id: UUID
    name: str
    role: str
    license_type: str | None
    kept_visit_rate: MetricValue
    no_show_rate: MetricValue
    unsigned_notes: UnsignedNotes
    same_day_documentation_rate: MetricValue
    status: str  # on_track | review | urgent (performance_status)


@dataclass(frozen=True)
class TeamMetrics:
    kept_visit_rate: MetricValue
    no_show_rate: MetricValue
    same_day_documentation_rate: MetricValue
    unsigned_notes: int
    unsigned_note_backlog: MetricValue


@dataclass(frozen=True)
class Coaching:
    clinician_id: UUID
    name: str
    status: str  # the clinician's row status
    kind: str  # urgent | review | recognition
    metric: str | None
    value: MetricValue | None
    message: str


@dataclass(frozen=True)
class SupervisionRow:
    supervisee_id: UUID
    name: str
    license_type: str
    month: date
    month_end: date
    hours_logged: Decimal
    hours_required: Decimal
    hours_remaining: Decimal
    metric: MetricValue


@dataclass(frozen=True)
class MyTeam:
    scope: str  # supervisees | practice
    period: Period
    as_of: datetime
    team: list[TeamRow]
    team_metrics: TeamMetrics
    coaching: list[Coaching]
    supervision_hours: list[SupervisionRow]
    supervision_total: MetricValue
    alerts: list[AlertRow]


@dataclass(frozen=True)
class Scorecard:
    period: Period
    previous_period: Period
    kept_visit_rate: MetricValue
    kept_visit_rate_last_month: MetricValue
    trend: str  # up | down | flat | unknown
    change_points: Decimal | None  # this month's KVR minus last month's, percentage points
    revenue: PracticeRevenue | None = None  # None: the practice has no billing reports wired


@dataclass(frozen=True)
class PracticeRevenue:
    """Seed 001's "Revenue This Month", "Outstanding AR" and "Revenue Cycle Health", month to date
    (application/billing/reports.py defines each figure)."""

    charges: Decimal  # net charges: entered less voided, plus invoice service lines
    collections: Decimal  # money received less refunds
    outstanding_ar: Decimal  # every open balance at the end of today
    metrics: dict[str, MetricValue]  # charge entry lag, billing compliance, claim acceptance, days in AR, ...


@dataclass(frozen=True)
class MatrixRow:
    clinician_id: UUID
    name: str
    kept_visit_rate: MetricValue
    sessions_per_day: MetricValue
    compliance: MetricValue  # compliance_rate_of: 100 - share of compliance items in violation
    notes_past_7_days: int
    status: str
    revenue: Decimal | None = None  # the clinician's net charges this month; None without billing reports


@dataclass(frozen=True)
class ClinicianCount:
    clinician_id: UUID
    name: str
    count: int


@dataclass(frozen=True)
class ComplianceItem:
    item: str
    rule_kinds: tuple[str, ...]
    open_alerts: int  # distinct subjects (note, client, staff member and month) with an active alert
    clinicians_affected: int
    by_clinician: list[ClinicianCount]
    metric_code: str | None
    metric: MetricValue | None
    status: str  # ok | attention


@dataclass(frozen=True)
class Capacity:
    period: Period
    schedule_fill_rate: MetricValue
    prime_time_utilization: MetricValue
    sessions_per_day: MetricValue


@dataclass(frozen=True)
class PracticeOverview:
    period: Period
    as_of: datetime
    scorecard: Scorecard
    clinician_matrix: list[MatrixRow]
    georgia_compliance: list[ComplianceItem]
    capacity: Capacity
    alerts: list[AlertRow]


# --- the service --------------------------------------------------------------------------


def _notes(n: int) -> str:
    return f"{n} note" if n == 1 else f"{n} notes"


def _age(oldest: date | None, today: date) -> int | None:
    return None if oldest is None else (today - oldest).days


def unsigned_notes(report: DocumentationReport) -> UnsignedNotes:
    return UnsignedNotes(
        report.counts["unsigned_notes"], report.metrics["unsigned_note_backlog"], report.oldest_unsigned_on,
        _age(report.oldest_unsigned_on, report.today),
    )


def _shown(m: MetricValue, unit: str) -> str:
    if m.value is None:
        return "no data"
    return {"percent": f"{m.value}%", "hours": f"{m.value} h", "notes": f"{m.value}"}.get(unit, f"{m.value}")


def _about(code: str, m: MetricValue) -> str:
    d = METRIC_DICTIONARY[code]
    return f"{d.name} {_shown(m, d.unit)} (benchmark {m.benchmark})"


def kvr_trend(now: MetricValue, before: MetricValue) -> tuple[str, Decimal | None]:
    """Percentage points between two KVRs, from the exact rates, rounded half-up to one decimal."""
    if now.value is None or before.value is None:
        return "unknown", None
    change = (Decimal(now.numerator) * 100 / Decimal(now.denominator)
              - Decimal(before.numerator) * 100 / Decimal(before.denominator))
    shown = change.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)
    return ("up" if change > 0 else "down" if change < 0 else "flat"), shown


class RevenueReports(Protocol):
    def metrics(self, practice_id: UUID, first: date | None = None, last: date | None = None
                ) -> RevenueMetricsReport: ...

    def revenue(self, practice_id: UUID, first: date | None = None, last: date | None = None, by: str = "clinician"
                ) -> RevenueReport: ...


class DashboardService:
    def __init__(
        self, clock: Clock, attendance: Attendance, documentation: Documentation, alerts: ComplianceAlerts,
        staff: StaffDirectory, revenue: RevenueReports | None = None,
    ) -> None:
        self.clock = clock
        self.attendance = attendance
        self.documentation = documentation
        self.compliance = alerts
        self.staff = staff
        self.revenue = revenue

    # --- who and when -------------------------------------------------------------------------

    @staticmethod
    def _grant() -> access.Grant:
        grant = access.current()
        if grant is None:
            raise Forbidden("Dashboards are read by members of the practice.")
        return grant

    def _now(self, practice_id: UUID) -> tuple[datetime, date, str]:
        tz = self.compliance.time_zone(practice_id) or ZoneInfo("UTC")
        now = self.clock.now().astimezone(tz)
        return now, now.date(), tz.key

    @staticmethod
    def _period(period: str, today: date) -> Period:
        first, last = period_bounds(period, today)
        return Period(period, first, last)

    def _names(self, practice_id: UUID) -> dict[UUID, StaffRow]:
        return {m.member_id: m for m in self.staff.list(practice_id, active_only=False, staff_only=True)}

    def _active_alerts(self, practice_id: UUID, concerning: Collection[UUID] | None) -> list[AlertRow]:
        return list(self.compliance.alerts(practice_id, concerning=concerning, status="active", limit=ALERT_LIMIT))

    # --- My Practice --------------------------------------------------------------------------

    def my_practice(self) -> MyPractice:
        """The calling member's own week, documentation, client engagement (this month) and
        active compliance alerts about them."""
        grant = self._grant()
        practice, me = grant.practice_id, grant.member_id
        now, today, time_zone = self._now(practice)
        week, month = self._period("week", today), self._period("month", today)
        attendance_week = self.attendance.report(practice, "week", today, me)
        attendance_month = self.attendance.report(practice, "month", today, me)
        docs_week = self.documentation.report(practice, "week", today, now, me)
        docs_month = self.documentation.report(practice, "month", today, now, me)
        counts, m = attendance_week.counts, attendance_week.metrics
        pending = unsigned_notes(docs_week)
        this_week = WeekSummary(
            week, counts["completed"], counts["scheduled"], m["kept_visit_rate"], counts["no_shows"],
            m["no_show_rate"], counts["cancelled"], m["cancellation_rate"], pending,
        )
        documentation = DocumentationStatus(
            week, docs_week.metrics["same_day_documentation_rate"], docs_week.metrics["average_documentation_time"],
            pending.count, docs_week.metrics["unsigned_note_backlog"], docs_month.metrics["treatment_plan_currency"],
        )
        engagement = ClientEngagement(
            month, attendance_month.metrics["rebook_rate"], docs_month.metrics["client_retention_90"],
            docs_month.counts["active_clients"],
        )
        alerts = [a for a in self._active_alerts(practice, {me}) if a.clinician_id == me]
        member = self._names(practice).get(me)
        return MyPractice(
            me, member.full_name if member else "", time_zone, now, this_week, documentation, engagement, alerts,
            self._nudges(this_week, documentation, engagement),
        )

    @staticmethod
    def _nudges(week: WeekSummary, docs: DocumentationStatus, engagement: ClientEngagement) -> list[Nudge]:
        """One per metric outside its benchmark, and the notes waiting for a signature."""
        nudges = []
        if week.unsigned_notes.count:
            n = week.unsigned_notes
            nudges.append(Nudge("notes_pending_signature", "watch",
                                f"{_notes(n.count)} pending signature (oldest: {n.oldest_age_days} days)."))
        values = {
            "kept_visit_rate": week.kept_visit_rate,
            "same_day_documentation_rate": docs.same_day_documentation_rate,
            "average_documentation_time": docs.average_documentation_time,
            "unsigned_note_backlog": docs.unsigned_note_backlog,
            "treatment_plan_currency": docs.treatment_plan_currency,
            "rebook_rate": engagement.rebook_rate,
            "client_retention_90": engagement.client_retention_90,
        }
        for code in NUDGED:
            m = values[code]
            if m.status in ("watch", "alert"):
                nudges.append(Nudge(code, m.status, f"{_about(code, m)}."))
        return nudges

    # --- My Team ------------------------------------------------------------------------------

    def my_team(self) -> MyTeam:
        """A supervisor's supervisees, or (administrators, owners) every clinician and supervisor
        of the practice: this month's table, team totals, coaching, supervision hours, alerts."""
        grant = self._grant()
        if grant.role not in TEAM_ROLES:
            raise NotATeamLead("The team dashboard is for supervisors and practice administrators.")
        practice = grant.practice_id
        now, today, _ = self._now(practice)
        month = self._period("month", today)
        staff = self._names(practice)
        whole_practice = grant.role in PRACTICE_ROLES
        if whole_practice:
            team = [s.member_id for s in self.staff.list(practice, staff_only=True) if s.role in CLINICAL_ROLES]
            concerning: Collection[UUID] | None = None
        else:
            supervisees = grant.team_ids - {grant.member_id}
            team = [s.member_id for s in self.staff.list(practice, staff_only=True) if s.member_id in supervisees]
            concerning = grant.team_ids
        docs = self.documentation.team(practice, "month", today, now, team)
        rows, attendance = [], []
        for clinician in team:
            report = self.attendance.report(practice, "month", today, clinician)
            attendance.append(report)
            doc = docs.members[clinician]
            member = staff[clinician]
            values = [report.metrics["kept_visit_rate"], report.metrics["no_show_rate"],
                      doc.metrics["same_day_documentation_rate"], doc.metrics["unsigned_note_backlog"]]
            rows.append(TeamRow(
                clinician, member.full_name, member.role, member.license_type, values[0], values[1],
                unsigned_notes(doc), values[2], performance_status(values, doc.counts["overdue_notes"]),
            ))
        completed = sum(a.counts["completed"] for a in attendance)
        scheduled = sum(a.counts["scheduled"] for a in attendance)
        no_shows = sum(a.counts["no_shows"] for a in attendance)
        totals = TeamMetrics(
            kept_visit_rate(completed, scheduled), no_show_rate(no_shows, scheduled),
            docs.total.metrics["same_day_documentation_rate"], docs.total.counts["unsigned_notes"],
            docs.total.metrics["unsigned_note_backlog"],
        )
        supervision = sorted((self._supervision_row(x, staff) for x in docs.total.supervision),
                             key=lambda x: (x.name, str(x.supervisee_id)))
        return MyTeam(
            "practice" if whole_practice else "supervisees", month, docs.total.as_of, rows, totals,
            self._coaching(rows), supervision, docs.total.metrics["supervision_hours"],
            self._active_alerts(practice, concerning),
        )

    @staticmethod
    def _supervision_row(x: SupervisionMonth, staff: Mapping[UUID, StaffRow]) -> SupervisionRow:
        member = staff.get(x.member_id)
        return SupervisionRow(x.member_id, member.full_name if member else "", x.license_type, x.month, x.month_end,
                              x.logged, x.required, x.remaining, x.metric)

    @staticmethod
    def _coaching(rows: Sequence[TeamRow]) -> list[Coaching]:
        """Per clinician, each metric past its alert threshold (urgent) or outside its benchmark
        (review), worst first; a clinician with sessions this month meeting every benchmark, a
        recognition."""
        found = []
        for row in rows:
            values = {"kept_visit_rate": row.kept_visit_rate, "no_show_rate": row.no_show_rate,
                      "same_day_documentation_rate": row.same_day_documentation_rate,
                      "unsigned_note_backlog": row.unsigned_notes.past_7_days}
            outside = [(code, m) for code, m in values.items() if m.status in ("alert", "watch")]
            for code, m in outside:
                kind = "urgent" if m.status == "alert" or code == "unsigned_note_backlog" else "review"
                message = f"{_about(code, m)}: {COACHING[code]}."
                if code == "unsigned_note_backlog":
                    message = (f"{_notes(int(m.numerator))} unsigned 7 days or more (oldest: "
                               f"{row.unsigned_notes.oldest_age_days} days): {COACHING[code]}.")
                found.append(Coaching(row.clinician_id, row.name, row.status, kind, code, m, message))
            measured = [v for c, v in values.items() if c != "unsigned_note_backlog" and v.status != "no_data"]
            if not outside and measured:
                found.append(Coaching(row.clinician_id, row.name, row.status, "recognition", None, None,
                                      "Meets every benchmark: recognition opportunity."))
        order = {"urgent": 0, "review": 1, "recognition": 2}
        return sorted(found, key=lambda c: (order[c.kind], c.name, str(c.clinician_id), c.metric or ""))

    # --- Practice Overview --------------------------------------------------------------------

    def practice_overview(self) -> PracticeOverview:
        """This month's scorecard (with last month's KVR), clinician matrix, Georgia compliance
        panel, capacity, and the administrators' alerts and escalations."""
        grant = self._grant()
        if not grant.can(Permission.MANAGE_TEAM):
            raise NotAnAdministrator("The practice overview is for practice administrators.")
        practice = grant.practice_id
        now, today, _ = self._now(practice)
        month = self._period("month", today)
        previous = self._period("month", month.start - timedelta(days=1))
        staff = self._names(practice)
        this_month = self.attendance.report(practice, "month", today)
        last_month = self.attendance.report(practice, "month", previous.start)
        trend, change = kvr_trend(this_month.metrics["kept_visit_rate"], last_month.metrics["kept_visit_rate"])
        revenue, by_clinician = self._practice_revenue(practice, month.start, today)
        scorecard = Scorecard(month, previous, this_month.metrics["kept_visit_rate"],
                              last_month.metrics["kept_visit_rate"], trend, change, revenue)
        clinicians = [s.member_id for s in self.staff.list(practice, staff_only=True) if s.role in CLINICAL_ROLES]
        docs = self.documentation.team(practice, "month", today, now, clinicians)
        matrix = []
        for clinician in clinicians:
            report = self.attendance.report(practice, "month", today, clinician)
            doc = docs.members[clinician]
            kvr, per_day = report.metrics["kept_visit_rate"], report.metrics["sessions_per_day"]
            compliance = doc.metrics["compliance_rate"]
            overdue = doc.counts["overdue_notes"]
            matrix.append(MatrixRow(clinician, staff[clinician].full_name, kvr, per_day, compliance, overdue,
                                    performance_status((kvr, per_day, compliance), overdue),
                                    None if revenue is None else by_clinician.get(str(clinician), ZERO_MONEY)))
        practice_docs = self.documentation.report(practice, "month", today, now)
        alerts = self._active_alerts(practice, None)
        capacity = Capacity(month, this_month.metrics["schedule_fill_rate"],
                            this_month.metrics["prime_time_utilization"], this_month.metrics["sessions_per_day"])
        actions = [a for a in alerts if a.target == "admin" or a.kind.startswith("escalation_")]
        return PracticeOverview(
            month, practice_docs.as_of, scorecard, matrix, self._georgia(alerts, practice_docs, staff), capacity,
            actions,
        )

    def _practice_revenue(self, practice: UUID, first: date, last: date
                          ) -> tuple[PracticeRevenue | None, dict[str | None, Decimal]]:
        if self.revenue is None:
            return None, {}
        report = self.revenue.metrics(practice, first, last)
        by_clinician = self.revenue.revenue(practice, first, last, by="clinician")
        totals = by_clinician.totals
        revenue = PracticeRevenue(totals.net_charges, totals.net_collections, report.counts.open_balance,
                                  report.metrics)
        return revenue, {row.key: row.net_charges for row in by_clinician.rows}

    @staticmethod
    def _georgia(
        alerts: Sequence[AlertRow], docs: DocumentationReport, staff: Mapping[UUID, StaffRow]
    ) -> list[ComplianceItem]:
        """Per panel item, the distinct subjects with an active violation alert of its rule kinds
        (data quality: any active alert), per clinician, beside the metric measuring it."""
        items = []
        for item, kinds, code in GEORGIA_PANEL:
            subjects: dict[tuple[str, UUID | None, date | None], UUID | None] = {}
            for a in alerts:
                if a.kind in kinds and (a.violation or a.kind in DATA_QUALITY):
                    subjects.setdefault((a.subject_type, a.subject_id, a.period), a.clinician_id)
            per: dict[UUID, int] = {}
            for clinician in subjects.values():
                if clinician is not None:
                    per[clinician] = per.get(clinician, 0) + 1
            by_clinician = sorted(
                (ClinicianCount(c, staff[c].full_name if c in staff else "", n) for c, n in per.items()),
                key=lambda x: (-x.count, x.name, str(x.clinician_id)),
            )
            metric = docs.metrics[code] if code else None
            attention = bool(subjects) or (metric is not None and metric.status in ("watch", "alert"))
            items.append(ComplianceItem(item, kinds, len(subjects), len(per), by_clinician, code, metric,
                                        "attention" if attention else "ok"))
        return items
