"""A practice's waitlist: clients waiting for a clinician, an appointment type and a time window.

One Waitlist per practice (its id follows from the practice's id) holds every open entry in
arrival order, so "the first matching entry gets the freed slot" is decided inside one
aggregate: two slots freed at the same moment load the same version, optimistic concurrency
refuses the second save, and its retry sees the first offer.

Rules:
- An entry asks for a clinician (or any), an appointment type (or any), a range of local
  practice dates, optionally some weekdays (0 = Monday) and a local time of day the appointment
  must lie within. `matches` is the one definition of "this slot suits this entry".
- A freed slot is offered to the first matching entry that holds no open offer (a client holds
  at most one open offer at a time, whichever of their entries it came through). Entries whose
  window has passed are skipped; a sweep closes them (`close_passed`). A slot already on offer,
  or overlapping one of the same clinician, is not offered twice.
- A declined or lapsed offer puts the entry back to waiting at its original place in line: a
  client who cannot make one particular time keeps their turn. The entry remembers the slot and
  is never offered it again; the application passes the slot on to the next matching entry.
- Accepted (booked) and left entries drop out of the aggregate, which keeps it small.

Every entry event names its client (`subject_field = "client_id"`), so it belongs to the client's
history; no event carries free text (reasons are codes), so none has PHI fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.scheduling.appointment_types import CODE
from domain.scheduling.working_time import WEEKDAYS, as_utc, days, zone

WAITLIST_NAMESPACE = UUID("0b6c4f7e-9a51-4d2b-8e3f-5c7a1d9e2b46")
MAX_WINDOW_DAYS = 365
WINDOW_PASSED = "window_passed"

WAITING, OFFERED = "waiting", "offered"

Slot = tuple[UUID, datetime]
"""A slot's identity: the clinician and the start instant (UTC)."""


def waitlist_id_for(practice_id: UUID) -> UUID:
    return uuid5(WAITLIST_NAMESPACE, str(practice_id))


class UnknownEntry(DomainError):
    code = "not_found"
    kind = "not_found"


class AlreadyWaiting(IllegalTransition):
    code = "already_waiting"


class NoOpenOffer(IllegalTransition):
    code = "no_open_offer"


class OfferLapsed(IllegalTransition):
    code = "offer_expired"


@dataclass(frozen=True)
class Entry:
    entry_id: UUID
    client_id: UUID
    clinician_id: UUID | None
    appointment_type: str | None
    earliest_date: date
    latest_date: date
    weekdays: frozenset[int] | None
    earliest_time: time | None
    latest_time: time | None
    joined_at: datetime

    def criteria(self) -> tuple[Any, ...]:
        return (self.client_id, self.clinician_id, self.appointment_type, self.earliest_date, self.latest_date,
                self.weekdays, self.earliest_time, self.latest_time)


@dataclass(frozen=True)
class Offer:
    entry_id: UUID
    clinician_id: UUID
    appointment_type: str
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime

    @property
    def slot(self) -> Slot:
        return (self.clinician_id, self.starts_at)


def matches(
    entry: Entry, clinician_id: UUID, appointment_type: str, start: datetime, end: datetime, time_zone: str
) -> bool:
    """Whether the slot [start, end) suits the entry, judged in the practice's local time.

    The slot's local start date lies in the entry's date range and on one of its weekdays; with a
    time window, it starts at or after `earliest_time` and ends by `latest_time` on the same local
    day. Instants must carry a time zone.
    """
    if entry.clinician_id is not None and entry.clinician_id != clinician_id:
        return False
    if entry.appointment_type is not None and entry.appointment_type != appointment_type:
        return False
    tz = zone(time_zone)
    local_start = as_utc(start, "starts_at").astimezone(tz)
    local_end = as_utc(end, "ends_at").astimezone(tz)
    if local_end <= local_start:
        return False
    day = local_start.date()
    if not entry.earliest_date <= day <= entry.latest_date:
        return False
    if entry.weekdays is not None and day.weekday() not in entry.weekdays:
        return False
    if entry.earliest_time is not None and local_start.time() < entry.earliest_time:
        return False
    return entry.latest_time is None or (local_end.date() == day and local_end.time() <= entry.latest_time)


