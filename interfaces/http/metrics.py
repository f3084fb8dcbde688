"""Attendance and schedule metrics (seed 001, Module 7, categories 1 and 5) per clinician and per
practice, for a day, an ISO week or a calendar month of the practice's local dates.

`start` may be any date: the period is the one that contains it (the week from its Monday, the
month from its 1st), and the response says which dates that is. Without `start`, today (practice
time). Values, numerators and denominators are decimal strings, so nothing is lost to floats.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel

from application.errors import Forbidden, NotFound, Unavailable
from domain.clinical.documentation_metrics import METRIC_DICTIONARY, DocumentationReport
from domain.identity.permissions import Scope
from interfaces.container import Container
from interfaces.http.deps import Caller, ContainerDep, ViewTeam
from projections.attendance_metrics import AttendanceReport

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])
Period = Annotated[Literal["day", "week", "month"], Query(description="day, ISO week (Monday-Sunday) or month")]
Start = Annotated[
    date | None, Query(description="Any date of the period (YYYY-MM-DD, practice time); default today")
]
MinPosition = Annotated[int | None, Query(ge=0, description="Wait for this log position")]


class OutsideTeam(Forbidden):
    code = "outside_team"


class MetricOut(BaseModel):
    name: str
    value: str | None
    numerator: str
    denominator: str
    benchmark: str
    status: str  # on_target | watch | alert | no_data | no_benchmark
    formula: str
    unit: str


class MetricsOut(BaseModel):
    clinician_id: UUID | None
    period: str
    start: date
    end: date  # the period's last date, included
    time_zone: str
    counts: dict[str, int]
    metrics: dict[str, MetricOut]
    as_of: datetime | None = None  # documentation metrics: the moment they are judged at


def _out(report: AttendanceReport | DocumentationReport) -> MetricsOut:
    metrics = {}
    for code, m in report.metrics.items():
        definition = METRIC_DICTIONARY[code]
        metrics[code] = MetricOut(
            name=definition.name, value=None if m.value is None else str(m.value), numerator=str(m.numerator),
            denominator=str(m.denominator), benchmark=m.benchmark, status=m.status, formula=definition.formula,
            unit=definition.unit,
        )
    return MetricsOut(
        clinician_id=report.clinician_id, period=report.period, start=report.start, end=report.end,
        time_zone=report.time_zone, counts=report.counts, metrics=metrics,
        as_of=report.as_of if isinstance(report, DocumentationReport) else None,
    )


def _check_scope(caller: Caller, clinician_id: UUID, practice_id: UUID | None) -> None:
    if practice_id != caller.practice_id:
        raise NotFound(f"No clinician {clinician_id}.")
    grant = caller.grant
    if grant.scope is not Scope.PRACTICE and clinician_id not in grant.team_ids:
        raise OutsideTeam("You may read your own metrics and those of the clinicians you supervise.")


def _report(
    k: Container, caller: Caller, period: str, start: date | None, min_position: int | None,
    clinician_id: UUID | None = None,
) -> MetricsOut:
    view = k.attendance_metrics
    if min_position and not view.caught_up_to(k.store.name, min_position):
        raise Unavailable("The metrics have not caught up yet; retry shortly.")
    if clinician_id is not None:
        _check_scope(caller, clinician_id, view.member_practice(clinician_id))
    day = start or k.clock.now().astimezone(ZoneInfo(view.time_zone(caller.practice_id))).date()
    return _out(view.report(caller.practice_id, period, day, clinician_id))


@router.get("/documentation", response_model=MetricsOut)
def documentation_metrics(
    caller: ViewTeam, k: ContainerDep, clinician_id: UUID | None = None, period: Period = "week",
    start: Start = None, min_position: MinPosition = None,
) -> MetricsOut:
    """Documentation, clinical-quality, supervision, consent and HIPAA-training metrics (seed 001
    categories 2, 3, 6, 10, 12) of a clinician, or without `clinician_id` of the practice, judged
    as of the earlier of now and the period's end. Same scope as the clinician metrics."""
    view = k.compliance_view
    if min_position and not view.caught_up_to(k.store.name, min_position):
        raise Unavailable("The metrics have not caught up yet; retry shortly.")
    docs = k.documentation_metrics
    if clinician_id is not None:
        _check_scope(caller, clinician_id, docs.member_practice(clinician_id))
    zone = view.time_zone(caller.practice_id) or ZoneInfo("UTC")
    now = k.clock.now()
    day = start or now.astimezone(zone).date()
    return _out(docs.report(caller.practice_id, period, day, now, clinician_id))


@router.get("/clinicians/{clinician_id}", response_model=MetricsOut)
def clinician_metrics(
    clinician_id: UUID, caller: ViewTeam, k: ContainerDep, period: Period = "week", start: Start = None,
    min_position: MinPosition = None,
) -> MetricsOut:
    """One clinician's metrics. Practice-wide roles read any clinician of the practice; a supervisor
    their own and their supervisees'; everyone else their own (403 `outside_team`)."""
    return _report(k, caller, period, start, min_position, clinician_id)


@router.get("/practice", response_model=MetricsOut)
def practice_metrics(
    caller: ViewTeam, k: ContainerDep, period: Period = "week", start: Start = None, min_position: MinPosition = None,
) -> MetricsOut:
    """The practice's metrics: each numerator and denominator summed over its clinicians."""
    return _report(k, caller, period, start, min_position)
