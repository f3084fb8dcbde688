"""Response models of the dashboards (interfaces/http/dashboards.py) and their conversion from the
application's answers. Every metric is a `MetricOut` (value, numerator, denominator, benchmark,
status, as decimal strings) like the metrics API; hours are decimal strings too."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from application import dashboards as d
from domain.clinical.documentation_metrics import METRIC_DICTIONARY
from domain.scheduling.metrics import MetricValue
from interfaces.http.billing_schemas import Money
from interfaces.http.compliance import AlertOut
from interfaces.http.metrics import MetricOut

REVENUE_NOTE = "A clinician's own revenue counts are not built yet; null until they are."


def metric(code: str, m: MetricValue) -> MetricOut:
    definition = METRIC_DICTIONARY[code]
    return MetricOut(
        name=definition.name, value=None if m.value is None else str(m.value), numerator=str(m.numerator),
        denominator=str(m.denominator), benchmark=m.benchmark, status=m.status, formula=definition.formula,
        unit=definition.unit,
    )


def alert(a: d.AlertRow) -> AlertOut:
    return AlertOut(
        id=a.alert_id, type=a.kind, rule_code=a.rule_code, rule_version=a.rule_version, step=a.step,
        severity=a.severity, target=a.target,
        target_user_id={"clinician": a.clinician_id, "supervisor": a.supervisor_id}.get(a.target),
        clinician_id=a.clinician_id, supervisor_id=a.supervisor_id, client_id=a.client_id,
        subject_type=a.subject_type, subject_id=a.subject_id, period=a.period, message=a.message,
        action_required=a.action, violation=a.violation, since=a.since, due=a.due, status=a.status,
        opened_at=a.opened_at, acknowledged_at=a.acknowledged_at, acknowledged_by=a.acknowledged_by,
        acknowledged_note=a.acknowledged_note, resolved_at=a.resolved_at,
    )


class PeriodOut(BaseModel):
    period: str
    start: date
    end: date = Field(description="The period's last local date, included.")

    @classmethod
    def of(cls, p: d.Period) -> PeriodOut:
        return cls(period=p.period, start=p.start, end=p.end)


class UnsignedNotesOut(BaseModel):
    count: int = Field(description="Completed sessions of any date whose note is not fully signed now.")
    past_7_days: MetricOut = Field(description="The unsigned note backlog: unsigned on day 7 or later.")
    oldest_session_date: date | None
    oldest_age_days: int | None

    @classmethod
    def of(cls, u: d.UnsignedNotes) -> UnsignedNotesOut:
        return cls(count=u.count, past_7_days=metric("unsigned_note_backlog", u.past_7_days),
                   oldest_session_date=u.oldest_session_date, oldest_age_days=u.oldest_age_days)


class WeekSummaryOut(BaseModel):
    period: PeriodOut
    sessions_completed: int
    sessions_scheduled: int
    kept_visit_rate: MetricOut
    no_shows: int
    no_show_rate: MetricOut
    cancellations: int
    cancellation_rate: MetricOut
    unsigned_notes: UnsignedNotesOut


class DocumentationStatusOut(BaseModel):
    period: PeriodOut
    same_day_documentation_rate: MetricOut
    average_documentation_time: MetricOut
    notes_pending_signature: int
    unsigned_note_backlog: MetricOut
    treatment_plan_currency: MetricOut


class ClientEngagementOut(BaseModel):
    period: PeriodOut
    rebook_rate: MetricOut
    client_retention_90: MetricOut
    active_clients: int


class NudgeOut(BaseModel):
    metric: str
    status: str
    message: str


class AlertsAndNudgesOut(BaseModel):
    alerts: list[AlertOut]
    nudges: list[NudgeOut]


class MyPracticeOut(BaseModel):
    clinician_id: UUID
    name: str
    time_zone: str
    as_of: datetime
    this_week: WeekSummaryOut
    documentation: DocumentationStatusOut
    client_engagement: ClientEngagementOut
    revenue: None = Field(default=None, description=REVENUE_NOTE)
    alerts_and_nudges: AlertsAndNudgesOut

    @classmethod
    def of(cls, p: d.MyPractice) -> MyPracticeOut:
        w, doc, e = p.this_week, p.documentation, p.client_engagement
        return cls(
            clinician_id=p.clinician_id, name=p.name, time_zone=p.time_zone, as_of=p.as_of,
            this_week=WeekSummaryOut(
                period=PeriodOut.of(w.period), sessions_completed=w.sessions_completed,
                sessions_scheduled=w.sessions_scheduled, kept_visit_rate=metric("kept_visit_rate", w.kept_visit_rate),
                no_shows=w.no_shows, no_show_rate=metric("no_show_rate", w.no_show_rate),
                cancellations=w.cancellations, cancellation_rate=metric("cancellation_rate", w.cancellation_rate),
                unsigned_notes=UnsignedNotesOut.of(w.unsigned_notes),
            ),
            documentation=DocumentationStatusOut(
                period=PeriodOut.of(doc.period),
                same_day_documentation_rate=metric("same_day_documentation_rate", doc.same_day_documentation_rate),
                average_documentation_time=metric("average_documentation_time", doc.average_documentation_time),
                notes_pending_signature=doc.notes_pending_signature,
                unsigned_note_backlog=metric("unsigned_note_backlog", doc.unsigned_note_backlog),
                treatment_plan_currency=metric("treatment_plan_currency", doc.treatment_plan_currency),
            ),
            client_engagement=ClientEngagementOut(
                period=PeriodOut.of(e.period), rebook_rate=metric("rebook_rate", e.rebook_rate),
                client_retention_90=metric("client_retention_90", e.client_retention_90),
                active_clients=e.active_clients,
            ),
            alerts_and_nudges=AlertsAndNudgesOut(
                alerts=[alert(a) for a in p.alerts],
                nudges=[NudgeOut(metric=n.metric, status=n.status, message=n.message) for n in p.nudges],
            ),
        )


class TeamRowOut(BaseModel):
    clinician_id: UUID
    name: str
    role: str
    license_type: str | None
    kept_visit_rate: MetricOut
    no_show_rate: MetricOut
    unsigned_notes: UnsignedNotesOut
    same_day_documentation_rate: MetricOut
    status: str = Field(description="urgent: a metric past its alert threshold or a note unsigned 7+ days; "
                                    "review: a metric outside its benchmark; else on_track.")


class TeamMetricsOut(BaseModel):
    kept_visit_rate: MetricOut
    no_show_rate: MetricOut
    same_day_documentation_rate: MetricOut
    unsigned_notes: int
    unsigned_note_backlog: MetricOut


class CoachingOut(BaseModel):
    clinician_id: UUID
    name: str
    status: str
    kind: str = Field(description="urgent | review | recognition")
    metric: str | None
    value: MetricOut | None
    message: str


class SupervisionRowOut(BaseModel):
    supervisee_id: UUID
    name: str
    license_type: str
    month: date
    month_end: date
    hours_logged: str
    hours_required: str
    hours_remaining: str
    metric: MetricOut


class MyTeamOut(BaseModel):
    scope: str = Field(description="supervisees (a supervisor's) or practice (administrators: every clinician)")
    period: PeriodOut
    as_of: datetime
    team: list[TeamRowOut]
    team_metrics: TeamMetricsOut
    coaching_opportunities: list[CoachingOut]
    supervision_hours: list[SupervisionRowOut]
    supervision_total: MetricOut
    alerts: list[AlertOut]

    @classmethod
    def of(cls, t: d.MyTeam) -> MyTeamOut:
        m = t.team_metrics
        return cls(
            scope=t.scope, period=PeriodOut.of(t.period), as_of=t.as_of,
            team=[
                TeamRowOut(
                    clinician_id=row.clinician_id, name=row.name, role=row.role, license_type=row.license_type,
                    kept_visit_rate=metric("kept_visit_rate", row.kept_visit_rate),
                    no_show_rate=metric("no_show_rate", row.no_show_rate),
                    unsigned_notes=UnsignedNotesOut.of(row.unsigned_notes),
                    same_day_documentation_rate=metric("same_day_documentation_rate",
                                                       row.same_day_documentation_rate),
                    status=row.status,
                )
                for row in t.team
            ],
            team_metrics=TeamMetricsOut(
                kept_visit_rate=metric("kept_visit_rate", m.kept_visit_rate),
                no_show_rate=metric("no_show_rate", m.no_show_rate),
                same_day_documentation_rate=metric("same_day_documentation_rate", m.same_day_documentation_rate),
                unsigned_notes=m.unsigned_notes,
                unsigned_note_backlog=metric("unsigned_note_backlog", m.unsigned_note_backlog),
            ),
            coaching_opportunities=[
                CoachingOut(clinician_id=c.clinician_id, name=c.name, status=c.status, kind=c.kind, metric=c.metric,
                            value=metric(c.metric, c.value) if c.metric and c.value else None, message=c.message)
                for c in t.coaching
            ],
            supervision_hours=[
                SupervisionRowOut(
                    supervisee_id=x.supervisee_id, name=x.name, license_type=x.license_type, month=x.month,
                    month_end=x.month_end, hours_logged=str(x.hours_logged), hours_required=str(x.hours_required),
                    hours_remaining=str(x.hours_remaining), metric=metric("supervision_hours", x.metric),
                )
                for x in t.supervision_hours
            ],
            supervision_total=metric("supervision_hours", t.supervision_total),
            alerts=[alert(a) for a in t.alerts],
        )


class ScorecardOut(BaseModel):
    period: PeriodOut
    previous_period: PeriodOut
    kept_visit_rate: MetricOut
    kept_visit_rate_last_month: MetricOut
    trend: str = Field(description="up | down | flat | unknown (a month without appointments)")
    change_points: str | None = Field(description="This month's KVR minus last month's, in percentage points.")
    revenue: PracticeRevenueOut | None = Field(description="Month to date; null without billing reports.")


class PracticeRevenueOut(BaseModel):
    """Seed 001's revenue this month, outstanding AR and revenue cycle health (the same figures as
    GET /api/v1/reports/revenue and /api/v1/metrics/revenue for the month to date)."""

    charges: Money = Field(description="Net charges: entered less voided, plus invoice service lines.")
    collections: Money = Field(description="Money received less refunds.")
    outstanding_ar: Money = Field(description="Every open balance at the end of today.")
    metrics: dict[str, MetricOut]

    @classmethod
    def of(cls, r: d.PracticeRevenue | None) -> PracticeRevenueOut | None:
        if r is None:
            return None
        return cls(charges=r.charges, collections=r.collections, outstanding_ar=r.outstanding_ar,
                   metrics={code: metric(code, m) for code, m in r.metrics.items()})


class MatrixRowOut(BaseModel):
    clinician_id: UUID
    name: str
    kept_visit_rate: MetricOut
    sessions_per_day: MetricOut
    compliance: MetricOut = Field(description="100 - the share of the clinician's compliance items in violation.")
    notes_past_7_days: int
    status: str
    revenue: Money | None = Field(description="The clinician's net charges this month; null without billing reports.")


class ClinicianCountOut(BaseModel):
    clinician_id: UUID
    name: str
    count: int


class ComplianceItemOut(BaseModel):
    item: str
    rule_kinds: list[str]
    open_alerts: int = Field(description="Distinct subjects with an active violation alert of these rule kinds.")
    clinicians_affected: int
    by_clinician: list[ClinicianCountOut]
    metric: MetricOut | None
    status: str = Field(description="ok | attention")


class CapacityOut(BaseModel):
    period: PeriodOut
    schedule_fill_rate: MetricOut
    prime_time_utilization: MetricOut
    sessions_per_day: MetricOut


class PracticeOverviewOut(BaseModel):
    period: PeriodOut
    as_of: datetime
    scorecard: ScorecardOut
    clinician_matrix: list[MatrixRowOut]
    georgia_compliance: list[ComplianceItemOut]
    capacity: CapacityOut
    alerts_and_action_items: list[AlertOut]

    @classmethod
    def of(cls, o: d.PracticeOverview) -> PracticeOverviewOut:
        s, c = o.scorecard, o.capacity
        return cls(
            period=PeriodOut.of(o.period), as_of=o.as_of,
            scorecard=ScorecardOut(
                period=PeriodOut.of(s.period), previous_period=PeriodOut.of(s.previous_period),
                kept_visit_rate=metric("kept_visit_rate", s.kept_visit_rate),
                kept_visit_rate_last_month=metric("kept_visit_rate", s.kept_visit_rate_last_month),
                trend=s.trend, change_points=None if s.change_points is None else str(s.change_points),
                revenue=PracticeRevenueOut.of(s.revenue),
            ),
            clinician_matrix=[
                MatrixRowOut(
                    clinician_id=row.clinician_id, name=row.name,
                    kept_visit_rate=metric("kept_visit_rate", row.kept_visit_rate),
                    sessions_per_day=metric("sessions_per_day", row.sessions_per_day),
                    compliance=metric("compliance_rate", row.compliance), notes_past_7_days=row.notes_past_7_days,
                    status=row.status, revenue=row.revenue,
                )
                for row in o.clinician_matrix
            ],
            georgia_compliance=[
                ComplianceItemOut(
                    item=i.item, rule_kinds=list(i.rule_kinds), open_alerts=i.open_alerts,
                    clinicians_affected=i.clinicians_affected,
                    by_clinician=[ClinicianCountOut(clinician_id=b.clinician_id, name=b.name, count=b.count)
                                  for b in i.by_clinician],
                    metric=metric(i.metric_code, i.metric) if i.metric_code and i.metric else None,
                    status=i.status,
                )
                for i in o.georgia_compliance
            ],
            capacity=CapacityOut(
                period=PeriodOut.of(c.period), schedule_fill_rate=metric("schedule_fill_rate", c.schedule_fill_rate),
                prime_time_utilization=metric("prime_time_utilization", c.prime_time_utilization),
                sessions_per_day=metric("sessions_per_day", c.sessions_per_day),
            ),
            alerts_and_action_items=[alert(a) for a in o.alerts],
        )
