"""Waitlist commands: join, leave, offer a freed slot to the first client in line, accept, decline.

Every command loads the practice's one Waitlist aggregate, decides and saves; a save that loses
a race (another command saved a newer version in between: `RecordConflictError`) is decided
again once on fresh state, so two slots freed at the same moment never go to the same entry.
Before any offer is made, offers whose time is up lapse, and their slots are passed on to the
next matching entry in the same save.

Record scope: joining, leaving, declining and accepting act on one client, so the client is
loaded like `ClientService` does (practice isolation in `EventStore.load`, then the caller's
grant). Offering a freed slot is the practice's own reaction to a cancellation and needs no
scope; the list narrows to what the grant may see.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid4

from application import access
from application.errors import Conflict, NotFound
from application.ports import Clock
from application.retry import retrying
from application.store import EventStore
from domain.clients.client import Client
from domain.identity.membership import Membership
from domain.practices.practice import Practice
from domain.scheduling.waitlist import Offer, UnknownEntry, Waitlist, waitlist_id_for
from domain.scheduling.working_time import zone

T = TypeVar("T")
DEFAULT_OFFER_TTL = timedelta(hours=24)


class ClientNotActive(Conflict):
    code = "client_not_active"


class WaitlistReadModel(Protocol):
    """The front desk's list of entries (projections/waitlist.py)."""

    def list(
        self,
        practice_id: UUID,
        status: str | None = None,
        only_clients: Collection[UUID] | None = None,
        care_team_any: Collection[UUID] | None = None,
        limit: int = 200,
    ) -> Sequence[Any]: ...


@dataclass(frozen=True)
class EntrySaved:
    """An entry changed: its id, the waitlist's new version and the log position (for min_position)."""

    id: UUID
    version: int
    position: int
    offered_to: UUID | None = None  # when a released slot was passed on to the next entry


@dataclass(frozen=True)
class SweepResult:
    expired: list[UUID] = field(default_factory=list)  # entries whose offer lapsed
    reoffered: list[UUID] = field(default_factory=list)  # entries that got a lapsed slot
    closed: list[UUID] = field(default_factory=list)  # entries whose window passed


def _retrying(attempt: Callable[[], T]) -> T:
    """The loser of a race decides once more on the state that won."""
    return retrying(attempt, 2)


