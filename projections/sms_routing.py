"""Where an inbound text goes: the practice owning the number it was sent to, and the client(s)
whose phone it came from.

Practice SMS numbers come from the practice's settings (`sms_number`). Client numbers are PHI:
the mapper hands this projection the decrypted phone of `Client.Registered` and of
`Client.DemographicsUpdated`, and only a keyed hash (per practice) of its E.164 form is stored.
An erased client's row is dropped. Several clients may share a number (a parent's phone).
"""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.clients.client import Client
from domain.messaging.phone import to_e164
from domain.practices.practice import Practice
from projections.base import View


class PhoneTokens(Protocol):
    def phone_token(self, practice_id: UUID, e164: str) -> int:
        """A keyed hash of a number in E.164 form, keyed per practice."""


class SmsRoutingView(View):
    tables = ("sms_practice_numbers", "sms_client_phones")
    index: PhoneTokens

    def token(self, practice_id: UUID, phone: str | None) -> int | None:
        number = to_e164(phone)
        return self.index.phone_token(practice_id, number) if number else None

    def practice_for(self, sms_number: str) -> UUID | None:
        """The practice texts to this number reach; None when no practice (or more than one) has it."""
        number = to_e164(sms_number)
        if number is None:
            return None
        rows = self.query("SELECT practice_id FROM sms_practice_numbers WHERE sms_number = %s LIMIT 2", (number,))
        return rows[0]["practice_id"] if len(rows) == 1 else None

    def clients_for(self, practice_id: UUID, phone: str) -> list[UUID]:
        """The practice's clients with this number (oldest registration first is not promised)."""
        token = self.token(practice_id, phone)
        if token is None:
            return []
        rows = self.query(
            "SELECT client_id FROM sms_client_phones WHERE practice_id = %s AND phone_token = %s "
            "ORDER BY client_id",
            (practice_id, token),
        )
        return [r["client_id"] for r in rows]


class SmsRouting(Projection[SmsRoutingView]):
    name = "sms_routing"
    topics = (
        Practice.Registered.TOPIC,
        Practice.SettingsChanged.TOPIC,
        Client.Registered.TOPIC,
        Client.DemographicsUpdated.TOPIC,
        Client.Erased.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    def _practice_number(self, practice_id: UUID, settings: dict[str, Any]) -> None:
        number = to_e164(settings.get("sms_number"))
        if number is None:
            self.view.curs.execute("DELETE FROM sms_practice_numbers WHERE practice_id = %s", (practice_id,))
        else:
            self.view.curs.execute(
                "INSERT INTO sms_practice_numbers (practice_id, sms_number) VALUES (%s, %s) "
                "ON CONFLICT (practice_id) DO UPDATE SET sms_number = EXCLUDED.sms_number",
                (practice_id, number),
            )

    @process_event.register
    def _(self, e: Practice.Registered, tracking: Tracking) -> None:
        self._practice_number(e.originator_id, e.settings)

    @process_event.register
    def _(self, e: Practice.SettingsChanged, tracking: Tracking) -> None:
        self._practice_number(e.originator_id, e.settings)

    @process_event.register
    def _(self, e: Client.Registered, tracking: Tracking) -> None:
        phone = None if getattr(e, "phi_erased", False) else e.phone
        self.view.curs.execute(
            "INSERT INTO sms_client_phones (client_id, practice_id, phone_token) VALUES (%s, %s, %s) "
            "ON CONFLICT (client_id) DO UPDATE SET phone_token = EXCLUDED.phone_token",
            (e.originator_id, e.practice_id, self.view.token(e.practice_id, phone)),
        )

    @process_event.register
    def _(self, e: Client.DemographicsUpdated, tracking: Tracking) -> None:
        if getattr(e, "phi_erased", False) or "phone" not in e.changes:
            return
        row = self.view.curs.execute(
            "SELECT practice_id FROM sms_client_phones WHERE client_id = %s", (e.originator_id,)
        ).fetchone()
        if row is None:
            return
        self.view.curs.execute(
            "UPDATE sms_client_phones SET phone_token = %s WHERE client_id = %s",
            (self.view.token(row["practice_id"], e.changes["phone"]), e.originator_id),
        )

    @process_event.register
    def _(self, e: Client.Erased, tracking: Tracking) -> None:
        self.view.curs.execute("DELETE FROM sms_client_phones WHERE client_id = %s", (e.originator_id,))
