"""Calendar export: an .ics file per appointment and a per-clinician subscription feed.

Minimum necessary PHI. A feed URL is a bearer secret: it is pasted into Google, Apple or Outlook
calendars, synced to phones and shared with assistants, so whatever a feed contains leaves the
practice's control. Feed events therefore carry no client name, initials, date of birth, contact
details, diagnosis or note, and nothing else that identifies the client: only the appointment
type, the modality, the times, the status and an opaque appointment reference (the appointment's
id), which staff resolve inside CareLedger. The single-appointment .ics is downloaded by a signed-in
user who may see the appointment (record scope checked), so it may also name the clinician, the
practice and where it happens (practice or telehealth), but it still names neither the client
nor any diagnosis: the file ends up in a third-party calendar just the same. Events are marked
`CLASS:PRIVATE` so shared calendars show them as busy time only.

Shape of the output (RFC 5545, RFC 7986):
- UID `<appointment id>@careledger`, stable across renders and shared by the file and the feed;
- DTSTART/DTEND in UTC (`...Z`), so no VTIMEZONE is needed and calendars show local time;
- SEQUENCE follows the lifecycle (scheduled 0, confirmed 1, checked in 2, closed 3). Every
  status change moves it up, and an appointment's times never change (a reschedule closes it
  and books a new one), so a higher SEQUENCE is always the newer version;
- STATUS: scheduled is TENTATIVE, confirmed / checked in / completed / no-show are CONFIRMED,
  cancelled and rescheduled are CANCELLED (and TRANSPARENT, so they no longer block time);
- the feed covers 30 days back to 180 days ahead; a cancelled or rescheduled appointment stays in
  it as CANCELLED for 30 days after it was cancelled, so subscribed calendars remove it, then it
  is dropped; REFRESH-INTERVAL / X-PUBLISHED-TTL ask for a refresh every 15 minutes.

Feed reads are not recorded as PHI access events: a calendar app polls every few minutes and the
feed holds no client identifiers. Issuing and revoking a feed link are events (CalendarFeed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from icalendar import Calendar, Event, vDuration

from application import access, audit
from application.errors import Forbidden, NotFound
from application.identity import tokens
from application.ports import Clock
from application.scheduling.booking import SchedulingService
from application.store import EventStore, Saved
from domain.errors import IllegalTransition
from domain.identity.membership import Membership
from domain.identity.permissions import STAFF_ROLES, Scope
from domain.practices.practice import Practice
from domain.scheduling.appointment import Appointment
from domain.scheduling.appointment_types import BUILT_IN_TYPES
from domain.scheduling.calendar_feed import CalendarFeed, calendar_feed_id_for
from domain.scheduling.working_time import as_utc

PRODID = "-//CareLedger//Calendar export//EN"
UID_DOMAIN = "careledger"
FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=180)
CANCELLED_KEPT = timedelta(days=30)
REFRESH = timedelta(minutes=15)
CANCELLED = frozenset({"cancelled", "rescheduled"})
ICAL_STATUS = {
    "scheduled": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "checked_in": "CONFIRMED",
    "completed": "CONFIRMED",
    "no_show": "CONFIRMED",
    "cancelled": "CANCELLED",
    "rescheduled": "CANCELLED",
}
SEQUENCE = {"scheduled": 0, "confirmed": 1, "checked_in": 2}
CLOSED_SEQUENCE = 3
MODALITY_LABEL = {"in_person": "in person", "telehealth": "telehealth"}
NO_FEED = "No calendar feed."  # one answer for unknown, malformed, replaced and revoked links


class BookedAppointment(Protocol):
    """What the feed needs of a row of the appointment book (the read model)."""

    @property
    def appointment_id(self) -> UUID: ...
    @property
    def appointment_type(self) -> str: ...
    @property
    def modality(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def replacement_id(self) -> UUID | None: ...
    @property
    def changed_at(self) -> datetime | None: ...


class ClinicianCalendar(Protocol):
    """The read model port: a clinician's appointments starting in [start, end)."""

    def clinician_calendar(
        self, practice_id: UUID, clinician_id: UUID, start: datetime, end: datetime
    ) -> Sequence[BookedAppointment]: ...


