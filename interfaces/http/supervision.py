"""Clinical supervision: sessions logged and signed, the monthly hours per supervisee, and the
practice's monthly hour requirements per license type (seed 001 Module 7, Georgia rule 4).

Topics are short subjects ("ethics", "risk assessment"), never client names or identifiers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, model_validator

from application.errors import Unavailable
from application.supervision import Month, SupervisionHours
from domain.identity.licenses import LICENSE_TYPES
from domain.identity.permissions import Permission
from domain.supervision.session import MAX_TOPIC_LENGTH, MAX_TOPICS, SupervisionSession
from interfaces.container import Container
from interfaces.http.deps import Authorize, Caller, ContainerDep, EditSettings, ViewTeam
from interfaces.http.schemas import Accepted, Strict

router = APIRouter(tags=["supervision"])
WriteNotes = Annotated[Caller, Depends(Authorize(Permission.WRITE_NOTES))]
MONTH = r"^\d{4}-\d{2}$"
Hours = Annotated[Decimal, Field(gt=0, le=8, max_digits=4, decimal_places=2, description="0.25 to 8, quarter hours.")]
Topic = Annotated[str, Field(min_length=1, max_length=MAX_TOPIC_LENGTH)]
Topics = Annotated[list[Topic], Field(max_length=MAX_TOPICS, description="Short subjects; never client identifiers.")]
MonthQuery = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM; default: the practice's month now.")]
MinPosition = Annotated[int | None, Query(ge=0, description="Wait for this log position")]
CENTS = Decimal("0.01")


def _hours(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENTS)


class SessionIn(Strict):
    supervisee_id: UUID | None = Field(default=None, description="Leave out to log your own supervision.")
    supervisor_id: UUID
    session_date: date = Field(description="The practice-local date; not in the future.")
    hours: Hours
    format: Literal["individual", "group"]
    topics: Topics = Field(default_factory=list)


class SessionEditIn(Strict):
    session_date: date | None = None
    hours: Hours | None = None
    format: Literal["individual", "group"] | None = None
    topics: Topics | None = None

    @model_validator(mode="after")
    def _something(self) -> SessionEditIn:
        if not self.model_fields_set or all(getattr(self, f) is None for f in self.model_fields_set):
            raise ValueError("Nothing to change.")
        return self


class SessionOut(BaseModel):
    id: UUID
    supervisee_id: UUID
    supervisor_id: UUID
    session_date: date
    hours: Decimal
    format: str
    topics: list[str]
    logged_at: datetime
    logged_by: UUID
    signed_by: UUID | None
    signed_at: datetime | None
    signed_within_7_days: bool | None = Field(default=None, description="Listed sessions only.")


class HoursOut(BaseModel):
    supervisee_id: UUID
    license_type: str | None
    supervised: bool
    required_hours: Decimal
    logged_hours: Decimal
    signed_hours: Decimal
    remaining_hours: Decimal
    sessions: int
    signed_within_7_days: int


class MonthHoursOut(BaseModel):
    month: str
    supervisees: list[HoursOut]


class RequirementIn(Strict):
    license_type: str = Field(max_length=40)
    monthly_hours: Decimal = Field(ge=0, le=40, max_digits=4, decimal_places=2, description="0 removes it.")


class RequirementOut(BaseModel):
    license_type: str
    label: str
    supervised: bool
    monthly_hours: Decimal


def _session_out(s: SupervisionSession) -> SessionOut:
    return SessionOut(
        id=s.id, supervisee_id=s.supervisee_id, supervisor_id=s.supervisor_id, session_date=s.session_date,
        hours=_hours(s.hours), format=s.format, topics=list(s.topics), logged_at=s.logged_at, logged_by=s.logged_by,
        signed_by=s.signed_by, signed_at=s.signed_at,
    )


def _row_out(r: Any) -> SessionOut:
    return SessionOut(
        id=r.session_id, supervisee_id=r.supervisee_id, supervisor_id=r.supervisor_id, session_date=r.session_date,
        hours=_hours(r.hours), format=r.format, topics=list(r.topics), logged_at=r.logged_at, logged_by=r.logged_by,
        signed_by=r.signed_by, signed_at=r.signed_at, signed_within_7_days=r.signed_within_7_days,
    )


def _hours_out(h: SupervisionHours) -> HoursOut:
    return HoursOut(
        supervisee_id=h.supervisee_id, license_type=h.license_type, supervised=h.supervised,
        required_hours=_hours(h.required_hours), logged_hours=_hours(h.logged_hours),
        signed_hours=_hours(h.signed_hours), remaining_hours=_hours(h.remaining_hours), sessions=h.sessions,
        signed_within_7_days=h.signed_within_7_days,
    )


def _month(k: Container, practice_id: UUID, text: str | None) -> Month:
    return Month.parse(text) if text else k.supervision.current_month(practice_id)


def _caught_up(k: Container, min_position: int | None) -> None:
    if min_position and not k.supervision_log.caught_up_to(k.store.name, min_position):
        raise Unavailable("The supervision log is catching up; retry shortly.")


# --- sessions ---------------------------------------------------------------------------------


@router.post("/api/v1/supervision/sessions", status_code=201, response_model=Accepted)
def log_session(body: SessionIn, caller: WriteNotes, k: ContainerDep) -> Accepted:
    """The supervisor must be an active supervisor, admin or owner of the practice; the supervisee
    an active staff member. Clinicians log their own supervision, supervisors also their
    supervisees'."""
    saved = k.supervision.log_session(
        caller.practice_id, body.supervisee_id or caller.member_id, body.supervisor_id, body.session_date,
        body.hours, body.format, body.topics,
    )
    return Accepted.model_validate(saved, from_attributes=True)


