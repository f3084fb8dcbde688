"""The compliance engine's commands and questions: starting practice days (the clock the
time-driven rules run on), acknowledging alerts, "were we compliant on date X?" and the billing
hold the revenue cycle asks about."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from application import access, audit
from application.errors import Conflict, Forbidden, NotFound
from application.ports import Clock
from application.store import EventStore, Saved
from domain.compliance.alert_acknowledgement import AlertAcknowledgement
from domain.compliance.billing_hold import BillingHold, billing_hold
from domain.compliance.compliance_day import ComplianceDay, compliance_day_id
from domain.compliance.evaluation import AsOf, local_today
from domain.compliance.rules import RuleSet
from domain.identity.permissions import Scope


class AlertRow(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def clinician_id(self) -> UUID | None: ...
    @property
    def supervisor_id(self) -> UUID | None: ...


class SessionDocumentation(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def session_date(self) -> date: ...
    @property
    def signed_at(self) -> datetime | None: ...


class ComplianceReadModel(Protocol):
    def practices(self) -> list[tuple[UUID, str]]: ...
    def time_zone(self, practice_id: UUID) -> ZoneInfo | None: ...
    def alert(self, practice_id: UUID, alert_id: UUID) -> AlertRow | None: ...
    def as_of(self, practice_id: UUID, on: date) -> AsOf | None: ...
    def session(self, practice_id: UUID, appointment_id: UUID) -> SessionDocumentation | None: ...
    def ruleset_on(self, practice_id: UUID, on: date) -> RuleSet: ...


@dataclass(frozen=True)
class DaysStarted:
    started: list[tuple[UUID, date]]


def concerning() -> Collection[UUID] | None:
    """Whose alerts the caller sees: administrators (practice scope) all; a clinician those about
    themself; a supervisor also those about their supervisees. None = no narrowing."""
    grant = access.current()
    if grant is None or grant.scope is Scope.PRACTICE:
        return None
    if grant.scope is Scope.OWN_RECORD:
        return frozenset()
    return grant.team_ids


class ComplianceService:
    def __init__(self, store: EventStore, clock: Clock, view: ComplianceReadModel) -> None:
        self.store = store
        self.clock = clock
        self.view = view

    def start_days(self) -> DaysStarted:
        """Start today's compliance day for every practice that has not started it yet (safe to
        repeat: the day's id is derived, so a second start is refused by the store)."""
        now = self.clock.now()
        started = []
        for practice_id, zone in self.view.practices():
            today = local_today(now, ZoneInfo(zone))
            if self.store.exists(compliance_day_id(practice_id, today)):
                continue
            with audit.acting(audit.system("system:compliance-clock", practice_id=practice_id)):
                try:
                    self.store.save(ComplianceDay.start(practice_id, today, now))
                except IntegrityError:
                    continue
            started.append((practice_id, today))
        return DaysStarted(started)

    def acknowledge(self, practice_id: UUID, alert_id: UUID, note: str | None = None) -> Saved:
        alert = self.view.alert(practice_id, alert_id)
        if alert is None:
            raise NotFound(f"No compliance alert {alert_id}.")
        grant = access.current()
        if grant is None:
            raise Forbidden("An alert is acknowledged by a member of the practice.")
        seen_by = concerning()
        if seen_by is not None and not ({alert.clinician_id, alert.supervisor_id} & set(seen_by)):
            raise NotFound(f"No compliance alert {alert_id}.")
        if alert.status != "open":
            raise Conflict(f"The alert is {alert.status}.", status=alert.status)
        ack = AlertAcknowledgement.acknowledge(alert_id, practice_id, grant.member_id, self.clock.now(), note)
        try:
            return self.store.save_one(ack)
        except IntegrityError:
            raise Conflict("The alert is already acknowledged.", status="acknowledged") from None

    def as_of(self, practice_id: UUID, on: date) -> AsOf:
        answer = self.view.as_of(practice_id, on)
        if answer is None:
            raise NotFound("The practice has no compliance history yet.")
        return answer

    def billing_hold(self, practice_id: UUID, appointment_id: UUID) -> BillingHold:
        """Seed 001 Georgia rule 1, for the revenue cycle: a completed session's charge is held
        while its note is unsigned from the rule's hold day on."""
        session = self.view.session(practice_id, appointment_id)
        if session is None:
            raise NotFound(f"No appointment {appointment_id}.")
        if session.status != "completed":
            raise Conflict("Only a completed visit has a charge to bill.", status=session.status)
        zone = self.view.time_zone(practice_id)
        assert zone is not None
        now = self.clock.now()
        today = local_today(now, zone)
        return billing_hold(self.view.ruleset_on(practice_id, today), session.session_date, session.signed_at,
                            now, today)
