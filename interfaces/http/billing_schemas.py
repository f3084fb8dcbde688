"""Bodies of the charges, fee schedule and payments routes. Money travels as a string with two
decimals ("125.00"); inputs take a string or a number with at most two decimals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Depends, Query
from pydantic import BaseModel, Field, PlainSerializer, model_validator

from application.errors import Unavailable
from domain.billing.charge import MAX_DIAGNOSES, MAX_POINTERS, MAX_REASON, Charge
from domain.billing.fee_schedule import FeeSchedule
from domain.billing.money import CENTS, MAX_MODIFIERS
from domain.billing.payment import Payment
from domain.identity.permissions import Permission
from interfaces.container import Container
from interfaces.http.deps import Authorize, Caller
from interfaces.http.schemas import Strict

EditBilling = Annotated[Caller, Depends(Authorize(Permission.EDIT_BILLING))]


def _cents(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENTS))


Money = Annotated[Decimal, PlainSerializer(_cents, return_type=str)]
MoneyIn = Annotated[Decimal, Field(max_digits=9, decimal_places=2, description='A decimal string, e.g. "125.00".')]
PositiveMoney = Annotated[Decimal, Field(gt=0, max_digits=9, decimal_places=2, description='e.g. "125.00".')]
Code = Annotated[str, Field(min_length=1, max_length=8)]
Modifiers = Annotated[list[Annotated[str, Field(min_length=2, max_length=2)]], Field(max_length=MAX_MODIFIERS)]
Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON)]
MinPosition = Annotated[int | None, Query(ge=0, description="Wait until the ledger has this log position.")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=500)]


def caught_up(k: Container, min_position: int | None) -> None:
    if min_position and not k.billing_ledger.caught_up_to(k.store.name, min_position):
        raise Unavailable("The billing ledger is catching up; retry shortly.")


def something(model: BaseModel) -> None:
    if not model.model_fields_set or all(getattr(model, f) is None for f in model.model_fields_set):
        raise ValueError("Nothing to change.")


# --- fee schedule -------------------------------------------------------------------------------


class FeeIn(Strict):
    cpt: Code
    modifier: str | None = Field(default=None, min_length=2, max_length=2,
                                 description="A fee for the code with this modifier only (e.g. 95).")
    amount: PositiveMoney
    effective_from: date


class TypeCodeIn(Strict):
    appointment_type: str = Field(min_length=1, max_length=64)
    cpt: Code | None = Field(description="null removes the mapping.")
    modifiers: Modifiers = Field(default_factory=list)


class FeeScheduleIn(Strict):
    fees: list[FeeIn] = Field(default_factory=list, max_length=500)
    type_codes: list[TypeCodeIn] = Field(default_factory=list, max_length=500)
    charge_on_completion: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> FeeScheduleIn:
        if not self.fees and not self.type_codes and self.charge_on_completion is None:
            raise ValueError("Nothing to change.")
        return self


class FeeOut(BaseModel):
    cpt: str
    modifier: str | None
    amount: Money
    effective_from: date


class TypeCodeOut(BaseModel):
    appointment_type: str
    cpt: str
    modifiers: list[str]


class FeeScheduleOut(BaseModel):
    charge_on_completion: bool
    fees: list[FeeOut] = Field(description="Every fee with its start date, by code, modifier and date.")
    type_codes: list[TypeCodeOut]
    version: int = Field(description="0 until the schedule's first change.")

    @classmethod
    def of(cls, s: FeeSchedule, saved: bool) -> FeeScheduleOut:
        fees = sorted((f for history in s.fees.values() for f in history),
                      key=lambda f: (f.cpt, f.modifier or "", f.effective_from))
        return cls(
            charge_on_completion=s.charge_on_completion,
            fees=[FeeOut(cpt=f.cpt, modifier=f.modifier, amount=f.amount, effective_from=f.effective_from)
                  for f in fees],
            type_codes=[TypeCodeOut(appointment_type=t, cpt=c.cpt, modifiers=list(c.modifiers))
                        for t, c in sorted(s.type_codes.items())],
            version=s.version if saved else 0,
        )


# --- charges ------------------------------------------------------------------------------------


class ChargeIn(Strict):
    client_id: UUID
    appointment_id: UUID | None = Field(default=None, description="A completed visit of the client.")
    clinician_id: UUID | None = Field(default=None, description="Default: the visit's clinician.")
    service_date: date | None = Field(default=None, description="Default: the visit's practice-local date.")
    cpt: Code | None = Field(default=None, description="Default: the fee schedule's code for the visit's type.")
    modifiers: Modifiers | None = None
    units: Decimal = Field(default=Decimal(1), gt=0, le=999, max_digits=5, decimal_places=2)
    diagnosis_codes: list[Annotated[str, Field(min_length=3, max_length=8)]] | None = Field(
        default=None, max_length=MAX_DIAGNOSES,
        description="ICD-10. Default: the visit's note's codes, else the client's last charge's.")
    diagnosis_pointers: list[int] | None = Field(default=None, max_length=MAX_POINTERS,
                                                 description="1-based; default the first four.")
    unit_fee: PositiveMoney | None = Field(default=None, description="Default: the fee schedule on the date.")
    payer: str | None = Field(default=None, max_length=120,
                              description="Leave out for the client's primary insurance; null for self-pay.")


class ChargeEditIn(Strict):
    cpt: Code | None = None
    modifiers: Modifiers | None = None
    units: Decimal | None = Field(default=None, gt=0, le=999, max_digits=5, decimal_places=2)
    diagnosis_codes: list[Annotated[str, Field(min_length=3, max_length=8)]] | None = Field(
        default=None, max_length=MAX_DIAGNOSES)
    diagnosis_pointers: list[int] | None = Field(default=None, max_length=MAX_POINTERS)
    unit_fee: PositiveMoney | None = None

    @model_validator(mode="after")
    def _something(self) -> ChargeEditIn:
        something(self)
        return self


class ClaimIn(Strict):
    charge_ids: list[UUID] = Field(min_length=1, max_length=50)
    claim_number: str | None = Field(default=None, min_length=1, max_length=38,
                                     description="Default: derived from the first charge (C + 10 characters).")
    payer: str | None = Field(default=None, max_length=120, description="Default: each charge's payer.")


class ClaimOut(BaseModel):
    claim_number: str
    charge_ids: list[UUID]
    position: int


class AdjustmentIn(Strict):
    kind: Literal["adjustment", "write_off"] = "adjustment"
    group: Literal["CO", "PR", "OA", "PI", "CR"] = Field(default="CO", description="X12 claim adjustment group.")
    reason_code: str = Field(min_length=1, max_length=4, description="CARC, e.g. 45.")
    remark_codes: list[Annotated[str, Field(min_length=2, max_length=6)]] = Field(default_factory=list, max_length=10)
    amount: PositiveMoney
    note: Reason
    adjustment_id: UUID | None = Field(default=None, description="Makes a retried request change nothing.")


class VoidIn(Strict):
    reason: Reason


class EntryOut(BaseModel):
    entry_id: str
    kind: str
    amount: Money
    source: str
    reference_id: UUID | None = Field(description="The payment, invoice or remittance.")
    group: str | None
    reason_code: str | None
    active: bool


class ChargeRowOut(BaseModel):
    """A listed charge (the ledger row; no diagnoses)."""

    id: UUID
    client_id: UUID
    clinician_id: UUID
    appointment_id: UUID | None
    service_date: date
    cpt: str
    modifiers: list[str]
    units: Money
    unit_fee: Money
    amount: Money
    paid: Money
    adjusted: Money
    transferred: Money
    balance: Money
    status: str
    payer: str | None
    claim_number: str | None
    line_ref: str
    invoice_id: UUID | None
    entered_at: datetime
    billed_at: datetime | None
    voided: bool

    @classmethod
    def of(cls, r: Any) -> ChargeRowOut:
        return cls(
            id=r.charge_id, client_id=r.client_id, clinician_id=r.clinician_id, appointment_id=r.appointment_id,
            service_date=r.service_date, cpt=r.cpt, modifiers=list(r.modifiers), units=r.units, unit_fee=r.unit_fee,
            amount=r.amount, paid=r.paid, adjusted=r.adjusted, transferred=r.transferred, balance=r.balance,
            status=r.status, payer=r.payer, claim_number=r.claim_number, line_ref=r.line_ref, invoice_id=r.invoice_id,
            entered_at=r.entered_at, billed_at=r.billed_at, voided=r.voided,
        )


class ChargeOut(ChargeRowOut):
    """One charge with its diagnoses (PHI) and ledger entries."""

    diagnosis_codes: list[str]
    diagnosis_pointers: list[int]
    entered_by: UUID
    entries: list[EntryOut]
    version: int

    @classmethod
    def of_charge(cls, c: Charge) -> ChargeOut:
        codes = c.diagnosis_codes if isinstance(c.diagnosis_codes, list) else []
        return cls(
            id=c.id, client_id=c.client_id, clinician_id=c.clinician_id, appointment_id=c.appointment_id,
            service_date=c.service_date, cpt=c.cpt, modifiers=list(c.modifiers), units=c.units, unit_fee=c.unit_fee,
            amount=c.amount, paid=c.paid, adjusted=c.adjusted, transferred=c.transferred, balance=c.balance,
            status=c.status, payer=c.payer, claim_number=c.claim_number, line_ref=c.line_ref, invoice_id=c.invoice_id,
            diagnosis_codes=list(codes), diagnosis_pointers=list(c.diagnosis_pointers), entered_at=c.entered_at,
            entered_by=c.entered_by, billed_at=c.billed_at, voided=c.voided,
            entries=[EntryOut(entry_id=e.entry_id, kind=e.kind, amount=e.amount, source=e.source,
                              reference_id=e.reference_id, group=e.group, reason_code=e.reason_code, active=e.active)
                     for e in c.entries.values()],
            version=c.version,
        )


class ChargePage(BaseModel):
    items: list[ChargeRowOut]
    next_cursor: str | None


class VisitOut(BaseModel):
    appointment_id: UUID
    client_id: UUID
    clinician_id: UUID
    appointment_type: str
    service_date: date
    completed_at: datetime


# --- payments -----------------------------------------------------------------------------------


class PaymentIn(Strict):
    method: Literal["cash", "check", "card", "insurance", "other"]
    amount: MoneyIn = Field(ge=0, description="More than 0 (an insurance payment may be 0.00).")
    client_id: UUID | None = Field(default=None, description="Required unless the method is insurance.")
    payer: str | None = Field(default=None, max_length=120, description="Required for insurance.")
    received_on: date | None = Field(default=None, description="Default: today, practice-local.")
    check_number: str | None = Field(default=None, max_length=30, description="Required for a check.")
    reference: str | None = Field(default=None, max_length=120)


class ApplicationIn(Strict):
    target: Literal["charge", "invoice"]
    target_id: UUID
    amount: PositiveMoney
    application_id: UUID | None = Field(default=None, description="Makes a retried request change nothing.")


class UnapplyIn(Strict):
    reason: Reason


class RefundIn(Strict):
    amount: PositiveMoney
    reason: Reason
    reference: str | None = Field(default=None, max_length=120)
    refund_id: str | None = Field(default=None, min_length=1, max_length=64,
                                  description="Makes a retried request change nothing.")


class ApplicationOut(BaseModel):
    application_id: UUID
    target: str
    target_id: UUID
    amount: Money
    active: bool


class RefundOut(BaseModel):
    refund_id: str
    amount: Money


class PaymentOut(BaseModel):
    id: UUID
    client_id: UUID | None
    payer: str | None
    method: str
    source: str
    amount: Money
    applied: Money
    refunded: Money
    unapplied: Money
    received_on: date
    received_at: datetime
    check_number: str | None
    reference: str | None
    applications: list[ApplicationOut]
    refunds: list[RefundOut]
    version: int

    @classmethod
    def of(cls, p: Payment) -> PaymentOut:
        return cls(
            id=p.id, client_id=p.client_id, payer=p.payer, method=p.method, source=p.source, amount=p.amount,
            applied=p.applied, refunded=p.refunded, unapplied=p.unapplied, received_on=p.received_on,
            received_at=p.received_at, check_number=p.check_number, reference=p.reference,
            applications=[ApplicationOut(application_id=a.application_id, target=a.target, target_id=a.target_id,
                                         amount=a.amount, active=a.active) for a in p.applications.values()],
            refunds=[RefundOut(refund_id=k, amount=v) for k, v in p.refunds.items()],
            version=p.version,
        )


class PaymentRowOut(BaseModel):
    id: UUID
    client_id: UUID | None
    payer: str | None
    method: str
    source: str
    amount: Money
    applied: Money
    refunded: Money
    unapplied: Money
    received_on: date
    received_at: datetime
    check_number: str | None
    reference: str | None

    @classmethod
    def of(cls, r: Any) -> PaymentRowOut:
        return cls(
            id=r.payment_id, client_id=r.client_id, payer=r.payer, method=r.method, source=r.source, amount=r.amount,
            applied=r.applied, refunded=r.refunded, unapplied=r.unapplied, received_on=r.received_on,
            received_at=r.received_at, check_number=r.check_number, reference=r.reference,
        )


class PaymentPage(BaseModel):
    items: list[PaymentRowOut]
    next_cursor: str | None