@dataclass(frozen=True)
class CalendarEntry:
    """One appointment as the calendar sees it: ids, codes and times, nothing about the client."""

    appointment_id: UUID
    appointment_type: str
    modality: str
    starts_at: datetime
    ends_at: datetime
    status: str
    replacement_id: UUID | None = None
    changed_at: datetime | None = None  # when it was last changed (the cancellation, when cancelled)

    @classmethod
    def of(cls, row: BookedAppointment) -> CalendarEntry:
        return cls(
            appointment_id=row.appointment_id, appointment_type=row.appointment_type, modality=row.modality,
            starts_at=row.starts_at, ends_at=row.ends_at, status=row.status, replacement_id=row.replacement_id,
            changed_at=row.changed_at,
        )

    @classmethod
    def of_appointment(cls, appointment: Appointment) -> CalendarEntry:
        return cls(
            appointment_id=appointment.id, appointment_type=appointment.appointment_type,
            modality=appointment.modality, starts_at=appointment.starts_at, ends_at=appointment.ends_at,
            status=appointment.status, replacement_id=appointment.replacement_id,
            changed_at=appointment.modified_on,
        )

    @property
    def cancelled(self) -> bool:
        return self.status in CANCELLED

    @property
    def sequence(self) -> int:
        return SEQUENCE.get(self.status, CLOSED_SEQUENCE)


@dataclass(frozen=True)
class Place:
    """What only the single, authenticated download may say: with whom and where."""

    practice_name: str
    clinician_name: str


# --- rendering ---------------------------------------------------------------------------------


def type_names(practice: Practice) -> dict[str, str]:
    """Display names of every type the practice has used, retired ones included (old bookings
    keep theirs)."""
    return {code: kind.name for code, kind in {**BUILT_IN_TYPES, **practice.own_types}.items()}


def uid(appointment_id: UUID) -> str:
    return f"{appointment_id}@{UID_DOMAIN}"


def summary(entry: CalendarEntry, names: Mapping[str, str]) -> str:
    name = names.get(entry.appointment_type) or entry.appointment_type.replace("_", " ").capitalize()
    text = f"{name} ({MODALITY_LABEL.get(entry.modality, entry.modality)})"
    return f"Cancelled: {text}" if entry.cancelled else text


def _event(entry: CalendarEntry, names: Mapping[str, str], now: datetime, place: Place | None = None) -> Event:
    event = Event()
    event.add("uid", uid(entry.appointment_id))
    event.add("dtstamp", as_utc(now, "now"))
    event.add("dtstart", as_utc(entry.starts_at, "starts_at"))
    event.add("dtend", as_utc(entry.ends_at, "ends_at"))
    event.add("summary", summary(entry, names))
    event.add("status", ICAL_STATUS.get(entry.status, "CONFIRMED"))
    event.add("sequence", entry.sequence)
    event.add("class", "PRIVATE")
    event.add("transp", "TRANSPARENT" if entry.cancelled else "OPAQUE")
    if entry.changed_at is not None:
        event.add("last-modified", as_utc(entry.changed_at, "changed_at"))
    lines: list[str] = []
    if place is not None:
        telehealth = entry.modality == "telehealth"
        event.add("location", "Telehealth (video visit)" if telehealth else place.practice_name)
        lines.append(f"With {place.clinician_name}, {place.practice_name}.")
        if telehealth:
            lines.append("The practice sends the video visit link separately.")
    lines.append(f"CareLedger appointment reference: {entry.appointment_id}")
    if entry.status == "rescheduled" and entry.replacement_id is not None:
        lines.append(f"Rescheduled; the new appointment's reference: {entry.replacement_id}")
    elif entry.status == "cancelled":
        lines.append("This appointment was cancelled.")
    event.add("description", "\n".join(lines))
    return event


