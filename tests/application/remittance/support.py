"""An office that bills an insurer: a practice of its own, insured clients and billed charges
(written through the aggregates), the remittance service on a frozen clock with a local object
store, and hand-written 835s."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from adapters.aggregate_batches import BatchLoader
from adapters.clock import FrozenClock
from adapters.object_store import LocalObjectStore
from application import access, audit
from application.remittance import ClientPatients, RemittanceService
from domain.billing.charge import Charge
from domain.clients.client import Client
from domain.identity.permissions import ROLE_SCOPE, effective_permissions
from tests.support import open_practice

NOW = datetime(2026, 3, 20, 15, tzinfo=UTC)
D = Decimal
ISA = "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*PRACTICE       *260315*1200*^*00501*{:0>9}*0*P*:~"


@dataclass
class Office:
    k: Any
    id: UUID
    clock: FrozenClock
    service: RemittanceService
    objects: Path
    clinician: UUID = field(default_factory=uuid4)
    clients: dict[str, UUID] = field(default_factory=dict)
    billed: dict[str, UUID] = field(default_factory=dict)

    def system(self) -> Any:
        return audit.acting(audit.system("system:test", practice_id=self.id))

    @contextmanager
    def clerk(self) -> Iterator[None]:
        """A billing clerk's audit context and grant, as the HTTP layer opens them."""
        member = uuid4()
        ctx = audit.AuditContext(actor_id=str(member), actor_role="billing", practice_id=self.id)
        grant = access.Grant(
            user_id=uuid4(), member_id=member, session_id=uuid4(), practice_id=self.id, role="billing",
            permissions=effective_permissions("billing"), scope=ROLE_SCOPE["billing"], team_ids=frozenset({member}),
        )
        with audit.acting(ctx), access.granted(grant):
            yield

    def client(self, first: str, last: str, member_id: str, payer: str = "ACME HEALTH") -> UUID:
        c = Client.register(self.id, "basic", first_name=first, last_name=last, date_of_birth=date(1980, 2, 3),
                            insurance_primary={"payer": payer, "member_id": member_id})
        with self.system():
            self.k.store.save(c)
        self.clients[last] = c.id
        return c.id

    def charge(self, client: UUID, day: date, cpt: str, amount: str, claim: str, line_ref: str,
               modifiers: Sequence[str] = ()) -> UUID:
        charge = Charge.enter(
            practice_id=self.id, client_id=client, clinician_id=self.clinician, appointment_id=None,
            service_date=day, cpt=cpt, charge_modifiers=list(modifiers), charge_units=D(1),
            diagnosis_codes=["F32.1"], diagnosis_pointers=[1], unit_fee=D(amount), payer="ACME HEALTH",
            entered_at=NOW, by=self.clinician, today=NOW.date(), line_ref=line_ref,
        )
        charge.bill(claim, payer="ACME HEALTH", hold_reason=None, at=NOW, by=self.clinician)
        with self.system():
            self.k.store.save(charge)
        return charge.id

    def load(self, aggregate_id: UUID, cls: type[Any]) -> Any:
        with self.system():
            return self.k.store.load(aggregate_id, cls)

    def settle(self) -> None:
        for name in ("billing_ledger", "remittances"):
            self.k.runner(name).catch_up()

    def events(self, aggregate_id: UUID) -> int:
        with self.k.pool.connection() as conn:
            row = conn.execute("SELECT count(*) FROM careledger_events WHERE originator_id = %s",
                               (aggregate_id,)).fetchone()
        return int(row[0])

    def head(self) -> int:
        with self.k.pool.connection() as conn:
            row = conn.execute("SELECT COALESCE(max(notification_id), 0) FROM careledger_events").fetchone()
        return int(row[0])

    def import_(self, data: bytes, name: str = "acme.835", rules_version: int | None = None) -> Any:
        self.settle()
        with self.clerk():
            report = self.service.import_file(self.id, name, data, rules_version)
        self.settle()
        return report


