"""Payments received by hand and their two-step application to charges and invoices; unapplying
an application and refunding unapplied money."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from application.billing.payments import PaymentFilter
from interfaces.http.billing_schemas import (
    ApplicationIn,
    Cursor,
    EditBilling,
    Limit,
    MinPosition,
    PaymentIn,
    PaymentOut,
    PaymentPage,
    PaymentRowOut,
    RefundIn,
    UnapplyIn,
    caught_up,
)
from interfaces.http.deps import ContainerDep, ViewBilling
from interfaces.http.schemas import Accepted

router = APIRouter(tags=["billing"])
From = Annotated[date | None, Query(alias="from", description="Received on or after (included).")]
To = Annotated[date | None, Query(alias="to", description="Received on or before (included).")]
Method = Annotated[str | None, Query(max_length=20, description="cash, check, card, insurance or other.")]


@router.post("/api/v1/payments", status_code=201, response_model=Accepted)
def receive_payment(body: PaymentIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """Record money received; apply it in a second step."""
    saved = k.payments.receive(
        caller.practice_id, method=body.method, amount=body.amount, client_id=body.client_id, payer=body.payer,
        received_on=body.received_on, check_number=body.check_number, reference=body.reference,
    )
    return Accepted.model_validate(saved, from_attributes=True)


@router.get("/api/v1/payments", response_model=PaymentPage)
def list_payments(
    caller: ViewBilling, k: ContainerDep, client_id: UUID | None = None, method: Method = None, first: From = None,
    last: To = None, unapplied: bool = False, cursor: Cursor = None, limit: Limit = 100,
    min_position: MinPosition = None,
) -> PaymentPage:
    """Newest first. `unapplied=true`: only payments with money left to apply. Clients and family
    members see their own payments only."""
    caught_up(k, min_position)
    page = k.payments.list(caller.practice_id, PaymentFilter(
        client_id=client_id, method=method, first=first, last=last, unapplied_only=unapplied, cursor=cursor,
        limit=limit,
    ))
    return PaymentPage(items=[PaymentRowOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/api/v1/payments/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: UUID, caller: ViewBilling, k: ContainerDep) -> PaymentOut:
    return PaymentOut.of(k.payments.get(caller.practice_id, payment_id))


@router.post("/api/v1/payments/{payment_id}/applications", status_code=201, response_model=Accepted)
def apply_payment(payment_id: UUID, body: ApplicationIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """Apply unapplied money to a charge or an invoice of the payment's client, at most the
    target's balance; the payment and the target change together. The answer's id is the
    application's."""
    saved = k.payments.apply(caller.practice_id, payment_id, target=body.target, target_id=body.target_id,
                             amount=body.amount, application_id=body.application_id)
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("/api/v1/payments/{payment_id}/applications/{application_id}/unapply", response_model=Accepted)
def unapply_payment(
    payment_id: UUID, application_id: UUID, body: UnapplyIn, caller: EditBilling, k: ContainerDep
) -> Accepted:
    """Take an application back from its charge or invoice, with a reason."""
    saved = k.payments.unapply(caller.practice_id, payment_id, application_id, body.reason)
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("/api/v1/payments/{payment_id}/refunds", status_code=201, response_model=Accepted)
def refund_payment(payment_id: UUID, body: RefundIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """Refund unapplied money (unapply first what is applied)."""
    saved = k.payments.refund(caller.practice_id, payment_id, amount=body.amount, reason=body.reason,
                              reference=body.reference, refund_id=body.refund_id)
    return Accepted.model_validate(saved, from_attributes=True)