@router.get("/api/v1/supervision/sessions", response_model=list[SessionOut])
def list_sessions(
    caller: ViewTeam, k: ContainerDep, supervisee_id: UUID | None = None, month: MonthQuery = None,
    min_position: MinPosition = None,
) -> list[SessionOut]:
    """Newest first. A clinician sees their own sessions, a supervisor also their supervisees',
    an admin every session; without `month`, all months."""
    _caught_up(k, min_position)
    chosen = Month.parse(month) if month else None
    return [_row_out(r) for r in k.supervision.sessions(caller.practice_id, chosen, supervisee_id)]


@router.get("/api/v1/supervision/sessions/{session_id}", response_model=SessionOut)
def get_session(session_id: UUID, caller: ViewTeam, k: ContainerDep) -> SessionOut:
    return _session_out(k.supervision.get(caller.practice_id, session_id))


@router.patch("/api/v1/supervision/sessions/{session_id}", response_model=Accepted)
def edit_session(session_id: UUID, body: SessionEditIn, caller: WriteNotes, k: ContainerDep) -> Accepted:
    """Only before the supervisor signs (409 after)."""
    saved = k.supervision.edit(
        caller.practice_id, session_id, session_date=body.session_date, hours=body.hours, format=body.format,
        topics=body.topics,
    )
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("/api/v1/supervision/sessions/{session_id}/sign", response_model=Accepted)
def sign_session(session_id: UUID, caller: WriteNotes, k: ContainerDep) -> Accepted:
    """Only the supervisor the session names signs it (403 otherwise), once (409 again)."""
    saved = k.supervision.sign(caller.practice_id, session_id)
    return Accepted.model_validate(saved, from_attributes=True)


@router.get("/api/v1/supervision/hours", response_model=MonthHoursOut)
def monthly_hours(
    caller: ViewTeam, k: ContainerDep, month: MonthQuery = None, min_position: MinPosition = None
) -> MonthHoursOut:
    """Per supervisee, sessions dated in the practice-local month against the hours the practice
    requires for their license type."""
    _caught_up(k, min_position)
    chosen = _month(k, caller.practice_id, month)
    rows = k.supervision.monthly_hours(caller.practice_id, chosen)
    return MonthHoursOut(month=str(chosen), supervisees=[_hours_out(h) for h in rows])


# --- practice requirements ---------------------------------------------------------------------


def _requirements(k: Container, practice_id: UUID) -> list[RequirementOut]:
    required = k.practices.get(practice_id).supervision_requirements()
    return [
        RequirementOut(license_type=code, label=LICENSE_TYPES[code].label, supervised=LICENSE_TYPES[code].supervised,
                       monthly_hours=_hours(hours))
        for code, hours in sorted(required.items())
    ]


@router.get("/api/v1/practice/supervision-requirements", response_model=list[RequirementOut])
def supervision_requirements(caller: ViewTeam, k: ContainerDep) -> list[RequirementOut]:
    """Monthly supervision hours per license type: the defaults with the practice's own figures."""
    return _requirements(k, caller.practice_id)


@router.put("/api/v1/practice/supervision-requirements", response_model=Accepted)
def set_supervision_requirement(body: RequirementIn, caller: EditSettings, k: ContainerDep) -> Accepted:
    """0 to 40 hours in quarter-hour steps; 0 removes the requirement for that license type."""
    saved = k.practices.set_supervision_requirement(caller.practice_id, body.license_type, body.monthly_hours)
    return Accepted.model_validate(saved, from_attributes=True)
