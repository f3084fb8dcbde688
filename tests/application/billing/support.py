"""A practice's billing desk for the billing tests: staff, clients with and without insurance,
completed visits and notes (written through the aggregates at chosen times, with the compliance
script), and the billing services on a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from adapters.clock import FrozenClock
from application import access, audit
from application.billing.charges import ChargeService
from application.billing.fee_schedules import FeeChange, FeeScheduleService, TypeCodeChange
from application.billing.payments import PaymentService
from application.compliance import ComplianceService
from domain.clinical.clinical_note import ClinicalNote
from domain.identity.permissions import ROLE_SCOPE, effective_permissions
from tests.projections.compliance_script import SOAP, ComplianceScript

NOW = datetime(2026, 3, 20, 15, tzinfo=UTC)  # 11:00 in New York
D = Decimal


@contextmanager
def member_acting(practice_id: UUID, member: UUID, role: str = "billing", clients: frozenset[UUID] = frozenset(),
                  permissions: frozenset[Any] | None = None) -> Iterator[None]:
    """A member's audit context and grant, as the HTTP layer opens them."""
    ctx = audit.AuditContext(actor_id=str(member), actor_role=role, practice_id=practice_id)
    grant = access.Grant(
        user_id=uuid4(), member_id=member, session_id=uuid4(), practice_id=practice_id, role=role,
        permissions=permissions or effective_permissions(role), scope=ROLE_SCOPE[role], client_ids=clients,
        team_ids=frozenset({member}),
    )
    with audit.acting(ctx), access.granted(grant):
        yield


@dataclass
class Desk:
    k: Any
    s: ComplianceScript
    clock: FrozenClock
    fees: FeeScheduleService
    charges: ChargeService
    payments: PaymentService
    admin: UUID
    billing: UUID
    clinician: UUID
    other_clinician: UUID
    insured: UUID  # primary insurance: Aetna
    self_pay: UUID  # no insurance

    @property
    def id(self) -> UUID:
        return self.s.practice_id

    @contextmanager
    def as_(self, member: UUID | None = None, role: str = "billing", clients: frozenset[UUID] = frozenset(),
            permissions: frozenset[Any] | None = None) -> Iterator[None]:
        """A member's audit context and grant, as the HTTP layer opens them."""
        with member_acting(self.id, member or self.billing, role, clients, permissions):
            yield

    def system(self) -> Any:
        return audit.acting(audit.system("system:test", practice_id=self.id))

    def visit(self, day: date, client: UUID | None = None, clinician: UUID | None = None, hour: int = 10,
              status: str = "completed") -> UUID:
        return self.s.visit(clinician or self.clinician, client or self.insured, day, status=status, hour=hour)

    def note(self, visit: UUID, day: date, codes: list[str], client: UUID | None = None,
             signed_at: datetime | None = None) -> UUID:
        n = ClinicalNote.draft(self.id, client or self.insured, self.clinician, "soap", day, now=self.s.at(day, 11),
                               sections=SOAP, appointment_id=visit, icd10_codes=codes)
        if signed_at is not None:
            n.sign(self.clinician, signed_at)
        self.s.save(n)
        return n.id

    def price(self, cpt: str = "90837", amount: str = "150.00", since: date = date(2026, 1, 1),
              modifier: str | None = None, map_type: bool = True) -> None:
        with self.as_(self.admin, "admin"):
            self.fees.update(self.id, fees=[FeeChange(cpt, D(amount), since, modifier)],
                             type_codes=[TypeCodeChange("therapy_session", cpt, ())] if map_type else [])

    def settle(self) -> None:
        self.k.runner("billing_ledger").catch_up()

    def enter(self, client: UUID | None = None, **kw: Any) -> UUID:
        kw.setdefault("service_date", date(2026, 3, 2))
        kw.setdefault("cpt", "90837")
        kw.setdefault("diagnosis_codes", ["F32.1"])
        kw.setdefault("clinician_id", self.clinician)
        with self.as_():
            return self.charges.enter(self.id, client or self.insured, **kw).id


def make_desk(k: Any, clock_at: datetime = NOW) -> Desk:
    s = ComplianceScript(k)
    clock = FrozenClock(clock_at)
    fees = FeeScheduleService(k.store, clock)
    compliance = ComplianceService(k.store, clock, k.compliance_view)
    clinician = s.member("clinician", "LPC")
    insured = s.client(clinician, consent_on=date(2026, 2, 1))
    self_pay = s.client(clinician, consent_on=date(2026, 2, 1), insurance_primary=None)
    return Desk(
        k=k, s=s, clock=clock, fees=fees, charges=ChargeService(k.store, clock, fees, compliance, k.billing_ledger),
        payments=PaymentService(k.store, clock, k.billing_ledger), admin=s.member("admin"),
        billing=s.member("billing"), clinician=clinician, other_clinician=s.member("clinician", "LPC"),
        insured=insured, self_pay=self_pay,
    )


def days_later(day: date, n: int) -> date:
    return day + timedelta(days=n)
