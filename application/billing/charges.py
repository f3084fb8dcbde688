"""Charges: entered by hand or by practice policy when a visit is completed, edited while unbilled,
billed on claims (never while the visit is on billing hold), adjusted, written off and voided.

A charge for a visit has an id derived from the appointment (the first `visit_charge_id(a, 0)`,
after a void the next), so a visit has at most one live charge even when two people (or a person
and the charge-on-completion sweep) enter it at once: the second save collides and is refused.

Defaults, each overridable: the procedure and modifiers from the fee schedule's mapping of the
appointment type; the unit fee from the schedule in force on the service date; the diagnoses from
the visit's clinical note, else the client's most recent charge; the payer from the client's
primary insurance (none: self-pay).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID, uuid4, uuid5

from application.billing.fee_schedules import FeeScheduleService
from application.billing.scope import BillingScope, acting_member, billing_scope, practice_client
from application.clients import Read
from application.errors import Conflict, NotFound, Unavailable
from application.ports import Clock
from application.retry import retrying
from application.store import EventStore, Saved
from domain.access.phi_access import PURPOSES, PhiAccess
from domain.billing.charge import Charge
from domain.billing.fee_schedule import FeeSchedule
from domain.billing.money import modifiers, procedure_code
from domain.clients.client import Client
from domain.clinical.clinical_note import ClinicalNote
from domain.compliance.billing_hold import BillingHold
from domain.errors import IllegalTransition, InvalidCommand
from domain.identity.membership import Membership
from domain.practices.practice import Practice
from domain.scheduling.appointment import Appointment
from domain.scheduling.working_time import zone

VISIT_CHARGE_NAMESPACE = UUID("5d0c7a2e-3f4b-4c1d-8e6a-b9f2d4c8a071")
ATTEMPTS = 5
MAX_CLAIM_LINES = 50
MAX_VISIT_CHARGES = 20
STATUSES = ("unbilled", "billed", "partially_paid", "paid", "adjusted", "void")
VISIT_LOOKBACK = timedelta(days=60)


class _Default:
    """The caller left the payer out: use the client's primary insurance."""


DEFAULT_PAYER = _Default()


def visit_charge_id(appointment_id: UUID, n: int = 0) -> UUID:
    """The id of a visit's `n`th charge (n > 0 only after the earlier ones were voided)."""
    return uuid5(VISIT_CHARGE_NAMESPACE, str(appointment_id) if n == 0 else f"{appointment_id}/{n}")


def claim_number_for(charge_id: UUID) -> str:
    """The default claim number of a claim whose first line is `charge_id`: readable, and unique
    in the practice as the charge id is."""
    return "C" + charge_id.hex[:10].upper()


class BillingHolds(Protocol):
    """The compliance engine's billing hold (application/compliance.py)."""

    def billing_hold(self, practice_id: UUID, appointment_id: UUID) -> BillingHold: ...


class ChargeReadModel(Protocol):
    """The billing ledger (projections/billing_ledger.py)."""

    def charges(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, only_clinicians: Collection[UUID] | None,
        status: str | None = None, client_id: UUID | None = None, clinician_id: UUID | None = None,
        first: date | None = None, last: date | None = None, payer: str | None = None, unbilled_only: bool = False,
        claim_number: str | None = None, cursor: str | None = None, limit: int = 100,
    ) -> Any: ...

    def claim_charge_ids(self, practice_id: UUID, claim_number: str) -> list[UUID]: ...

    def latest_charge_for_client(self, practice_id: UUID, client_id: UUID) -> UUID | None: ...

    def visit_notes(self, practice_id: UUID, appointment_id: UUID) -> list[UUID]: ...

    def unbilled_visits(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, only_clinicians: Collection[UUID] | None,
        clinician_id: UUID | None = None, first: date | None = None, last: date | None = None, limit: int = 200,
    ) -> Sequence[Any]: ...

    def visits_awaiting_charge(self, completed_since: datetime, limit: int = 500) -> Sequence[Any]: ...


@dataclass(frozen=True)
class ChargeFilter:
    status: str | None = None
    client_id: UUID | None = None
    clinician_id: UUID | None = None
    first: date | None = None
    last: date | None = None
    payer: str | None = None
    """A payer's name, or "self-pay"."""
    unbilled_only: bool = False
    claim_number: str | None = None
    cursor: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class BilledClaim:
    claim_number: str
    charge_ids: list[UUID]
    position: int


