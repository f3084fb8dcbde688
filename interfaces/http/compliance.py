"""Compliance alerts, the as-of question and the rules in force (seed 001, Module 7)."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from application.compliance import concerning
from application.errors import Unavailable
from domain.compliance.evaluation import Finding
from domain.compliance.rules import Rule
from interfaces.http.deps import ContainerDep, ViewAudit, ViewBilling, ViewTeam
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1", tags=["compliance"])


class AlertOut(BaseModel):
    id: UUID
    type: str = Field(description="The rule kind, e.g. note_signature, treatment_plan_review.")
    rule_code: str
    rule_version: int
    step: str
    severity: str
    target: str = Field(description="Who is told: clinician, supervisor or admin.")
    target_user_id: UUID | None = Field(description="The member told (None: the practice's administrators).")
    clinician_id: UUID | None
    supervisor_id: UUID | None
    client_id: UUID | None
    subject_type: str
    subject_id: UUID | None
    period: date | None
    message: str
    action_required: str
    violation: bool
    since: date
    due: date | None
    status: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None
    acknowledged_note: str | None
    resolved_at: datetime | None


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=500)


class FindingOut(BaseModel):
    rule_code: str
    rule_version: int
    step: str
    severity: str
    target: str
    subject_type: str
    subject_id: UUID | None
    client_id: UUID | None
    clinician_id: UUID | None
    supervisor_id: UUID | None
    period: date | None
    message: str
    action_required: str
    since: date
    violation: bool


class AsOfOut(BaseModel):
    date: dt.date
    evaluated_at: datetime
    ruleset: str
    rule_version: int
    rules_effective_from: dt.date
    compliant: bool
    violations: list[FindingOut]
    nudges: list[FindingOut] = Field(description="Reminders and warnings that were due but not violations.")


class StepOut(BaseModel):
    name: str
    at: int
    until: int | None
    severity: str
    target: str
    action: str
    violation: bool
    message: str


class RuleOut(BaseModel):
    code: str
    kind: str
    unit: str
    description: str
    params: dict[str, str]
    steps: list[StepOut]


class RuleSetOut(BaseModel):
    name: str
    version: int
    effective_from: date
    in_force: bool
    rules: list[RuleOut]


class BillingHoldOut(BaseModel):
    appointment_id: UUID
    billable: bool
    held: bool
    reason: str | None
    hold_from: date | None
    rule_code: str
    rule_version: int


def _target_user(target: str, clinician_id: UUID | None, supervisor_id: UUID | None) -> UUID | None:
    return {"clinician": clinician_id, "supervisor": supervisor_id}.get(target)


def _finding(f: Finding) -> FindingOut:
    return FindingOut(
        rule_code=f.rule_code, rule_version=f.rule_version, step=f.step, severity=f.severity, target=f.target,
        subject_type=f.subject_type, subject_id=f.subject_id, client_id=f.client_id, clinician_id=f.clinician_id,
        supervisor_id=f.supervisor_id, period=f.period, message=f.message, action_required=f.action,
        since=f.since, violation=f.violation,
    )


def _rule(r: Rule) -> RuleOut:
    return RuleOut(
        code=r.code, kind=r.kind, unit=r.unit, description=r.description,
        params={k: str(v) for k, v in r.params.items()},
        steps=[StepOut(name=s.name, at=s.at, until=s.until, severity=s.severity, target=s.target, action=s.action,
                       violation=s.violation, message=s.message) for s in r.steps],
    )


@router.get("/compliance/alerts", response_model=list[AlertOut])
def list_alerts(
    caller: ViewTeam,
    k: ContainerDep,
    status: Literal["open", "acknowledged", "resolved", "active"] | None = None,
    type: Annotated[str | None, Query(max_length=60)] = None,
    severity: Literal["info", "warning", "critical"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    min_position: Annotated[int | None, Query(ge=0)] = None,
) -> list[AlertOut]:
    """Newest first. Administrators see every alert of the practice; a supervisor those about
    themself and their supervisees; a clinician those about themself."""
    view = k.compliance_view
    if min_position and not view.caught_up_to(k.store.name, min_position):
        raise Unavailable("Compliance alerts are catching up; retry shortly.")
    rows = view.alerts(caller.practice_id, concerning=concerning(), status=status, kind=type, severity=severity,
                       limit=limit)
    return [
        AlertOut(
            id=r.alert_id, type=r.kind, rule_code=r.rule_code, rule_version=r.rule_version, step=r.step,
            severity=r.severity, target=r.target, target_user_id=_target_user(r.target, r.clinician_id,
                                                                              r.supervisor_id),
            clinician_id=r.clinician_id, supervisor_id=r.supervisor_id, client_id=r.client_id,
            subject_type=r.subject_type, subject_id=r.subject_id, period=r.period, message=r.message,
            action_required=r.action, violation=r.violation, since=r.since, due=r.due, status=r.status,
            opened_at=r.opened_at, acknowledged_at=r.acknowledged_at, acknowledged_by=r.acknowledged_by,
            acknowledged_note=r.acknowledged_note, resolved_at=r.resolved_at,
        )
        for r in rows
    ]


@router.post("/compliance/alerts/{alert_id}/acknowledge", response_model=Accepted)
def acknowledge_alert(
    alert_id: UUID, caller: ViewTeam, k: ContainerDep, body: AcknowledgeIn | None = None
) -> Accepted:
    saved = k.compliance.acknowledge(caller.practice_id, alert_id, body.note if body else None)
    return Accepted.model_validate(saved, from_attributes=True)


@router.get("/compliance/as-of", response_model=AsOfOut)
def compliance_as_of(caller: ViewAudit, k: ContainerDep, date: date) -> AsOfOut:
    """Were we compliant on `date`? Judged from history at the end of that practice-local day,
    under the rule version in force on it."""
    answer = k.compliance.as_of(caller.practice_id, date)
    return AsOfOut(
        date=answer.on, evaluated_at=answer.moment, ruleset=answer.ruleset, rule_version=answer.rule_version,
        rules_effective_from=answer.effective_from, compliant=answer.compliant,
        violations=[_finding(f) for f in answer.violations],
        nudges=[_finding(f) for f in answer.findings if not f.violation],
    )


@router.get("/compliance/rules", response_model=list[RuleSetOut])
def compliance_rules(caller: ViewTeam, k: ContainerDep) -> list[RuleSetOut]:
    """Every version of the rules, newest first, with the one in force today marked."""
    zone = k.compliance_view.time_zone(caller.practice_id)
    today = k.clock.now().astimezone(zone).date() if zone else k.clock.now().date()
    current = k.rulesets.in_force(today).version
    return [
        RuleSetOut(name=rs.name, version=rs.version, effective_from=rs.effective_from,
                   in_force=rs.version == current, rules=[_rule(r) for r in rs.rules])
        for rs in reversed(k.rulesets.versions)
    ]


@router.get("/appointments/{appointment_id}/billing-hold", response_model=BillingHoldOut)
def billing_hold(appointment_id: UUID, caller: ViewBilling, k: ContainerDep) -> BillingHoldOut:
    hold = k.compliance.billing_hold(caller.practice_id, appointment_id)
    return BillingHoldOut(appointment_id=appointment_id, billable=not hold.held, held=hold.held, reason=hold.reason,
                          hold_from=hold.hold_from, rule_code=hold.rule_code, rule_version=hold.rule_version)