def _calendar(name: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    return cal


def render_appointment(
    entry: CalendarEntry, names: Mapping[str, str], now: datetime, place: Place | None = None
) -> bytes:
    """One VCALENDAR with one VEVENT. With `place`, the event also names the clinician, the
    practice and where the visit happens; never the client."""
    cal = _calendar()
    event = _event(entry, names, now, place)
    cal.add_component(event)
    return cal.to_ical()


def in_feed(entry: CalendarEntry, now: datetime) -> bool:
    """Within 30 days back and 180 ahead; cancelled ones only for 30 days after the cancellation."""
    if not now - FEED_PAST <= as_utc(entry.starts_at, "starts_at") < now + FEED_AHEAD:
        return False
    return not entry.cancelled or entry.changed_at is None or entry.changed_at >= now - CANCELLED_KEPT


def render_feed(entries: Iterable[CalendarEntry], names: Mapping[str, str], now: datetime, calendar_name: str) -> bytes:
    """A VCALENDAR with one VEVENT per appointment in the feed window, oldest first."""
    cal = _calendar(calendar_name)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    for entry in sorted((e for e in entries if in_feed(e, now)), key=lambda e: (e.starts_at, str(e.appointment_id))):
        cal.add_component(_event(entry, names, now))
    return cal.to_ical()


# --- services ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedFeed:
    token: str
    saved: Saved


class CalendarFeedService:
    """Feed links: issue (replacing any earlier one), revoke, and resolve a presented token."""

    def __init__(self, store: EventStore, clock: Clock, scheduling: SchedulingService) -> None:
        self.store = store
        self.clock = clock
        self.scheduling = scheduling

    def _manageable(self, practice_id: UUID, clinician_id: UUID) -> Membership:
        """The clinician (404 unless a clinician of this practice), if the caller may manage their
        feed: the clinician themself or practice-wide staff."""
        clinician = self.scheduling.clinician(practice_id, clinician_id)
        grant = access.current()
        if grant is not None and grant.member_id != clinician_id and not (
            grant.scope is Scope.PRACTICE and grant.role in STAFF_ROLES
        ):
            raise Forbidden("Only the clinician or practice-wide staff can manage this clinician's calendar feed.")
        return clinician

    def _feed(self, practice_id: UUID, clinician_id: UUID) -> CalendarFeed | None:
        try:
            feed: CalendarFeed = self.store.load(calendar_feed_id_for(clinician_id), CalendarFeed)
        except NotFound:
            return None
        return feed if feed.practice_id == practice_id else None

    def issue(self, practice_id: UUID, clinician_id: UUID) -> IssuedFeed:
        """A new feed token `<feed id>.<secret>`; shown once, only its hash is kept. Any earlier
        link of the clinician stops working."""
        clinician = self._manageable(practice_id, clinician_id)
        if not clinician.active:
            raise IllegalTransition("A deactivated member gets no calendar feed.")
        feed = self._feed(practice_id, clinician_id) or CalendarFeed.open(practice_id, clinician_id)
        secret = tokens.new_secret()
        feed.issue(tokens.digest(secret), self.clock.now())
        saved = self.store.save_one(feed)
        return IssuedFeed(tokens.compose(feed.id, secret), saved)

    def revoke(self, practice_id: UUID, clinician_id: UUID, reason_code: str) -> Saved:
        self._manageable(practice_id, clinician_id)
        feed = self._feed(practice_id, clinician_id)
        if feed is None:
            raise NotFound("This clinician has no calendar feed.")
        feed.revoke(reason_code, self.clock.now())
        with audit.because(reason_code):
            return self.store.save_one(feed)

    def resolve(self, token: str) -> tuple[UUID, UUID]:
        """(practice id, clinician id) of a live feed token. Unknown, malformed, replaced or revoked
        tokens, and feeds of members who left, all get the same NotFound."""
        try:
            feed_id, secret = tokens.parse(token, NotFound)
            feed: CalendarFeed = self.store.load(feed_id, CalendarFeed)
        except NotFound:
            raise NotFound(NO_FEED) from None
        if not feed.accepts(tokens.digest(secret)):
            raise NotFound(NO_FEED)
        try:
            member: Membership = self.store.load(feed.clinician_id, Membership)
        except NotFound:
            raise NotFound(NO_FEED) from None
        if not member.active or member.practice_id != feed.practice_id:
            raise NotFound(NO_FEED)
        return feed.practice_id, feed.clinician_id


class CalendarExportService:
    def __init__(
        self, store: EventStore, clock: Clock, scheduling: SchedulingService, feeds: CalendarFeedService,
        book: ClinicianCalendar,
    ) -> None:
        self.store = store
        self.clock = clock
        self.scheduling = scheduling
        self.feeds = feeds
        self.book = book

    def appointment_ics(self, practice_id: UUID, appointment_id: UUID) -> bytes:
        """The .ics of one appointment the caller may see (the scheduling service checks scope)."""
        appointment = self.scheduling.appointment(practice_id, appointment_id)
        practice: Practice = self.store.load(practice_id, Practice)
        clinician: Membership = self.store.load(appointment.clinician_id, Membership)
        place = Place(practice_name=practice.name, clinician_name=clinician.full_name)
        return render_appointment(
            CalendarEntry.of_appointment(appointment), type_names(practice), self.clock.now(), place
        )

    def feed(self, token: str) -> bytes:
        """The clinician's feed for a live token (NotFound otherwise)."""
        practice_id, clinician_id = self.feeds.resolve(token)
        return self.clinician_feed(practice_id, clinician_id)

    def clinician_feed(self, practice_id: UUID, clinician_id: UUID) -> bytes:
        now = self.clock.now()
        practice: Practice = self.store.load(practice_id, Practice)
        clinician: Membership = self.store.load(clinician_id, Membership)
        rows = self.book.clinician_calendar(practice_id, clinician_id, now - FEED_PAST, now + FEED_AHEAD)
        return render_feed(
            (CalendarEntry.of(r) for r in rows), type_names(practice), now,
            f"{clinician.full_name} - {practice.name} (CareLedger)",
        )