@dataclass(frozen=True)
class VisitCharge:
    """What the charge-on-completion rule did with one visit."""

    appointment_id: UUID
    outcome: str
    """created | exists | policy_off | not_completed | no_type_code | no_fee | no_diagnosis"""
    charge_id: UUID | None = None


class ChargeService:
    def __init__(
        self, store: EventStore, clock: Clock, fee_schedules: FeeScheduleService, holds: BillingHolds,
        ledger: ChargeReadModel,
    ) -> None:
        self.store = store
        self.clock = clock
        self.fee_schedules = fee_schedules
        self.holds = holds
        self.ledger = ledger

    # --- loading ------------------------------------------------------------------------------

    def _charge(self, practice_id: UUID, charge_id: UUID, scope: BillingScope | None = None) -> Charge:
        try:
            charge: Charge = self.store.load(charge_id, Charge)
        except NotFound:
            raise NotFound(f"No charge {charge_id}.") from None
        seen = scope or billing_scope()
        if charge.practice_id != practice_id or not seen.sees_charge(charge.client_id, charge.clinician_id):
            raise NotFound(f"No charge {charge_id}.")
        return charge

    def _appointment(self, practice_id: UUID, client_id: UUID, appointment_id: UUID) -> Appointment:
        try:
            appointment: Appointment = self.store.load(appointment_id, Appointment)
        except NotFound:
            raise NotFound(f"No appointment {appointment_id}.") from None
        if appointment.practice_id != practice_id:
            raise NotFound(f"No appointment {appointment_id}.")
        if appointment.client_id != client_id:
            raise InvalidCommand("The appointment is another client's.", field="appointment_id")
        if appointment.status != "completed":
            raise IllegalTransition("Only a completed visit is charged.", status=appointment.status)
        return appointment

    def _clinician(self, practice_id: UUID, clinician_id: UUID) -> UUID:
        refusal = InvalidCommand("Name a staff member of this practice.", field="clinician_id")
        try:
            member: Membership = self.store.load(clinician_id, Membership)
        except NotFound:
            raise refusal from None
        if member.practice_id != practice_id or not member.is_staff:
            raise refusal
        return member.id

    def _practice_zone(self, practice_id: UUID) -> Any:
        practice: Practice = self.store.load(practice_id, Practice)
        return zone(practice.time_zone)

    def _next_visit_charge_id(self, appointment_id: UUID, first_only: bool) -> UUID:
        for n in range(1 if first_only else MAX_VISIT_CHARGES):
            candidate = visit_charge_id(appointment_id, n)
            if not self.store.exists(candidate):
                return candidate
            earlier: Charge = self.store.load(candidate, Charge)
            if not earlier.voided:
                raise Conflict(f"The visit has a charge already ({candidate}); edit or void it.")
        if first_only:
            raise Conflict("The visit's charge by policy was entered and voided; enter a new one by hand.")
        raise Conflict("The visit has been charged and voided too many times.")

    def _known_diagnoses(self, practice_id: UUID, client_id: UUID, appointment_id: UUID | None) -> list[str]:
        """The visit's clinical note's ICD-10 codes, else the client's most recent charge's."""
        if appointment_id is not None:
            for note_id in self.ledger.visit_notes(practice_id, appointment_id):
                try:
                    note: ClinicalNote = self.store.load(note_id, ClinicalNote)
                except NotFound:
                    continue
                codes = note.icd10_codes
                if note.client_id == client_id and isinstance(codes, tuple) and codes:
                    return list(codes)
        latest = self.ledger.latest_charge_for_client(practice_id, client_id)
        if latest is not None:
            charge: Charge = self.store.load(latest, Charge)
            if isinstance(charge.diagnosis_codes, list) and charge.diagnosis_codes:
                return list(charge.diagnosis_codes)
        return []

    # --- entering -----------------------------------------------------------------------------

    def enter(
        self, practice_id: UUID, client_id: UUID, *, appointment_id: UUID | None = None,
        clinician_id: UUID | None = None, service_date: date | None = None, cpt: str | None = None,
        charge_modifiers: Sequence[str] | None = None, charge_units: Decimal = Decimal(1),
        diagnosis_codes: Sequence[str] | None = None, diagnosis_pointers: Sequence[int] | None = None,
        unit_fee: Decimal | None = None, payer: str | _Default | None = DEFAULT_PAYER, by_policy: bool = False,
    ) -> Saved:
        """`by_policy`: the charge-on-completion rule, which only ever enters a visit's first charge."""
        by = acting_member(practice_id)
        scope = billing_scope()

        def attempt() -> Saved:
            client = practice_client(self.store, practice_id, client_id)
            schedule = self.fee_schedules.get(practice_id)
            local = self._practice_zone(practice_id)
            charge_id: UUID | None = None
            day, clinician, code, mods = service_date, clinician_id, cpt, charge_modifiers
            if appointment_id is not None:
                appointment = self._appointment(practice_id, client_id, appointment_id)
                visit_day = appointment.starts_at.astimezone(local).date()
                if day is not None and day != visit_day:
                    raise InvalidCommand("The service date is the visit's date.", field="service_date")
                day, clinician = visit_day, clinician or appointment.clinician_id
                mapped = schedule.type_codes.get(appointment.appointment_type)
                if code is None and mapped is not None:
                    code, mods = mapped.cpt, list(mapped.modifiers) if mods is None else mods
                charge_id = self._next_visit_charge_id(appointment_id, by_policy)
            if clinician is None:
                raise InvalidCommand("Name the clinician who gave the service.", field="clinician_id")
            if day is None:
                raise InvalidCommand("A charge without a visit needs its service date.", field="service_date")
            if code is None:
                raise InvalidCommand("Name the procedure code (or map the appointment type to one).", field="cpt")
            if not scope.sees_charge(client_id, clinician):
                raise NotFound(f"No client {client_id}.")
            code, mods = procedure_code(code), list(modifiers(list(mods or [])))
            codes = list(diagnosis_codes) if diagnosis_codes is not None else self._known_diagnoses(
                practice_id, client_id, appointment_id)
            if not codes:
                raise InvalidCommand("No diagnosis is known for this visit; give the ICD-10 codes.",
                                     field="diagnosis_codes")
            charge = Charge.enter(
                practice_id=practice_id, client_id=client_id, clinician_id=self._clinician(practice_id, clinician),
                appointment_id=appointment_id, service_date=day, cpt=code, charge_modifiers=mods,
                charge_units=charge_units, diagnosis_codes=codes,
                diagnosis_pointers=list(diagnosis_pointers) if diagnosis_pointers is not None else _pointers(codes),
                unit_fee=self._unit_fee(schedule, code, mods, day, unit_fee), payer=_payer(client, payer),
                entered_at=self.clock.now(), by=by, today=self.clock.now().astimezone(local).date(),
                charge_id=charge_id,
            )
            return self.store.save_one(charge)

        return retrying(attempt, ATTEMPTS)

    @staticmethod
    def _unit_fee(schedule: FeeSchedule, cpt: str, mods: list[str], day: date, given: Decimal | None) -> Decimal:
        if given is not None:
            return given
        fee = schedule.fee_for(cpt, tuple(mods), day)
        if fee is None:
            raise InvalidCommand(f"The fee schedule has no fee for {cpt} on {day}; set one or give the unit fee.",
                                 field="unit_fee")
        return fee

    def charge_visit(self, practice_id: UUID, appointment_id: UUID) -> VisitCharge:
        """The practice's charge-on-completion rule for one visit: its charge, created once, when
        the policy is on, the appointment type maps to a procedure with a fee, and a diagnosis is
        known; otherwise the visit stays listed as needing a charge."""
        charge_id = visit_charge_id(appointment_id)

        def outcome(name: str) -> VisitCharge:
            return VisitCharge(appointment_id, name, charge_id if name in {"created", "exists"} else None)

        schedule = self.fee_schedules.get(practice_id)
        if not schedule.charge_on_completion:
            return outcome("policy_off")
        appointment: Appointment = self.store.load(appointment_id, Appointment)
        if appointment.practice_id != practice_id:
            raise NotFound(f"No appointment {appointment_id}.")
        if appointment.status != "completed":
            return outcome("not_completed")
        if self.store.exists(charge_id):
            return outcome("exists")
        mapped = schedule.type_codes.get(appointment.appointment_type)
        if mapped is None:
            return outcome("no_type_code")
        day = appointment.starts_at.astimezone(self._practice_zone(practice_id)).date()
        if schedule.fee_for(mapped.cpt, mapped.modifiers, day) is None:
            return outcome("no_fee")
        if not self._known_diagnoses(practice_id, appointment.client_id, appointment_id):
            return outcome("no_diagnosis")
        try:
            self.enter(practice_id, appointment.client_id, appointment_id=appointment_id, by_policy=True)
        except Conflict:
            return outcome("exists")
        return outcome("created")

    def visits_awaiting_charge(self, limit: int = 500) -> Sequence[Any]:
        """Recent visits of practices that charge on completion still without a charge (for the
        sweep, which calls `charge_visit` for each under a system actor of the visit's practice)."""
        return self.ledger.visits_awaiting_charge(self.clock.now() - VISIT_LOOKBACK, limit)

    # --- changing -----------------------------------------------------------------------------

    def edit(
        self, practice_id: UUID, charge_id: UUID, *, cpt: str | None = None,
        charge_modifiers: Sequence[str] | None = None, charge_units: Decimal | None = None,
        diagnosis_codes: Sequence[str] | None = None, diagnosis_pointers: Sequence[int] | None = None,
        unit_fee: Decimal | None = None,
    ) -> Saved:
        """Only while unbilled with no money on it. A new procedure or modifiers without a unit fee
        take the schedule's fee for the service date."""
        by = acting_member(practice_id)

        def attempt() -> Saved:
            charge = self._charge(practice_id, charge_id)
            fee = unit_fee
            if fee is None and (cpt is not None or charge_modifiers is not None):
                code = procedure_code(cpt) if cpt is not None else charge.cpt
                mods = list(modifiers(list(charge_modifiers))) if charge_modifiers is not None else list(
                    charge.modifiers)
                fee = self._unit_fee(self.fee_schedules.get(practice_id), code, mods, charge.service_date, None)
            pointers = list(diagnosis_pointers) if diagnosis_pointers is not None else (
                _pointers(list(diagnosis_codes)) if diagnosis_codes is not None else None)
            charge.edit(
                cpt=cpt, charge_modifiers=list(charge_modifiers) if charge_modifiers is not None else None,
                charge_units=charge_units, diagnosis_codes=list(diagnosis_codes) if diagnosis_codes is not None
                else None, diagnosis_pointers=pointers, unit_fee=fee, at=self.clock.now(), by=by,
            )
            return self.store.save_one(charge)

        return retrying(attempt, ATTEMPTS)

    def bill(
        self, practice_id: UUID, charge_ids: Sequence[UUID], *, claim_number: str | None = None,
        payer: str | None = None,
    ) -> BilledClaim:
        """Put the charges on one claim (one client; at most 50 lines), all or none. The claim
        number defaults to one derived from the first charge. A charge whose visit is on billing
        hold refuses (409 `billing_hold`), and then nothing is billed."""
        ids = list(dict.fromkeys(charge_ids))
        if not ids or len(ids) != len(charge_ids) or len(ids) > MAX_CLAIM_LINES:
            raise InvalidCommand(f"A claim bills 1 to {MAX_CLAIM_LINES} different charges.", field="charge_ids")
        number = (claim_number or "").strip() or claim_number_for(ids[0])
        by = acting_member(practice_id)

        def attempt() -> BilledClaim:
            charges = [self._charge(practice_id, cid) for cid in ids]
            if len({c.client_id for c in charges}) > 1:
                raise InvalidCommand("A claim is for one client.", field="charge_ids")
            others = set(self.ledger.claim_charge_ids(practice_id, number)) - set(ids)
            if others:
                raise Conflict(f"The claim number {number} is on other charges already.")
            now = self.clock.now()
            for charge in charges:
                charge.bill(number, payer=payer, hold_reason=self._hold(practice_id, charge), at=now, by=by)
            recordings = self.store.save(*charges)
            position = max((r.notification.id for r in recordings), default=0)
            return BilledClaim(number, ids, position)

        return retrying(attempt, ATTEMPTS)

    def _hold(self, practice_id: UUID, charge: Charge) -> str | None:
        if charge.appointment_id is None or charge.voided or charge.claim_number is not None:
            return None
        try:
            hold = self.holds.billing_hold(practice_id, charge.appointment_id)
        except NotFound:
            raise Unavailable("The compliance engine has not seen this visit yet; retry shortly.") from None
        return (hold.reason or "held") if hold.held else None

    def adjust(
        self, practice_id: UUID, charge_id: UUID, *, kind: str, group: str, reason_code: str, amount: Decimal,
        note: str, remark_codes: Sequence[str] = (), adjustment_id: UUID | None = None,
    ) -> Saved:
        """An adjustment or write-off by hand, at most the open balance; the same `adjustment_id`
        again changes nothing."""
        by = acting_member(practice_id)
        entry_id = str(adjustment_id or uuid4())

        def attempt() -> Saved:
            charge = self._charge(practice_id, charge_id)
            if not charge.has_entry(entry_id) and isinstance(amount, Decimal) and amount > charge.balance:
                raise InvalidCommand("An adjustment is at most the open balance.", field="amount")
            charge.adjust(entry_id, kind=kind, group=group, reason=reason_code, amount=amount, at=self.clock.now(),
                          by=by, remark=list(remark_codes), note=note)
            return self.store.save_one(charge)

        saved = retrying(attempt, ATTEMPTS)
        return Saved(UUID(entry_id), saved.version, saved.position)

    def void(self, practice_id: UUID, charge_id: UUID, reason: str) -> Saved:
        by = acting_member(practice_id)

        def attempt() -> Saved:
            charge = self._charge(practice_id, charge_id)
            charge.void(reason, at=self.clock.now(), by=by)
            return self.store.save_one(charge)

        return retrying(attempt, ATTEMPTS)

    # --- reading ------------------------------------------------------------------------------

    def get(self, practice_id: UUID, charge_id: UUID, read: Read | None = None) -> Charge:
        """The charge with its diagnoses; with `read`, recorded as a PHI read of the client."""
        charge = self._charge(practice_id, charge_id)
        if read is not None:
            if read.purpose not in PURPOSES:
                raise InvalidCommand(f"Unknown purpose {read.purpose!r}.", field="purpose", allowed=sorted(PURPOSES))
            self.store.save(PhiAccess(client_id=charge.client_id, practice_id=practice_id, endpoint=read.endpoint,
                                      purpose=read.purpose, fields=["diagnosis_codes"]))
        return charge

    def list(self, practice_id: UUID, filters: ChargeFilter) -> Any:
        if filters.status is not None and filters.status not in STATUSES:
            raise InvalidCommand("Unknown charge status.", field="status", allowed=list(STATUSES))
        if filters.first and filters.last and filters.first > filters.last:
            raise InvalidCommand("The date range ends before it starts.", field="to")
        scope = billing_scope()
        return self.ledger.charges(
            practice_id, only_clients=scope.clients, only_clinicians=scope.clinicians, status=filters.status,
            client_id=filters.client_id, clinician_id=filters.clinician_id, first=filters.first, last=filters.last,
            payer=filters.payer, unbilled_only=filters.unbilled_only, claim_number=filters.claim_number,
            cursor=filters.cursor, limit=filters.limit,
        )

    def unbilled_visits(
        self, practice_id: UUID, *, clinician_id: UUID | None = None, first: date | None = None,
        last: date | None = None, limit: int = 200,
    ) -> Sequence[Any]:
        """Completed visits without a live charge (the "needs a charge" queue)."""
        scope = billing_scope()
        return self.ledger.unbilled_visits(
            practice_id, only_clients=scope.clients, only_clinicians=scope.clinicians, clinician_id=clinician_id,
            first=first, last=last, limit=limit,
        )


def _pointers(codes: Sequence[str]) -> list[int]:
    return list(range(1, min(len(codes), 4) + 1))


def _payer(client: Client, payer: str | _Default | None) -> str | None:
    if not isinstance(payer, _Default):
        return payer
    insurance = client.demographics.get("insurance_primary")
    name = insurance.get("payer") if isinstance(insurance, dict) else None
    return name if isinstance(name, str) and name.strip() else None

