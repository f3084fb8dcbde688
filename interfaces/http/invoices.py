"""Client invoices: created (numbered INV-YYYY-NNNNNN, gapless per practice and year) from charges
and service lines, edited while draft, sent by email with the PDF attached (or marked as sent),
written off, voided; listed from the invoices read model; downloaded as PDF.

Money travels as a string with two decimals ("125.00"); inputs take a string or a number.
Clients and family members see their own invoices once issued; practice-wide billing staff act.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, model_validator

from application.billing.invoices import InvoiceChanges, InvoiceFilter, ServiceLine
from application.clients import Read
from application.errors import Unavailable
from domain.billing.invoice import MAX_DESCRIPTION, MAX_LINES, MAX_NOTES, STATUSES, Discount, Invoice
from interfaces.container import Container
from interfaces.http.billing_schemas import EditBilling, Money, PositiveMoney, Reason
from interfaces.http.deps import Caller, ContainerDep, ViewBilling
from interfaces.http.schemas import Accepted, Strict

router = APIRouter(tags=["invoices"])
PORTAL_ROLES = frozenset({"client", "family_member"})
Status = Annotated[str | None, Query(description=f"One of {', '.join(STATUSES)}.", max_length=20)]
Overdue = Annotated[bool | None, Query(description="true: overdue only; false: all but overdue.")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=200)]
MinPosition = Annotated[int | None, Query(ge=0, description="Wait until the list has this log position.")]
TaxRate = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3, description="Percent, e.g. 8.875.")]
Hours = Annotated[Decimal, Field(gt=0, le=744, max_digits=5, decimal_places=2)]
Notes = Annotated[str, Field(max_length=MAX_NOTES)]


class DiscountIn(Strict):
    kind: Literal["amount", "percent"]
    value: Annotated[Decimal, Field(gt=0, max_digits=9, decimal_places=2,
                                    description='An amount ("10.00") or a percent (10 = 10%).')]

    def domain(self) -> Discount:
        return Discount.checked(self.kind, self.value)


class ServiceLineIn(Strict):
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION, description="The service, e.g. Personal care.")
    service_date: date
    hours: Hours
    rate: PositiveMoney = Field(description="Per hour.")
    taxable: bool = Field(default=False, description="Charge lines are never taxed; service lines when true.")

    def domain(self) -> ServiceLine:
        return ServiceLine(self.description, self.service_date, self.hours, self.rate, self.taxable)


class InvoiceIn(Strict):
    client_id: UUID
    due_on: date | None = Field(default=None, description="Default: 30 days after the issue date.")
    charge_ids: list[UUID] = Field(default_factory=list, max_length=100,
                                   description="The client's charges; their open balances move onto the invoice.")
    service_lines: list[ServiceLineIn] = Field(default_factory=list, max_length=MAX_LINES)
    discount: DiscountIn | None = None
    tax_rate: TaxRate = Decimal(0)
    notes: Notes | None = None


class InvoicePatchIn(Strict):
    due_on: date | None = None
    discount: DiscountIn | None = Field(default=None, description="null removes the discount.")
    tax_rate: TaxRate | None = None
    notes: Notes | None = Field(default=None, description='null or "" removes the notes.')
    remove_lines: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list, max_length=MAX_LINES)
    add_charge_ids: list[UUID] = Field(default_factory=list, max_length=100)
    add_service_lines: list[ServiceLineIn] = Field(default_factory=list, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _something(self) -> InvoicePatchIn:
        if not self.model_fields_set:
            raise ValueError("Nothing to change.")
        return self


class SendIn(Strict):
    email: bool = Field(default=True, description="false: mark as sent (handed over, posted) without email.")


class VoidIn(Strict):
    reason: Reason


class WriteOffIn(Strict):
    amount: PositiveMoney
    reason: Reason
    write_off_id: UUID | None = Field(default=None, description="Repeating a request with the same id changes nothing.")


class InvoiceCreated(BaseModel):
    id: UUID
    number: str
    version: int
    position: int


class InvoiceSent(InvoiceCreated):
    emailed: bool
    mail_id: str | None


class DiscountOut(BaseModel):
    kind: str
    value: Decimal


class LineOut(BaseModel):
    line_no: int
    kind: str
    description: str
    service_date: date
    quantity: Decimal
    unit_price: Money
    amount: Money
    taxable: bool
    charge_id: UUID | None
    cpt: str | None
    modifiers: list[str]


class PaymentOut(BaseModel):
    application_id: UUID
    payment_id: UUID
    amount: Money
    active: bool


class WriteOffOut(BaseModel):
    id: str
    amount: Money
    reason: str


class InvoiceOut(BaseModel):
    id: UUID
    number: str
    status: str
    client_id: UUID
    issued_on: date
    due_on: date
    discount: DiscountOut | None
    tax_rate: Decimal
    notes: str | None
    lines: list[LineOut]
    subtotal: Money
    discount_amount: Money
    tax: Money
    total: Money
    paid: Money
    written_off: Money
    balance: Money
    sent_at: datetime | None
    emailed: bool
    voided_at: datetime | None
    void_reason: str | None
    overdue_since: date | None
    payments: list[PaymentOut]
    write_offs: list[WriteOffOut]
    version: int


class InvoiceRowOut(BaseModel):
    id: UUID
    number: str
    status: str
    client_id: UUID
    issued_on: date
    due_on: date
    subtotal: Money
    discount: Money
    tax: Money
    total: Money
    paid: Money
    written_off: Money
    balance: Money
    sent_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    overdue_since: date | None
    line_count: int


class InvoicePageOut(BaseModel):
    items: list[InvoiceRowOut]
    next_cursor: str | None


def _invoice_out(i: Invoice) -> InvoiceOut:
    t = i.totals
    return InvoiceOut(
        id=i.id, number=i.number, status=i.status, client_id=i.client_id, issued_on=i.issued_on, due_on=i.due_on,
        discount=DiscountOut(kind=i.discount.kind, value=i.discount.value) if i.discount else None,
        tax_rate=i.tax_rate, notes=i.notes if isinstance(i.notes, str) else None,
        lines=[LineOut(line_no=line.line_no, kind=line.kind, description=line.description,
                       service_date=line.service_date, quantity=line.quantity, unit_price=line.unit_price,
                       amount=line.amount, taxable=line.taxable, charge_id=line.charge_id, cpt=line.cpt,
                       modifiers=list(line.modifiers)) for line in i.line_list],
        subtotal=t.subtotal, discount_amount=t.discount, tax=t.tax, total=t.total, paid=i.paid,
        written_off=i.written_off, balance=i.balance, sent_at=i.sent_at, emailed=i.emailed, voided_at=i.voided_at,
        void_reason=i.void_reason, overdue_since=i.overdue_since,
        payments=[PaymentOut(application_id=p.application_id, payment_id=p.payment_id, amount=p.amount,
                             active=p.active) for p in i.payments.values()],
        write_offs=[WriteOffOut(id=w.entry_id, amount=w.amount, reason=w.reason) for w in i.write_offs.values()],
        version=i.version,
    )


def _row_out(r: Any) -> InvoiceRowOut:
    return InvoiceRowOut(
        id=r.invoice_id, number=r.number, status=r.status, client_id=r.client_id, issued_on=r.issued_on,
        due_on=r.due_on, subtotal=r.subtotal, discount=r.discount, tax=r.tax, total=r.total, paid=r.paid,
        written_off=r.written_off, balance=r.balance, sent_at=r.sent_at, paid_at=r.paid_at, voided_at=r.voided_at,
        overdue_since=r.overdue_since, line_count=r.line_count,
    )


def _read(caller: Caller, endpoint: str) -> Read:
    return Read(endpoint, "client_request" if caller.role in PORTAL_ROLES else "payment")


def _caught_up(k: Container, min_position: int | None) -> None:
    if min_position and not k.invoices_view.caught_up_to(k.store.name, min_position):
        raise Unavailable("The invoice list is catching up; retry shortly.")


@router.post("/api/v1/invoices", status_code=201, response_model=InvoiceCreated)
def create_invoice(body: InvoiceIn, caller: EditBilling, k: ContainerDep) -> InvoiceCreated:
    """A draft with the practice's next number for its local year. Each charge (the client's,
    not on another invoice, with an open balance) moves its balance onto the invoice."""
    created = k.invoices.create(
        caller.practice_id, body.client_id, due_on=body.due_on, charge_ids=body.charge_ids,
        service_lines=[line.domain() for line in body.service_lines],
        discount=body.discount.domain() if body.discount else None, tax_rate=body.tax_rate, notes=body.notes,
    )
    return InvoiceCreated(id=created.id, number=created.number, version=created.version, position=created.position)


@router.get("/api/v1/invoices", response_model=InvoicePageOut)
def list_invoices(
    caller: ViewBilling, k: ContainerDep, status: Status = None, client_id: UUID | None = None,
    overdue: Overdue = None, cursor: Cursor = None, limit: Limit = 100, min_position: MinPosition = None,
) -> InvoicePageOut:
    """Newest number first. Clients and family members see their own issued invoices."""
    _caught_up(k, min_position)
    page = k.invoices.list(caller.practice_id, InvoiceFilter(status=status, client_id=client_id, overdue=overdue,
                                                             cursor=cursor, limit=limit))
    return InvoicePageOut(items=[_row_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/api/v1/invoices/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: UUID, caller: ViewBilling, k: ContainerDep) -> InvoiceOut:
    """With its lines, payments, write-offs and notes (recorded as a PHI read)."""
    return _invoice_out(k.invoices.get(caller.practice_id, invoice_id, _read(caller, "GET /api/v1/invoices/{id}")))


@router.patch("/api/v1/invoices/{invoice_id}", response_model=Accepted)
def edit_invoice(invoice_id: UUID, body: InvoicePatchIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """Only a draft (409 once sent). Lines are removed first (their charges get their balances
    back), then added."""
    fields = body.model_fields_set
    saved = k.invoices.edit(caller.practice_id, invoice_id, InvoiceChanges(
        due_on=body.due_on, discount=body.discount.domain() if body.discount else None,
        clear_discount="discount" in fields and body.discount is None, tax_rate=body.tax_rate,
        notes=("" if body.notes is None else body.notes) if "notes" in fields else None,
        remove_lines=tuple(body.remove_lines), add_charge_ids=tuple(body.add_charge_ids),
        add_service_lines=tuple(line.domain() for line in body.add_service_lines),
    ))
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("/api/v1/invoices/{invoice_id}/send", response_model=InvoiceSent)
def send_invoice(invoice_id: UUID, caller: EditBilling, k: ContainerDep, body: SendIn | None = None) -> InvoiceSent:
    """Emails the invoice with its PDF to the client's address on file (409 `client_has_no_email`
    without one); `{"email": false}` marks it sent without mail."""
    sent = k.invoices.send(caller.practice_id, invoice_id, email=(body or SendIn()).email,
                           read=Read("POST /api/v1/invoices/{id}/send", "payment"))
    return InvoiceSent(id=sent.id, number=sent.number, version=sent.version, position=sent.position,
                       emailed=sent.emailed, mail_id=sent.mail_id)


@router.post("/api/v1/invoices/{invoice_id}/void", response_model=Accepted)
def void_invoice(invoice_id: UUID, body: VoidIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """The number stays taken; refused while payments are applied (unapply them first)."""
    saved = k.invoices.void(caller.practice_id, invoice_id, body.reason)
    return Accepted.model_validate(saved, from_attributes=True)


@router.post("/api/v1/invoices/{invoice_id}/write-offs", status_code=201, response_model=Accepted)
def write_off_invoice(invoice_id: UUID, body: WriteOffIn, caller: EditBilling, k: ContainerDep) -> Accepted:
    """An uncollectable remainder of a sent invoice, at most its balance."""
    saved = k.invoices.write_off(caller.practice_id, invoice_id, amount=body.amount, reason=body.reason,
                                 write_off_id=body.write_off_id)
    return Accepted.model_validate(saved, from_attributes=True)


@router.get(
    "/api/v1/invoices/{invoice_id}/pdf", response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The invoice as PDF."}},
)
def invoice_pdf(invoice_id: UUID, caller: ViewBilling, k: ContainerDep) -> Response:
    """The invoice with the practice's and the client's details and its lines (a PHI read)."""
    pdf = k.invoices.pdf(caller.practice_id, invoice_id, _read(caller, "GET /api/v1/invoices/{id}/pdf"))
    return Response(pdf.data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{pdf.filename}"'})

