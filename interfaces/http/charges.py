"""Charges: entered (by hand, or by practice policy when a visit is completed), listed, edited
while unbilled, billed on claims (refused while the visit is on billing hold), adjusted, written
off and voided; and the completed visits that still need a charge."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from application.billing.charges import DEFAULT_PAYER, STATUSES, ChargeFilter
from application.clients import Read
from interfaces.http.billing_schemas import (
    AdjustmentIn,
    ChargeEditIn,
    ChargeIn,
    ChargeOut,
    ChargePage,
    ChargeRowOut,
    ClaimIn,
    ClaimOut,
    Cursor,
    EditBilling,
    Limit,
    MinPosition,
    VisitOut,
    VoidIn,
    caught_up,
)
from interfaces.http.deps import ContainerDep, ViewBilling
from interfaces.http.schemas import Accepted

router = APIRouter(tags=["billing"])
Status = Annotated[str | None, Query(description=f"One of {', '.join(STATUSES)}.", max_length=20)]
From = Annotated[date | None, Query(alias="from", description="Service dates from (included).")]
To = Annotated[date | None, Query(alias="to", description="Service dates to (included).")]
Payer = Annotated[str | None, Query(max_length=120, description='A payer\'s name, or "self-pay".')]
ClaimNumber = Annotated[str | None, Query(max_length=38)]
Unbilled = Annotated[bool, Query(description="Only charges not yet on a claim (and not void).")]


@router.post("/api/v1/charges", status_code=201, response_model=Accepted)
def enter_charge(body: ChargeIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """With `appointment_id` (a completed visit of the client, without another live charge) the
    date, clinician, code and diagnoses default from the visit; the unit fee from the fee
    schedule in force on the service date; the payer from the client's primary insurance."""
    saved = k.charges.enter(
        caller.practice_id, body.client_id, appointment_id=body.appointment_id, clinician_id=body.clinician_id,
        service_date=body.service_date, cpt=body.cpt, charge_modifiers=body.modifiers, charge_units=body.units,
        diagnosis_codes=body.diagnosis_codes, diagnosis_pointers=body.diagnosis_pointers, unit_fee=body.unit_fee,
        payer=body.payer if "payer" in body.model_fields_set else DEFAULT_PAYER,
    )
    return Accepted.model_validate(saved, from_attributes=True)


@router.get("/api/v1/charges", response_model=ChargePage)
def list_charges(
    caller: ViewBilling, k: ContainerDep, status: Status = None, client_id: UUID | None = None,
    clinician_id: UUID | None = None, first: From = None, last: To = None, payer: Payer = None,
    unbilled: Unbilled = False, claim_number: ClaimNumber = None, cursor: Cursor = None, limit: Limit = 100,
    min_position: MinPosition = None,
) -> ChargePage:
    """Newest service date first, from the billing ledger (no diagnoses). Clients and family
    members see their own charges only."""
    caught_up(k, min_position)
    page = k.charges.list(caller.practice_id, ChargeFilter(
        status=status, client_id=client_id, clinician_id=clinician_id, first=first, last=last, payer=payer,
        unbilled_only=unbilled, claim_number=claim_number, cursor=cursor, limit=limit,
    ))
    return ChargePage(items=[ChargeRowOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/api/v1/charges/bill", response_model=ClaimOut)
def bill_charges(body: ClaimIn, caller: EditBilling, k: ContainerDep) -> ClaimOut:
    """Put charges of one client on one claim, all or none. 409 `billing_hold` while a visit's
    note is unsigned past the hold day; 409 when a charge is on another claim or void."""
    claim = k.charges.bill(caller.practice_id, body.charge_ids, claim_number=body.claim_number, payer=body.payer)
    return ClaimOut(claim_number=claim.claim_number, charge_ids=claim.charge_ids, position=claim.position)


@router.get("/api/v1/charges/{charge_id}", response_model=ChargeOut)
def get_charge(charge_id: UUID, caller: ViewBilling, k: ContainerDep) -> ChargeOut:
    """The charge with its diagnoses and ledger entries; recorded as a PHI read."""
    charge = k.charges.get(caller.practice_id, charge_id, Read(endpoint="GET /api/v1/charges/{id}", purpose="payment"))
    return ChargeOut.of_charge(charge)


@router.patch("/api/v1/charges/{charge_id}", response_model=Accepted)
def edit_charge(charge_id: UUID, body: ChargeEditIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """Only while unbilled with no money on it (409 after). A new code or modifiers without a
    unit fee are priced from the fee schedule on the service date."""
    saved = k.charges.edit(
        caller.practice_id, charge_id, cpt=body.cpt, charge_modifiers=body.modifiers, charge_units=body.units,
        diagnosis_codes=body.diagnosis_codes, diagnosis_pointers=body.diagnosis_pointers, unit_fee=body.unit_fee,
    )
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("/api/v1/charges/{charge_id}/adjustments", status_code=201, response_model=Accepted)
def adjust_charge(charge_id: UUID, body: AdjustmentIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """An adjustment or write-off with its group and reason code (CARC), at most the balance. The
    answer's id is the adjustment's; the same `adjustment_id` again changes nothing."""
    saved = k.charges.adjust(
        caller.practice_id, charge_id, kind=body.kind, group=body.group, reason_code=body.reason_code,
        amount=body.amount, note=body.note, remark_codes=body.remark_codes, adjustment_id=body.adjustment_id,
    )
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("/api/v1/charges/{charge_id}/void", response_model=Accepted)
def void_charge(charge_id: UUID, body: VoidIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """409 while money is on the charge (unapply or reverse it first)."""
    saved = k.charges.void(caller.practice_id, charge_id, body.reason)
    return Accepted.model_validate(saved, from_attributes=True)


@router.get("/api/v1/visits/unbilled", response_model=list[VisitOut])
def unbilled_visits(
    caller: ViewBilling, k: ContainerDep, clinician_id: UUID | None = None, first: From = None, last: To = None,
    limit: Limit = 200, min_position: MinPosition = None,
) -> list[VisitOut]:
    """Completed visits without a live charge, oldest first: the visits that need a charge."""
    caught_up(k, min_position)
    rows = k.charges.unbilled_visits(caller.practice_id, clinician_id=clinician_id, first=first, last=last,
                                     limit=limit)
    return [VisitOut(appointment_id=r.appointment_id, client_id=r.client_id, clinician_id=r.clinician_id,
                     appointment_type=r.appointment_type, service_date=r.service_date, completed_at=r.completed_at)
            for r in rows]
