"""A practice with an SMS number, clients with phones and booked visits, for inbound SMS tests."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from application import audit
from domain.clients.client import Client
from domain.scheduling.appointment import Appointment
from tests.support import open_practice, staff_member

_numbers = itertools.count(random.randrange(1000, 8000))


def fresh_number() -> str:
    """A number of the 555-01xx fiction range's exchange, distinct within a test run."""
    return f"+1404{random.randrange(200, 999)}{next(_numbers) % 10000:04d}"


@dataclass
class SmsWorld:
    k: Any
    sms_number: str = field(default_factory=fresh_number)
    contact_phone: str = "+14045550100"
    name: str = ""
    pid: UUID = field(default_factory=uuid4)
    clinician_id: UUID = field(default_factory=uuid4)

    def ctx(self) -> audit.AuditContext:
        return audit.system("system:test", practice_id=self.pid)

    @classmethod
    def open(cls, k: Any, zone: str = "America/New_York", contact_phone: str | None = "+14045550100") -> SmsWorld:
        slug = f"sms-{uuid4().hex[:10]}"
        world = cls(k, contact_phone=contact_phone or "", name=f"Clinic {slug[-4:]}")
        with audit.acting(audit.system("system:test")):
            world.pid = open_practice(k, world.name, slug, zone)
        settings: dict[str, Any] = {"sms_number": world.sms_number}
        if contact_phone:
            settings["contact_phone"] = contact_phone
        with audit.acting(world.ctx()):
            k.practices.change_settings(world.pid, settings)
            world.clinician_id = staff_member(k, world.pid, f"dr-{slug}@example.test")
        return world

    def client(self, phone: str | None) -> UUID:
        client = Client.register(self.pid, "basic", first_name="Ana", last_name="Lopez",
                                 date_of_birth=date(1990, 4, 1), phone=phone)
        with audit.acting(self.ctx()):
            self.k.store.save(client)
        return client.id

    def book(self, client_id: UUID, starts_in: timedelta, now: datetime | None = None) -> UUID:
        now = now or datetime.now(UTC)
        start = (now + starts_in).replace(second=0, microsecond=0)
        appt = Appointment.book(self.pid, client_id, self.clinician_id, "therapy_session", "in_person", start,
                                start + timedelta(minutes=53), booked_at=now - timedelta(days=7))
        with audit.acting(self.ctx()):
            self.k.store.save(appt)
        return appt.id

    def load(self, aggregate_id: UUID, cls: type[Any]) -> Any:
        with audit.acting(self.ctx()):
            return self.k.store.load(aggregate_id, cls)

    def catch_up(self) -> None:
        for name in ("appointments", "sms_routing", "front_desk_tasks"):
            self.k.runner(name).catch_up()
