"""Calendar export: one appointment as .ics, and clinicians' subscription feeds.

The feed route is public: calendar apps cannot send bearer headers, so the token in the URL is
the credential. It answers 404 alike for unknown, malformed, replaced and revoked tokens, and
its responses are never cached.
"""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from interfaces.http.deps import ContainerDep, Public, ViewAppointments
from interfaces.http.schemas import Accepted

router = APIRouter(prefix="/api/v1", tags=["calendar"])
CALENDAR = "text/calendar; charset=utf-8"
NO_STORE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
FEED_PATH = re.compile(r"^(/api/v1/calendar-feeds/)[^/]+$")


def redact_path(path: str) -> str:
    """A request path fit for the access log: a feed URL's token is a credential."""
    return FEED_PATH.sub(r"\1[redacted].ics", path)


class CalendarFeedOut(BaseModel):
    """Shown once: only a hash of the token is kept. Subscribe to `url` in a calendar app."""

    url: str
    token: str


def _ics(body: bytes, filename: str, disposition: str = "attachment") -> Response:
    return Response(
        content=body, media_type=CALENDAR,
        headers={**NO_STORE, "Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@router.get(
    "/appointments/{appointment_id}/ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "An iCalendar file with one event."}},
)
def appointment_ics(appointment_id: UUID, caller: ViewAppointments, k: ContainerDep) -> Response:
    """One appointment as an iCalendar file: type, modality, times, clinician, practice and place;
    never the client's name. Caseload roles get their clients' or their own appointments, portal
    members their own."""
    body = k.calendar_export.appointment_ics(caller.practice_id, appointment_id)
    return _ics(body, f"appointment-{appointment_id}.ics")


@router.post("/clinicians/{clinician_id}/calendar-feed", status_code=201, response_model=CalendarFeedOut)
def issue_feed(clinician_id: UUID, caller: ViewAppointments, k: ContainerDep) -> CalendarFeedOut:
    """A new subscription URL for the clinician's appointments (the clinician themself or
    practice-wide staff). Any earlier URL of this clinician stops working."""
    issued = k.calendar_feeds.issue(caller.practice_id, clinician_id)
    return CalendarFeedOut(url=f"{k.settings.public_url}/api/v1/calendar-feeds/{issued.token}.ics",
                           token=issued.token)


@router.delete("/clinicians/{clinician_id}/calendar-feed", response_model=Accepted)
def revoke_feed(
    clinician_id: UUID, caller: ViewAppointments, k: ContainerDep,
    reason_code: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{1,39}$")] = "revoked_by_user",
) -> Accepted:
    saved = k.calendar_feeds.revoke(caller.practice_id, clinician_id, reason_code)
    return Accepted(id=saved.id, version=saved.version, position=saved.position)


@router.get(
    "/calendar-feeds/{token}.ics",
    dependencies=[Public],
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "The clinician's calendar feed."}},
)
def calendar_feed(token: str, k: ContainerDep) -> Response:
    """The feed a calendar app subscribes to: 30 days back to 180 days ahead, no client names."""
    return _ics(k.calendar_export.feed(token), "careledger.ics", "inline")
