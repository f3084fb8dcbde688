"""Writes a practice's clinical history through the aggregates with explicit times, then reads
the compliance read model: the fixture for the compliance engine's clock-driven tests."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from application import audit
from domain.clients.client import Client
from domain.clinical.clinical_note import ClinicalNote
from domain.compliance.compliance_day import ComplianceDay
from domain.identity.membership import Membership
from domain.practices.practice import practice_id_for
from domain.scheduling.appointment import Appointment
from domain.scheduling.consents import ConsentRecord
from domain.supervision.session import SupervisionSession
from projections.compliance.queries import AlertRow

NEW_YORK = ZoneInfo("America/New_York")
SOAP = {"subjective": "s", "objective": "o", "assessment": "a", "plan": "p"}
PLAN = {"problems": "p", "goals": "g", "objectives": "o", "interventions": "i"}
SAFETY = {"warning_signs": "w", "coping_strategies": "c", "support_contacts": "s", "professional_contacts": "p",
          "means_safety": "m"}
FULL_DEMOGRAPHICS: dict[str, Any] = {
    "phone": "+14045550100",
    "address": {"line1": "1 Peachtree St", "city": "Atlanta", "state": "GA", "zip": "30303"},
    "emergency_contact": {"name": "Kin", "phone": "+14045550101", "relationship": "sibling"},
    "insurance_primary": {"payer": "Aetna", "member_id": "W123"},
}


class ComplianceScript:
    def __init__(self, k: Any, zone: ZoneInfo = NEW_YORK, start: date = date(2026, 3, 1)) -> None:
        self.k, self.zone = k, zone
        slug = self.slug = f"cp-{uuid4().hex[:10]}"
        self.practice_id = practice_id_for(slug)
        with self.acting():
            k.practices.register(f"Practice {slug}", slug, zone.key)
        self.trained_on = start - timedelta(days=30)

    def acting(self) -> Any:
        return audit.acting(audit.system("system:test", practice_id=self.practice_id))

    def at(self, day: date, hour: int = 0, minute: int = 5) -> datetime:
        return datetime.combine(day, time(hour, minute), self.zone)

    def save(self, *aggregates: Any) -> None:
        with self.acting():
            self.k.store.save(*aggregates)

    def load(self, aggregate_id: UUID, cls: type[Any]) -> Any:
        with self.acting():
            return self.k.store.load(aggregate_id, cls)

    def member(self, role: str, license_type: str | None = None, supervisor: UUID | None = None,
               trained: bool = True) -> UUID:
        m = Membership.invite(self.practice_id, f"{uuid4().hex[:8]}@example.org", "Staff Member", role, "h",
                              datetime(2030, 1, 1, tzinfo=self.zone), license_type=license_type)
        m.accept(uuid4())
        if trained:
            m.record_hipaa_training(self.trained_on, self.trained_on)
        if supervisor is not None:
            m.assign_supervisor(self.load(supervisor, Membership))
        self.save(m)
        return m.id

    def supervise(self, member: UUID, supervisor: UUID) -> None:
        m = self.load(member, Membership)
        m.assign_supervisor(self.load(supervisor, Membership))
        self.save(m)

    def client(self, clinician: UUID, consent_on: date | None, birth: date = date(1990, 5, 5),
               **demographics: Any) -> UUID:
        c = Client.register(self.practice_id, "basic", first_name="Pat", last_name="Doe", date_of_birth=birth,
                            **{**FULL_DEMOGRAPHICS, **demographics})
        c.assign(clinician, "clinician")
        if consent_on is not None:
            c.record_consent(uuid4(), ConsentRecord("informed_consent", self.at(consent_on, 9), None, "Pat Doe"))
        self.save(c)
        return c.id

    def consent(self, client: UUID, kind: str, on: date, guardian: str | None = None) -> None:
        c = self.load(client, Client)
        c.record_consent(uuid4(), ConsentRecord(kind, self.at(on, 9), None, "Pat Doe", guardian))
        self.save(c)

    def visit(self, clinician: UUID, client: UUID, day: date, status: str = "completed", hour: int = 10,
              modality: str = "in_person") -> UUID:
        starts = self.at(day, hour, 0)
        a = Appointment.book(self.practice_id, client, clinician, "therapy_session", modality, starts,
                             starts + timedelta(minutes=50), booked_at=starts - timedelta(days=7))
        if status == "completed":
            a.complete(starts + timedelta(minutes=50))
        elif status == "no_show":
            a.mark_no_show(starts + timedelta(minutes=15))
        self.save(a)
        return a.id

    def note(self, author: UUID, client: UUID, day: date, appointment: UUID | None, kind: str = "soap",
             sections: dict[str, str] | None = None, signed_at: datetime | None = None,
             supervisor: UUID | None = None) -> UUID:
        n = ClinicalNote.draft(self.practice_id, client, author, kind, day, now=self.at(day, 11),
                               sections=sections or SOAP, appointment_id=appointment,
                               requires_cosign=supervisor is not None, supervisor_id=supervisor)
        if signed_at is not None:
            n.sign(author, signed_at)
        self.save(n)
        return n.id

    def sign(self, note: UUID, author: UUID, at: datetime) -> None:
        n = self.load(note, ClinicalNote)
        n.sign(author, at)
        self.save(n)

    def supervision(self, supervisee: UUID, supervisor: UUID, day: date, hours: str, signed: bool = True) -> UUID:
        s = SupervisionSession.log(self.practice_id, supervisee, supervisor, day, Decimal(hours), "individual",
                                   ["case review"], today=day, logged_at=self.at(day, 15), by=supervisor)
        if signed:
            s.sign(supervisor, self.at(day, 16))
        self.save(s)
        return s.id

    def tick(self, day: date) -> None:
        """The sweep starts the practice's local day at 00:05."""
        self.save(ComplianceDay.start(self.practice_id, day, self.at(day)))

    def ticks(self, first: date, last: date) -> None:
        day = first
        while day <= last:
            self.tick(day)
            day += timedelta(days=1)

    def settle(self) -> None:
        self.k.runner("compliance").catch_up()

    def alerts(self, status: str | None = "active", concerning: set[UUID] | None = None) -> list[AlertRow]:
        self.settle()
        return self.k.compliance_view.alerts(self.practice_id, concerning=concerning, status=status, limit=1000)

    def active(self, rule_prefix: str = "") -> list[tuple[str, str]]:
        return sorted((a.rule_code, a.step) for a in self.alerts() if a.rule_code.startswith(rule_prefix))
