"""The practice's fee schedule: fees by procedure code (and modifier) from a date on, the code
billed for each appointment type, and the charge-on-completion policy."""

from __future__ import annotations

from fastapi import APIRouter

from application.billing.fee_schedules import FeeChange, TypeCodeChange
from interfaces.http.billing_schemas import EditBilling, FeeScheduleIn, FeeScheduleOut
from interfaces.http.deps import ContainerDep, ViewBilling
from interfaces.http.schemas import Accepted

router = APIRouter(tags=["billing"])


@router.get("/api/v1/fee-schedule", response_model=FeeScheduleOut)
def get_fee_schedule(caller: ViewBilling, k: ContainerDep) -> FeeScheduleOut:
    schedule = k.fee_schedules.get(caller.practice_id)
    return FeeScheduleOut.of(schedule, saved=not schedule.pending_events)


@router.put("/api/v1/fee-schedule", response_model=Accepted)
def change_fee_schedule(body: FeeScheduleIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """Adds or changes the fees, type codes and policy given, all at once; the rest stays. A fee
    for the same code, modifier and start date replaces the earlier one; a later start date
    supersedes it from then on (charges for earlier dates keep their price)."""
    saved = k.fee_schedules.update(
        caller.practice_id,
        fees=[FeeChange(f.cpt, f.amount, f.effective_from, f.modifier) for f in body.fees],
        type_codes=[TypeCodeChange(t.appointment_type, t.cpt, tuple(t.modifiers)) for t in body.type_codes],
        charge_on_completion=body.charge_on_completion,
    )
    return Accepted.model_validate(saved, from_attributes=True)
