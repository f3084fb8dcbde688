"""The front desk's waitlist: every entry with its status (waiting, offered, booked, left) and
the slot it holds on offer, in arrival order.

It also follows each client's care team (from the Client events), so a caseload role's list
narrows to its own clients without reading another projection's tables.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.clients.client import Client
from domain.scheduling.waitlist import Waitlist
from projections.base import View

STATUSES = ("waiting", "offered", "booked", "left")
CLEAR_OFFER = (
    "offer_clinician_id = NULL, offer_appointment_type = NULL, offer_starts_at = NULL, offer_ends_at = NULL, "
    "offer_expires_at = NULL, offered_at = NULL"
)


@dataclass(frozen=True)
class OfferedSlot:
    clinician_id: UUID
    appointment_type: str
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime
    offered_at: datetime


@dataclass(frozen=True)
class WaitlistRow:
    entry_id: UUID
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
    offer: OfferedSlot | None
    last_offer_outcome: str | None  # declined | expired
    appointment_id: UUID | None
    left_reason: str | None


class WaitlistView(View):
    tables = ("waitlist_entries", "waitlist_care_team")

    def practices_waiting(self) -> list[UUID]:
        """Practices with entries still in line or holding an offer (for the sweep)."""
        rows = self.query(
            "SELECT DISTINCT practice_id FROM waitlist_entries WHERE status IN ('waiting', 'offered')"
        )
        return [r["practice_id"] for r in rows]

    def list(
        self,
        practice_id: UUID,
        status: str | None = None,
        only_clients: Collection[UUID] | None = None,
        care_team_any: Collection[UUID] | None = None,
        limit: int = 200,
    ) -> list[WaitlistRow]:
        """Entries in arrival order. `only_clients` / `care_team_any` narrow to a record scope."""
        sql = "SELECT * FROM waitlist_entries w WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        if status is not None:
            sql += " AND status = %s"
            params.append(status)
        if only_clients is not None:
            sql += " AND client_id = ANY(%s)"
            params.append(list(only_clients))
        if care_team_any is not None:
            sql += (" AND EXISTS (SELECT 1 FROM waitlist_care_team t WHERE t.client_id = w.client_id "
                    "AND t.staff_id = ANY(%s))")
            params.append(list(care_team_any))
        params.append(limit)
        return [_row(r) for r in self.query(sql + " ORDER BY seq LIMIT %s", params)]


def _row(r: Any) -> WaitlistRow:
    offer = None
    if r["offer_starts_at"] is not None:
        offer = OfferedSlot(r["offer_clinician_id"], r["offer_appointment_type"], r["offer_starts_at"],
                            r["offer_ends_at"], r["offer_expires_at"], r["offered_at"])
    return WaitlistRow(
        r["entry_id"], r["client_id"], r["clinician_id"], r["appointment_type"], r["earliest_date"],
        r["latest_date"], r["weekdays"], r["earliest_time"], r["latest_time"], r["joined_at"], r["status"], offer,
        r["last_offer_outcome"], r["appointment_id"], r["left_reason"],
    )


class WaitlistProjection(Projection[WaitlistView]):
    name = "waitlist"
    topics = (
        Waitlist.Joined.TOPIC,
        Waitlist.Offered.TOPIC,
        Waitlist.OfferDeclined.TOPIC,
        Waitlist.OfferExpired.TOPIC,
        Waitlist.Accepted.TOPIC,
        Waitlist.Left.TOPIC,
        Client.CareTeamMemberAssigned.TOPIC,
        Client.CareTeamMemberUnassigned.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    def _update(self, entry_id: UUID, assignments: str, values: tuple[Any, ...], at: datetime) -> None:
        self.view.curs.execute(
            f"UPDATE waitlist_entries SET {assignments}, updated_at = %s WHERE entry_id = %s",
            (*values, at, entry_id),
        )

    @process_event.register
    def _(self, e: Waitlist.Joined, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO waitlist_entries (entry_id, practice_id, client_id, seq, clinician_id, appointment_type, "
            "earliest_date, latest_date, weekdays, earliest_time, latest_time, joined_at, status, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'waiting', %s) ON CONFLICT (entry_id) DO NOTHING",
            (e.entry_id, e.practice_id, e.client_id, tracking.notification_id, e.clinician_id, e.appointment_type,
             e.earliest_date, e.latest_date, e.weekdays, e.earliest_time, e.latest_time, e.joined_at, e.timestamp),
        )

    @process_event.register
    def _(self, e: Waitlist.Offered, tracking: Tracking) -> None:
        self._update(
            e.entry_id,
            "status = 'offered', offer_clinician_id = %s, offer_appointment_type = %s, offer_starts_at = %s, "
            "offer_ends_at = %s, offer_expires_at = %s, offered_at = %s",
            (e.clinician_id, e.appointment_type, e.starts_at, e.ends_at, e.expires_at, e.offered_at), e.timestamp,
        )

    @process_event.register
    def _(self, e: Waitlist.OfferDeclined, tracking: Tracking) -> None:
        self._update(e.entry_id, f"status = 'waiting', last_offer_outcome = 'declined', {CLEAR_OFFER}", (),
                     e.timestamp)

    @process_event.register
    def _(self, e: Waitlist.OfferExpired, tracking: Tracking) -> None:
        self._update(e.entry_id, f"status = 'waiting', last_offer_outcome = 'expired', {CLEAR_OFFER}", (),
                     e.timestamp)

    @process_event.register
    def _(self, e: Waitlist.Accepted, tracking: Tracking) -> None:
        """The booked slot stays visible beside the appointment id."""
        self._update(e.entry_id, "status = 'booked', appointment_id = %s", (e.appointment_id,), e.timestamp)

    @process_event.register
    def _(self, e: Waitlist.Left, tracking: Tracking) -> None:
        self._update(e.entry_id, f"status = 'left', left_reason = %s, {CLEAR_OFFER}", (e.reason_code,), e.timestamp)

    @process_event.register
    def _(self, e: Client.CareTeamMemberAssigned, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO waitlist_care_team (client_id, staff_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, e.staff_id),
        )

    @process_event.register
    def _(self, e: Client.CareTeamMemberUnassigned, tracking: Tracking) -> None:
        self.view.curs.execute(
            "DELETE FROM waitlist_care_team WHERE client_id = %s AND staff_id = %s", (e.originator_id, e.staff_id)
        )