class WaitlistService:
    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        view: WaitlistReadModel | None = None,
        offer_ttl: timedelta = DEFAULT_OFFER_TTL,
    ) -> None:
        self.store = store
        self.clock = clock
        self.view = view
        self.offer_ttl = offer_ttl

    # --- loading ----------------------------------------------------------------------------------

    def _time_zone(self, practice_id: UUID) -> str:
        practice: Practice = self.store.load(practice_id, Practice)
        return practice.time_zone

    def _waitlist(self, practice_id: UUID) -> Waitlist | None:
        if not self.store.exists(waitlist_id_for(practice_id)):
            return None
        waitlist: Waitlist = self.store.load(waitlist_id_for(practice_id), Waitlist)
        return waitlist

    def _entry_list(self, practice_id: UUID, entry_id: UUID) -> Waitlist:
        """The practice's waitlist, holding `entry_id` (else 404), whose client the caller may see."""
        waitlist = self._waitlist(practice_id)
        if waitlist is None:
            raise UnknownEntry(f"No waitlist entry {entry_id}.")
        self._client_in_scope(practice_id, waitlist.entry(entry_id).client_id)
        return waitlist

    def _client_in_scope(self, practice_id: UUID, client_id: UUID) -> Client:
        client: Client = self.store.load(client_id, Client)
        if client.practice_id != practice_id:
            raise NotFound(f"No client {client_id}.")
        grant = access.current()
        if grant is not None and not grant.sees(client.id, client.care_team):
            raise access.OutsideCaseload("This client is outside your caseload.")
        return client

    def _check_clinician(self, practice_id: UUID, clinician_id: UUID) -> None:
        try:
            member: Membership = self.store.load(clinician_id, Membership)
        except NotFound:
            raise NotFound(f"No clinician {clinician_id}.") from None
        if member.practice_id != practice_id or not member.is_staff or not member.active:
            raise NotFound(f"No clinician {clinician_id}.")

    def _save(self, waitlist: Waitlist, entry_id: UUID, offered_to: UUID | None = None) -> EntrySaved:
        saved = self.store.save_one(waitlist)
        return EntrySaved(entry_id, saved.version, saved.position, offered_to)

    def _pass_on(self, waitlist: Waitlist, offers: Sequence[Offer], time_zone: str, now: datetime) -> list[UUID]:
        """Offer released slots (declined, lapsed, left) to the next matching entries."""
        taken = []
        for offer in offers:
            offered = waitlist.offer_slot(
                offer.clinician_id, offer.appointment_type, offer.starts_at, offer.ends_at,
                time_zone=time_zone, now=now, offer_ttl=self.offer_ttl,
            )
            if offered is not None:
                taken.append(offered)
        return taken

    # --- commands ---------------------------------------------------------------------------------

    def join(
        self,
        practice_id: UUID,
        client_id: UUID,
        *,
        earliest_date: date,
        latest_date: date,
        clinician_id: UUID | None = None,
        appointment_type: str | None = None,
        weekdays: Collection[int] | None = None,
        earliest_time: time | None = None,
        latest_time: time | None = None,
    ) -> EntrySaved:
        """Put the client at the end of the line; `EntrySaved.id` is the new entry's id."""
        client = self._client_in_scope(practice_id, client_id)
        if client.erased or client.status != "active":
            raise ClientNotActive(f"A client who is {'erased' if client.erased else client.status} cannot wait "
                                  "for an appointment.")
        practice: Practice = self.store.load(practice_id, Practice)
        if appointment_type is not None:
            practice.appointment_type(appointment_type)  # refuses a type the practice does not offer
        if clinician_id is not None:
            self._check_clinician(practice_id, clinician_id)
        entry_id = uuid4()

        def attempt() -> EntrySaved:
            now = self.clock.now()
            waitlist = self._waitlist(practice_id) or Waitlist.open(practice_id)
            waitlist.join(
                client_id, earliest_date=earliest_date, latest_date=latest_date,
                today=now.astimezone(zone(practice.time_zone)).date(), now=now, clinician_id=clinician_id,
                appointment_type=appointment_type, weekdays=weekdays, earliest_time=earliest_time,
                latest_time=latest_time, entry_id=entry_id,
            )
            return self._save(waitlist, entry_id)

        return _retrying(attempt)

    def offer_freed_slot(
        self, practice_id: UUID, clinician_id: UUID, appointment_type: str, starts_at: datetime, ends_at: datetime
    ) -> UUID | None:
        """A booked slot was released (cancelled, rescheduled): offer it to the first matching entry
        in line; its id, or None when nobody waits for it."""
        time_zone = self._time_zone(practice_id)

        def attempt() -> UUID | None:
            waitlist = self._waitlist(practice_id)
            if waitlist is None:
                return None
            now = self.clock.now()
            lapsed = waitlist.expire_offers(now)
            offered = waitlist.offer_slot(
                clinician_id, appointment_type, starts_at, ends_at, time_zone=time_zone, now=now,
                offer_ttl=self.offer_ttl,
            )
            self._pass_on(waitlist, lapsed, time_zone, now)
            if waitlist.pending_events:
                self.store.save_one(waitlist)
            return offered

        return _retrying(attempt)

    def decline(self, practice_id: UUID, entry_id: UUID) -> EntrySaved:
        """The client turns the offer down: the entry waits on at its place, the slot goes to the
        next matching entry (`EntrySaved.offered_to`)."""
        time_zone = self._time_zone(practice_id)

        def attempt() -> EntrySaved:
            waitlist = self._entry_list(practice_id, entry_id)
            now = self.clock.now()
            declined = waitlist.decline(entry_id, now)
            lapsed = waitlist.expire_offers(now)
            next_in_line = self._pass_on(waitlist, [declined], time_zone, now)
            self._pass_on(waitlist, lapsed, time_zone, now)
            return self._save(waitlist, entry_id, next_in_line[0] if next_in_line else None)

        return _retrying(attempt)

    def accept(self, practice_id: UUID, entry_id: UUID, appointment_id: UUID) -> EntrySaved:
        """The offered slot was booked as `appointment_id`: the entry leaves the line as booked."""

        def attempt() -> EntrySaved:
            waitlist = self._entry_list(practice_id, entry_id)
            waitlist.accept(entry_id, appointment_id, self.clock.now())
            return self._save(waitlist, entry_id)

        return _retrying(attempt)

    def leave(self, practice_id: UUID, entry_id: UUID, reason_code: str) -> EntrySaved:
        """Take the entry off the list; a slot it held on offer goes to the next matching entry."""
        time_zone = self._time_zone(practice_id)

        def attempt() -> EntrySaved:
            waitlist = self._entry_list(practice_id, entry_id)
            now = self.clock.now()
            held = waitlist.leave(entry_id, reason_code, now)
            taken = self._pass_on(waitlist, [held] if held is not None else [], time_zone, now)
            return self._save(waitlist, entry_id, taken[0] if taken else None)

        return _retrying(attempt)

    def sweep(self, practice_id: UUID) -> SweepResult:
        """For a periodic job: lapse offers whose time is up (passing their slots on) and close
        the entries whose window has passed."""
        time_zone = self._time_zone(practice_id)

        def attempt() -> SweepResult:
            waitlist = self._waitlist(practice_id)
            if waitlist is None:
                return SweepResult()
            now = self.clock.now()
            lapsed = waitlist.expire_offers(now)
            closed = waitlist.close_passed(now.astimezone(zone(time_zone)).date(), now)
            reoffered = self._pass_on(waitlist, lapsed, time_zone, now)
            if waitlist.pending_events:
                self.store.save_one(waitlist)
            return SweepResult([o.entry_id for o in lapsed], reoffered, closed)

        return _retrying(attempt)

    # --- queries ----------------------------------------------------------------------------------

    def list(self, practice_id: UUID, status: str | None = None, limit: int = 200) -> Sequence[Any]:
        """The practice's entries in arrival order, narrowed to the caller's record scope."""
        if self.view is None:
            raise RuntimeError("WaitlistService was built without its read model.")
        scope = access.list_filter()
        return self.view.list(
            practice_id, status=status, only_clients=scope.client_ids, care_team_any=scope.care_team_any, limit=limit
        )