class WaitlistEvent(Aggregate.Event, Audited):
    subject_field: ClassVar[str | None] = "client_id"
    client_id: UUID


class Waitlist(Aggregate):
    TOPIC = "careledger/waitlist"

    class Created(Aggregate.Created):
        TOPIC = "careledger/waitlist/created"

    class Opened(Created, Audited):
        TOPIC = "careledger/waitlist/opened"
        practice_id: UUID

    class Joined(WaitlistEvent):
        TOPIC = "careledger/waitlist/joined"
        practice_id: UUID
        entry_id: UUID
        clinician_id: UUID | None
        appointment_type: str | None
        earliest_date: date
        latest_date: date
        weekdays: list[int] | None
        earliest_time: str | None  # "HH:MM", local practice time
        latest_time: str | None
        joined_at: datetime

    class Offered(WaitlistEvent):
        TOPIC = "careledger/waitlist/offered"
        entry_id: UUID
        clinician_id: UUID
        appointment_type: str
        starts_at: datetime
        ends_at: datetime
        expires_at: datetime
        offered_at: datetime

    class OfferDeclined(WaitlistEvent):
        TOPIC = "careledger/waitlist/offer-declined"
        entry_id: UUID
        at: datetime

    class OfferExpired(WaitlistEvent):
        TOPIC = "careledger/waitlist/offer-expired"
        entry_id: UUID
        at: datetime

    class Accepted(WaitlistEvent):
        TOPIC = "careledger/waitlist/accepted"
        entry_id: UUID
        appointment_id: UUID
        at: datetime

    class Left(WaitlistEvent):
        TOPIC = "careledger/waitlist/left"
        entry_id: UUID
        reason_code: str  # coded, never free text
        at: datetime

    @classmethod
    def create_id(cls, practice_id: UUID, **_: Any) -> UUID:
        return waitlist_id_for(practice_id)

    @classmethod
    def open(cls, practice_id: UUID) -> Waitlist:
        return cls(practice_id=practice_id)

    @event(Opened)
    def __init__(self, practice_id: UUID) -> None:
        self.practice_id = practice_id
        self.entries: dict[UUID, Entry] = {}  # arrival order
        self.offers: dict[UUID, Offer] = {}  # entry id -> its open offer
        self.passed: dict[UUID, set[Slot]] = {}  # entry id -> slots it declined or let lapse

    # --- reading --------------------------------------------------------------------------------

    def entry(self, entry_id: UUID) -> Entry:
        try:
            return self.entries[entry_id]
        except KeyError:
            raise UnknownEntry(f"No waitlist entry {entry_id}.") from None

    def status_of(self, entry_id: UUID) -> str:
        self.entry(entry_id)
        return OFFERED if entry_id in self.offers else WAITING

    # --- joining ----------------------------------------------------------------------------------

    def join(
        self,
        client_id: UUID,
        *,
        earliest_date: date,
        latest_date: date,
        today: date,
        now: datetime,
        clinician_id: UUID | None = None,
        appointment_type: str | None = None,
        weekdays: Iterable[int] | None = None,
        earliest_time: time | None = None,
        latest_time: time | None = None,
        entry_id: UUID | None = None,
    ) -> UUID:
        """Add an entry at the end of the line; `today` is the practice's local date."""
        days_wanted = _check_weekdays(weekdays)
        _check_window(earliest_date, latest_date, today, days_wanted)
        _check_times(earliest_time, latest_time)
        if appointment_type is not None and not CODE.match(appointment_type):
            raise InvalidCommand(f"Unknown appointment type {appointment_type!r}.", field="appointment_type")
        new_id = entry_id or uuid4()
        if new_id in self.entries:
            raise IllegalTransition("This entry is on the waitlist already.")
        wanted = Entry(new_id, client_id, clinician_id, appointment_type, earliest_date, latest_date, days_wanted,
                       earliest_time, latest_time, as_utc(now, "now"))
        if any(e.criteria() == wanted.criteria() for e in self.entries.values()):
            raise AlreadyWaiting("The client is waiting for exactly this already.", field="client_id")
        self._joined(
            practice_id=self.practice_id, entry_id=new_id, client_id=client_id, clinician_id=clinician_id,
            appointment_type=appointment_type, earliest_date=earliest_date, latest_date=latest_date,
            weekdays=sorted(days_wanted) if days_wanted is not None else None,
            earliest_time=_hhmm(earliest_time), latest_time=_hhmm(latest_time), joined_at=wanted.joined_at,
        )
        return new_id

    @event(Joined)
    def _joined(
        self, practice_id: UUID, entry_id: UUID, client_id: UUID, clinician_id: UUID | None,
        appointment_type: str | None, earliest_date: date, latest_date: date, weekdays: list[int] | None,
        earliest_time: str | None, latest_time: str | None, joined_at: datetime,
    ) -> None:
        self.entries[entry_id] = Entry(
            entry_id, client_id, clinician_id, appointment_type, earliest_date, latest_date,
            frozenset(weekdays) if weekdays is not None else None,
            time.fromisoformat(earliest_time) if earliest_time else None,
            time.fromisoformat(latest_time) if latest_time else None,
            joined_at,
        )

    # --- offering ---------------------------------------------------------------------------------

    def offer_slot(
        self,
        clinician_id: UUID,
        appointment_type: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        time_zone: str,
        now: datetime,
        offer_ttl: timedelta,
    ) -> UUID | None:
        """Offer the slot to the first waiting entry it suits; that entry's id, or None.

        The offer lapses after `offer_ttl`, and at the latest when the slot starts. A slot that has
        started, or that overlaps an open offer of the same clinician, is offered to nobody.
        """
        start, end, at = as_utc(starts_at, "starts_at"), as_utc(ends_at, "ends_at"), as_utc(now, "now")
        if end <= start:
            raise InvalidCommand("A slot ends after it starts.", field="ends_at")
        if offer_ttl <= timedelta(0):
            raise InvalidCommand("An offer stays open for some time.", field="offer_ttl")
        today = at.astimezone(zone(time_zone)).date()
        if start <= at or any(
            o.clinician_id == clinician_id and o.starts_at < end and start < o.ends_at for o in self.offers.values()
        ):
            return None
        holding = {self.entries[held].client_id for held in self.offers}
        for entry in self.entries.values():
            if entry.entry_id in self.offers or entry.client_id in holding or entry.latest_date < today:
                continue
            if (clinician_id, start) in self.passed.get(entry.entry_id, ()):
                continue
            if matches(entry, clinician_id, appointment_type, start, end, time_zone):
                self._offered(
                    entry_id=entry.entry_id, client_id=entry.client_id, clinician_id=clinician_id,
                    appointment_type=appointment_type, starts_at=start, ends_at=end,
                    expires_at=min(at + offer_ttl, start), offered_at=at,
                )
                return entry.entry_id
        return None

    @event(Offered)
    def _offered(
        self, entry_id: UUID, client_id: UUID, clinician_id: UUID, appointment_type: str, starts_at: datetime,
        ends_at: datetime, expires_at: datetime, offered_at: datetime,
    ) -> None:
        self.offers[entry_id] = Offer(entry_id, clinician_id, appointment_type, starts_at, ends_at, expires_at)

    def _open_offer(self, entry_id: UUID) -> Offer:
        self.entry(entry_id)
        offer = self.offers.get(entry_id)
        if offer is None:
            raise NoOpenOffer("This entry holds no open offer.", status=WAITING)
        return offer

    def decline(self, entry_id: UUID, now: datetime) -> Offer:
        """The client turns the offer down; the entry waits on at its place. Returns the slot."""
        offer = self._open_offer(entry_id)
        self._offer_declined(entry_id=entry_id, client_id=self.entries[entry_id].client_id, at=as_utc(now, "now"))
        return offer

    @event(OfferDeclined)
    def _offer_declined(self, entry_id: UUID, client_id: UUID, at: datetime) -> None:
        self._back_in_line(entry_id, at)

    def expire_offers(self, now: datetime) -> list[Offer]:
        """Lapse every open offer whose time is up; returns them, for their slots to be passed on."""
        at = as_utc(now, "now")
        lapsed = [offer for offer in self.offers.values() if offer.expires_at <= at]
        for offer in lapsed:
            self._offer_expired(entry_id=offer.entry_id, client_id=self.entries[offer.entry_id].client_id, at=at)
        return lapsed

    @event(OfferExpired)
    def _offer_expired(self, entry_id: UUID, client_id: UUID, at: datetime) -> None:
        self._back_in_line(entry_id, at)

    def _back_in_line(self, entry_id: UUID, at: datetime) -> None:
        offer = self.offers.pop(entry_id)
        passed = {slot for slot in self.passed.get(entry_id, set()) if slot[1] > at}
        passed.add(offer.slot)
        self.passed[entry_id] = passed

    # --- closing ----------------------------------------------------------------------------------

    def accept(self, entry_id: UUID, appointment_id: UUID, now: datetime) -> None:
        """The offered slot was booked as `appointment_id`; the entry leaves the line."""
        offer = self._open_offer(entry_id)
        at = as_utc(now, "now")
        if offer.expires_at <= at:
            raise OfferLapsed("The offer has expired.", expires_at=offer.expires_at.isoformat())
        self._accepted(entry_id=entry_id, client_id=self.entries[entry_id].client_id,
                       appointment_id=appointment_id, at=at)

    @event(Accepted)
    def _accepted(self, entry_id: UUID, client_id: UUID, appointment_id: UUID, at: datetime) -> None:
        self._remove(entry_id)

    def leave(self, entry_id: UUID, reason_code: str, now: datetime) -> Offer | None:
        """Take the entry off the list; returns the offer it held, whose slot is free again."""
        entry = self.entry(entry_id)
        if not CODE.match(reason_code):
            raise InvalidCommand("A reason is a code such as 'booked_elsewhere'.", field="reason_code")
        offer = self.offers.get(entry_id)
        self._left(entry_id=entry_id, client_id=entry.client_id, reason_code=reason_code, at=as_utc(now, "now"))
        return offer

    @event(Left)
    def _left(self, entry_id: UUID, client_id: UUID, reason_code: str, at: datetime) -> None:
        self._remove(entry_id)

    def close_passed(self, today: date, now: datetime) -> list[UUID]:
        """Close the entries whose last date is before `today` (local); returns their ids."""
        closed = [e.entry_id for e in self.entries.values() if e.latest_date < today]
        for entry_id in closed:
            self.leave(entry_id, WINDOW_PASSED, now)
        return closed

    def _remove(self, entry_id: UUID) -> None:
        del self.entries[entry_id]
        self.offers.pop(entry_id, None)
        self.passed.pop(entry_id, None)


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _check_weekdays(weekdays: Iterable[int] | None) -> frozenset[int] | None:
    if weekdays is None:
        return None
    wanted = list(weekdays)
    if not wanted or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in wanted):
        raise InvalidCommand("Weekdays are 0 (Monday) to 6 (Sunday); leave them out for any day.", field="weekdays")
    return frozenset(wanted)


def _check_window(earliest: date, latest: date, today: date, weekdays: frozenset[int] | None) -> None:
    if latest < earliest:
        raise InvalidCommand("The window's last date is on or after its first.", field="latest_date")
    if latest < today:
        raise InvalidCommand("The window has passed already.", field="latest_date")
    if (latest - today).days > MAX_WINDOW_DAYS:
        raise InvalidCommand(f"A waitlist window ends within {MAX_WINDOW_DAYS} days.", field="latest_date")
    if weekdays is not None:
        first = max(earliest, today)
        if not any(d.weekday() in weekdays for d in days(first, min(latest, first + timedelta(days=6)))):
            names = ", ".join(WEEKDAYS[d] for d in sorted(weekdays))
            raise InvalidCommand(f"No date in the window falls on {names}.", field="weekdays")


def _check_times(earliest: time | None, latest: time | None) -> None:
    for name, value in (("earliest_time", earliest), ("latest_time", latest)):
        if value is not None and (value.tzinfo is not None or value.second or value.microsecond):
            raise InvalidCommand("Times of day are local wall-clock times on whole minutes.", field=name)
    if earliest is not None and latest is not None and latest <= earliest:
        raise InvalidCommand("The latest time of day is after the earliest.", field="latest_time")
