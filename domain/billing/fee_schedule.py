"""A practice's fee schedule and charge policy: one per practice (its id derives from the practice).

A fee is the practice's price for one unit of a procedure, optionally for one modifier (90837-95
may be priced apart from 90837), from a date on; a later fee for the same code supersedes the
earlier one from its own date, so charges for past service dates keep the price then in force.
The schedule also maps appointment types to the procedure billed for them and holds the policy
"a completed appointment creates its charge".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.billing.money import modifiers, money, procedure_code
from domain.errors import InvalidCommand
from domain.events import Audited

FEE_SCHEDULE_NAMESPACE = UUID("8a4f3c1e-6b2d-4e7a-9f10-2c5d8e7b6a31")


def fee_schedule_id(practice_id: UUID) -> UUID:
    return uuid5(FEE_SCHEDULE_NAMESPACE, str(practice_id))


@dataclass(frozen=True)
class Fee:
    cpt: str
    modifier: str | None
    amount: Decimal
    effective_from: date


@dataclass(frozen=True)
class TypeCode:
    cpt: str
    modifiers: tuple[str, ...]


class FeeSchedule(Aggregate):
    TOPIC = "careledger/fee-schedule"

    class Created(Aggregate.Created):
        TOPIC = "careledger/fee-schedule/created"

    class Opened(Created, Audited):
        TOPIC = "careledger/fee-schedule/opened"
        practice_id: UUID

    class FeeSet(Aggregate.Event, Audited):
        TOPIC = "careledger/fee-schedule/fee-set"
        cpt: str
        modifier: str | None
        amount: Decimal
        effective_from: date
        at: datetime
        by: UUID

    class TypeCodeSet(Aggregate.Event, Audited):
        TOPIC = "careledger/fee-schedule/type-code-set"
        appointment_type: str
        cpt: str | None
        modifiers: list[str]
        at: datetime
        by: UUID

    class PolicySet(Aggregate.Event, Audited):
        TOPIC = "careledger/fee-schedule/policy-set"
        charge_on_completion: bool
        at: datetime
        by: UUID

    @classmethod
    def open(cls, practice_id: UUID) -> FeeSchedule:
        return cls._create(cls.Opened, id=fee_schedule_id(practice_id), practice_id=practice_id)

    @event(Opened)
    def __init__(self, practice_id: UUID) -> None:
        self.practice_id = practice_id
        self.fees: dict[tuple[str, str | None], list[Fee]] = {}
        self.type_codes: dict[str, TypeCode] = {}
        self.charge_on_completion = False

    def set_fee(
        self, cpt: str, amount: Decimal, effective_from: date, *, modifier: str | None = None, at: datetime, by: UUID
    ) -> None:
        code = procedure_code(cpt)
        mod = modifiers([modifier])[0] if modifier else None
        self._fee_set(code, mod, money(amount, positive=True), effective_from, at, by)

    @event(FeeSet)
    def _fee_set(self, cpt: str, modifier: str | None, amount: Decimal, effective_from: date, at: datetime,
                 by: UUID) -> None:
        history = [f for f in self.fees.get((cpt, modifier), []) if f.effective_from != effective_from]
        history.append(Fee(cpt, modifier, amount, effective_from))
        self.fees[(cpt, modifier)] = sorted(history, key=lambda f: f.effective_from)

    def map_type(
        self, appointment_type: str, cpt: str | None, type_modifiers: list[str], *, at: datetime, by: UUID
    ) -> None:
        code = procedure_code(cpt) if cpt is not None else None
        if code is None and type_modifiers:
            raise InvalidCommand("Modifiers need a procedure code.", field="modifiers")
        self._type_code_set(appointment_type, code, list(modifiers(type_modifiers)), at, by)

    @event(TypeCodeSet)
    def _type_code_set(self, appointment_type: str, cpt: str | None, modifiers: list[str], at: datetime,
                       by: UUID) -> None:
        if cpt is None:
            self.type_codes.pop(appointment_type, None)
        else:
            self.type_codes[appointment_type] = TypeCode(cpt, tuple(modifiers))

    def set_policy(self, *, charge_on_completion: bool, at: datetime, by: UUID) -> None:
        if charge_on_completion != self.charge_on_completion:
            self._policy_set(charge_on_completion, at, by)

    @event(PolicySet)
    def _policy_set(self, charge_on_completion: bool, at: datetime, by: UUID) -> None:
        self.charge_on_completion = charge_on_completion

    def fee_for(self, cpt: str, charge_modifiers: tuple[str, ...], on: date) -> Decimal | None:
        """The unit fee in force on `on`: a fee for the code with one of the charge's modifiers
        (the first that has one) before the code's plain fee."""
        for key in [*((cpt, m) for m in charge_modifiers), (cpt, None)]:
            in_force = [f for f in self.fees.get(key, []) if f.effective_from <= on]
            if in_force:
                return in_force[-1].amount
        return None

    def current_fees(self, on: date) -> list[Fee]:
        result = []
        for history in self.fees.values():
            in_force = [f for f in history if f.effective_from <= on]
            result.append(in_force[-1] if in_force else history[0])
        return sorted(result, key=lambda f: (f.cpt, f.modifier or ""))
