"""The waitlist: clients waiting for a clinician, an appointment type and a time window.

When a booked slot is released the scheduling service offers it to the first matching entry;
the front desk sees the offer here and records a decline (the slot then goes to the next entry).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from application.errors import Unavailable
from interfaces.http.deps import ContainerDep, EditAppointments, ViewAppointments
from interfaces.http.schemas import Strict

router = APIRouter(prefix="/api/v1/waitlist", tags=["waitlist"])
Weekday = Annotated[int, Field(ge=0, le=6)]


class WaitlistJoinIn(Strict):
    client_id: UUID
    clinician_id: UUID | None = Field(default=None, description="Leave out for any clinician.")
    appointment_type: str | None = Field(default=None, max_length=40, description="Leave out for any type.")
    earliest_date: date = Field(description="First acceptable local practice date.")
    latest_date: date = Field(description="Last acceptable local practice date (included).")
    weekdays: list[Weekday] | None = Field(
        default=None, min_length=1, max_length=7, description="0 = Monday ... 6 = Sunday; leave out for any day."
    )
    earliest_time: time | None = Field(default=None, description="Local time of day, e.g. 09:00.")
    latest_time: time | None = Field(default=None, description="The appointment ends by this local time.")


class LeaveIn(Strict):
    reason_code: str = Field(min_length=2, max_length=40, description="A code, e.g. booked_elsewhere.")


class EntryChanged(BaseModel):
    id: UUID
    version: int
    position: int
    offered_to: UUID | None = None


class OfferOut(BaseModel):
    clinician_id: UUID
    appointment_type: str
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime
    offered_at: datetime


class WaitlistEntryOut(BaseModel):
    id: UUID
    client_id: UUID
    clinician_id: UUID | None
    appointment_type: str | None
    earliest_date: date
    latest_date: date
    weekdays: list[int] | None
    earliest_time: time | None
    latest_time: time | None
    joined_at: datetime
    status: str
    offer: OfferOut | None = Field(description="The slot on offer (or booked), in the practice's time zone.")
    last_offer_outcome: str | None
    appointment_id: UUID | None
    left_reason: str | None


def _changed(saved: Any) -> EntryChanged:
    return EntryChanged.model_validate(saved, from_attributes=True)


@router.post("", status_code=201, response_model=EntryChanged)
def join_waitlist(body: WaitlistJoinIn, caller: EditAppointments, k: ContainerDep) -> EntryChanged:
    """Put a client on the waitlist; `id` is the new entry's id. Dates and times are the
    practice's local ones."""
    return _changed(k.waitlist.join(
        caller.practice_id, body.client_id, earliest_date=body.earliest_date, latest_date=body.latest_date,
        clinician_id=body.clinician_id, appointment_type=body.appointment_type, weekdays=body.weekdays,
        earliest_time=body.earliest_time, latest_time=body.latest_time,
    ))


@router.get("", response_model=list[WaitlistEntryOut])
def list_waitlist(
    caller: ViewAppointments,
    k: ContainerDep,
    status: Literal["waiting", "offered", "booked", "left"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    min_position: Annotated[int | None, Query(ge=0, description="Wait for this log position")] = None,
) -> list[WaitlistEntryOut]:
    """Entries in arrival order (all statuses unless `status` is given), narrowed to the caller's
    clients for caseload and portal roles."""
    if min_position and not k.waitlist_view.caught_up_to(k.store.name, min_position):
        raise Unavailable("The waitlist has not caught up yet; retry shortly.")
    rows = k.waitlist.list(caller.practice_id, status=status, limit=limit)
    tz = ZoneInfo(k.practices.get(caller.practice_id).time_zone) if rows else None
    out = []
    for r in rows:
        offer = None
        if r.offer is not None and tz is not None:
            o = r.offer
            offer = OfferOut(
                clinician_id=o.clinician_id, appointment_type=o.appointment_type, starts_at=o.starts_at.astimezone(tz),
                ends_at=o.ends_at.astimezone(tz), expires_at=o.expires_at.astimezone(tz),
                offered_at=o.offered_at.astimezone(tz),
            )
        out.append(WaitlistEntryOut(
            id=r.entry_id, client_id=r.client_id, clinician_id=r.clinician_id, appointment_type=r.appointment_type,
            earliest_date=r.earliest_date, latest_date=r.latest_date, weekdays=r.weekdays,
            earliest_time=r.earliest_time, latest_time=r.latest_time, joined_at=r.joined_at, status=r.status,
            offer=offer, last_offer_outcome=r.last_offer_outcome, appointment_id=r.appointment_id,
            left_reason=r.left_reason,
        ))
    return out


@router.delete("/{entry_id}", response_model=EntryChanged)
def leave_waitlist(entry_id: UUID, body: LeaveIn, caller: EditAppointments, k: ContainerDep) -> EntryChanged:
    """Take the entry off the list, with a reason code; a slot it held on offer goes to the next
    matching entry (`offered_to`)."""
    return _changed(k.waitlist.leave(caller.practice_id, entry_id, body.reason_code))


@router.post("/{entry_id}/decline", response_model=EntryChanged)
def decline_offer(entry_id: UUID, caller: EditAppointments, k: ContainerDep) -> EntryChanged:
    """The client turns the offered slot down: the entry keeps its place in line and the slot is
    offered to the next matching entry (`offered_to`)."""
    return _changed(k.waitlist.decline(caller.practice_id, entry_id))
