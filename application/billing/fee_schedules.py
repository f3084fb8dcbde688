"""A practice's fee schedule: fees by procedure code (and modifier) from a date on, the procedure
billed for each appointment type, and the charge-on-completion policy.

The schedule is opened by its first change; until then `get` answers an empty one. Two admins
changing it at once both succeed (the later write is retried on the state that won).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from application.billing.scope import acting_member, require_practice_wide
from application.errors import NotFound
from application.ports import Clock
from application.retry import retrying
from application.store import EventStore, Saved
from domain.billing.fee_schedule import FeeSchedule, fee_schedule_id
from domain.errors import InvalidCommand
from domain.practices.practice import Practice
from domain.scheduling.working_time import zone

ATTEMPTS = 5
MAX_CHANGES = 500


@dataclass(frozen=True)
class FeeChange:
    cpt: str
    amount: Decimal
    effective_from: date
    modifier: str | None = None


@dataclass(frozen=True)
class TypeCodeChange:
    appointment_type: str
    cpt: str | None
    """None removes the mapping."""
    modifiers: tuple[str, ...] = ()


class FeeScheduleService:
    def __init__(self, store: EventStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def get(self, practice_id: UUID) -> FeeSchedule:
        """The practice's schedule; a new, unsaved one before its first change."""
        try:
            schedule: FeeSchedule = self.store.load(fee_schedule_id(practice_id), FeeSchedule)
        except NotFound:
            return FeeSchedule.open(practice_id)
        return schedule

    def today(self, practice_id: UUID) -> date:
        practice: Practice = self.store.load(practice_id, Practice)
        return self.clock.now().astimezone(zone(practice.time_zone)).date()

    def set_fee(
        self, practice_id: UUID, cpt: str, amount: Decimal, effective_from: date, *, modifier: str | None = None
    ) -> Saved:
        return self.update(practice_id, fees=[FeeChange(cpt, amount, effective_from, modifier)])

    def map_type(self, practice_id: UUID, appointment_type: str, cpt: str | None,
                 modifiers: Sequence[str] = ()) -> Saved:
        return self.update(practice_id, type_codes=[TypeCodeChange(appointment_type, cpt, tuple(modifiers))])

    def set_policy(self, practice_id: UUID, *, charge_on_completion: bool) -> Saved:
        return self.update(practice_id, charge_on_completion=charge_on_completion)

    def update(
        self, practice_id: UUID, *, fees: Sequence[FeeChange] = (), type_codes: Sequence[TypeCodeChange] = (),
        charge_on_completion: bool | None = None,
    ) -> Saved:
        """Every change given, in one save (all or nothing); what is not named stays as it is."""
        require_practice_wide("Changing the fee schedule")
        if len(fees) + len(type_codes) > MAX_CHANGES:
            raise InvalidCommand(f"At most {MAX_CHANGES} changes at once.", field="fees")
        by = acting_member(practice_id)

        def attempt() -> Saved:
            practice: Practice = self.store.load(practice_id, Practice)
            schedule = self.get(practice_id)
            now = self.clock.now()
            for change in fees:
                schedule.set_fee(change.cpt, change.amount, change.effective_from, modifier=change.modifier,
                                 at=now, by=by)
            for mapping in type_codes:
                if mapping.cpt is not None:
                    practice.appointment_type(mapping.appointment_type)  # an unknown type is refused
                schedule.map_type(mapping.appointment_type, mapping.cpt, list(mapping.modifiers), at=now, by=by)
            if charge_on_completion is not None:
                schedule.set_policy(charge_on_completion=charge_on_completion, at=now, by=by)
            return self.store.save_one(schedule)

        return retrying(attempt, ATTEMPTS)