def make_office(k: Any, tmp: Path, batch_size: int = 200) -> Office:
    slug = f"era-{uuid4().hex[:10]}"
    with audit.acting(audit.system("system:test")):
        practice_id = open_practice(k, f"ERA {slug}", slug, "America/New_York")
    clock = FrozenClock(NOW)
    loader = BatchLoader(k.store)
    service = RemittanceService(k.store, clock, LocalObjectStore(tmp), k.billing_ledger, ClientPatients(loader),
                                aggregates=loader, view=k.remittances_view, batch_size=batch_size)
    return Office(k, practice_id, clock, service, tmp)


def claim(number: str, status: str, charged: str, paid: str, patient: str, icn: str, last: str, first: str,
          member: str, *lines: str, claim_cas: str = "") -> list[str]:
    """A CLP loop: CLP, NM1*QC, claim-level CAS, then the service line segments given."""
    segments = [f"CLP*{number}*{status}*{charged}*{paid}*{patient}*12*{icn}*11*1",
                f"NM1*QC*1*{last}*{first}****MI*{member}"]
    if claim_cas:
        segments.append(claim_cas)
    return segments + list(lines)


def line(cpt: str, charged: str, paid: str, day: str, ref: str = "", *cas: str) -> list[str]:
    segments = [f"SVC*HC:{cpt}*{charged}*{paid}**1", f"DTM*472*{day}", *cas]
    if ref:
        segments.append(f"REF*6R*{ref}")
    return segments


def era(*claims: list[str], trace: str = "TRC0001", payment: str | None = None, control: int = 1,
        payer: str = "ACME HEALTH", payer_id: str = "99999", paid_on: str = "20260315") -> bytes:
    """An 835 with one transaction set; BPR02 is the sum of CLP04 unless `payment` says otherwise."""
    total = payment if payment is not None else str(sum(Decimal(c[0].split("*")[4]) for c in claims))
    body = [
        "ST*835*0001",
        f"BPR*I*{total}*C*ACH*CCP*01*011000015*DA*1000200030*1512345678**01*021000021*DA*5550001111*{paid_on}",
        f"TRN*1*{trace}*1512345678",
        f"DTM*405*{paid_on}",
        f"N1*PR*{payer}*XV*{payer_id}",
        "N1*PE*PRACTICE*XX*1234567893",
        "LX*1",
        *(segment for c in claims for segment in c),
    ]
    body.append(f"SE*{len(body) + 1}*0001")
    segments = [ISA.format(control), f"GS*HP*ACMEHEALTH*PRACTICE*20260315*1200*{control}*X*005010X221A1", *body,
                f"GE*1*{control}", f"IEA*1*{control:0>9}"]
    return ("~\n".join(segments) + "~\n").encode()


def seed_history(office: Office, history: Any, chunk: int = 500) -> dict[str, UUID]:
    """The clients and billed charges of a `bench.era_dataset` history; line_ref -> charge id."""
    clients: dict[str, UUID] = {}
    pending: list[Any] = []

    def flush() -> None:
        with office.system():
            office.k.store.save(*pending)
        pending.clear()

    for c in history.clients:
        client = Client.register(office.id, "basic", first_name=c.first_name, last_name=c.last_name,
                                 date_of_birth=c.birth_date,
                                 insurance_primary={"payer": history.payer_name, "member_id": c.member_id})
        clients[c.key] = client.id
        pending.append(client)
        if len(pending) >= chunk:
            flush()
    refs: dict[str, UUID] = {}
    for line in history.charges:
        charge = Charge.enter(
            practice_id=office.id, client_id=clients[line.client_key], clinician_id=office.clinician,
            appointment_id=None, service_date=line.service_date, cpt=line.cpt, charge_modifiers=list(line.modifiers),
            charge_units=line.units, diagnosis_codes=["F41.1"], diagnosis_pointers=[1], unit_fee=line.unit_fee,
            payer=history.payer_name, entered_at=office.clock.now(), by=office.clinician, today=office.clock.now().date(),
            line_ref=line.line_ref,
        )
        charge.bill(line.claim_number, payer=history.payer_name, hold_reason=None, at=office.clock.now(),
                    by=office.clinician)
        refs[line.line_ref] = charge.id
        pending.append(charge)
        if len(pending) >= chunk:
            flush()
    if pending:
        flush()
    return refs
