"""Accounts receivable reports (aging, revenue, reconciliation), client statements (JSON and PDF)
and the revenue metrics, computed by `application/billing/reports.py` from the billing read
models.

Dates are the practice's local dates (YYYY-MM-DD), never after today; a range defaults to the
month to date. Money travels as a string with two decimals ("125.00"). Practice reports are for
practice-wide billing staff (403 `practice_reports_only` for anyone else with billing access); a
statement is a client's own (others' are 404).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from application.billing.documents import AgingBuckets, StatementDocument
from application.billing.reports import AgingLine, RevenueLine
from application.clients import Read
from application.errors import Unavailable
from domain.billing.revenue_metrics import REVENUE_METRICS
from interfaces.container import Container
from interfaces.http.billing_schemas import Money
from interfaces.http.deps import Caller, ContainerDep, ViewBilling
from interfaces.http.metrics import MetricOut

router = APIRouter(prefix="/api/v1", tags=["reports"])
PORTAL_ROLES = frozenset({"client", "family_member"})
From = Annotated[date | None, Query(alias="from", description="First local date (default: the 1st of `to`'s month)")]
To = Annotated[date | None, Query(alias="to", description="Last local date, included (default: today)")]
MinPosition = Annotated[int | None, Query(ge=0, description="Wait until the billing read models have this position.")]


def _caught_up(k: Container, min_position: int | None) -> None:
    if not min_position:
        return
    for view in (k.billing_ledger, k.invoices_view, k.billing_reports_view):
        if not view.caught_up_to(k.store.name, min_position):
            raise Unavailable("The billing reports are catching up; retry shortly.")


def _read(caller: Caller, endpoint: str) -> Read:
    return Read(endpoint, "client_request" if caller.role in PORTAL_ROLES else "payment")


# --- aging ----------------------------------------------------------------------------------------


class BucketsOut(BaseModel):
    current: Money  # 0-30 days
    days_31_60: Money
    days_61_90: Money
    days_91_120: Money
    over_120: Money
    total: Money


def _buckets(b: AgingBuckets) -> BucketsOut:
    return BucketsOut(current=b.current, days_31_60=b.d31_60, days_61_90=b.d61_90, days_91_120=b.d91_120,
                      over_120=b.over_120, total=b.total)


class AgingRowOut(BaseModel):
    client_id: UUID | None = None
    client_name: str | None = None
    payer: str | None = None
    buckets: BucketsOut
    credit_balances: Money
    unapplied_payments: Money
    credits: Money
    balance: Money
    items: int


class AgingOut(BaseModel):
    as_of: date
    by: str
    time_zone: str
    rows: list[AgingRowOut]
    totals: AgingRowOut


def _aging_row(line: AgingLine) -> AgingRowOut:
    return AgingRowOut(
        client_id=line.client_id, client_name=line.client_name, payer=line.payer, buckets=_buckets(line.buckets),
        credit_balances=line.credit_balances, unapplied_payments=line.unapplied_payments, credits=line.credits,
        balance=line.balance, items=line.items,
    )


@router.get("/reports/ar-aging", response_model=AgingOut)
def ar_aging(
    caller: ViewBilling, k: ContainerDep,
    as_of: Annotated[date | None, Query(description="Balances at the end of this local date (default today)")] = None,
    by: Literal["client", "payer"] = "client",
    names: Annotated[bool, Query(description="By client: include names (each a PHI read)")] = True,
    min_position: MinPosition = None,
) -> AgingOut:
    """Open balances aged current (0-30 days), 31-60, 61-90, 91-120 and over 120: a charge from its
    service date, an invoice from its issue date. Credits (overpaid items, unapplied payments) are
    apart, never netted into the buckets. `balance` = total - credit balances."""
    _caught_up(k, min_position)
    report = k.billing_reports.ar_aging(
        caller.practice_id, as_of, by, read=_read(caller, "GET /api/v1/reports/ar-aging") if names else None)
    return AgingOut(as_of=report.as_of, by=report.by, time_zone=report.time_zone,
                    rows=[_aging_row(r) for r in report.rows], totals=_aging_row(report.totals))


# --- revenue --------------------------------------------------------------------------------------


class RevenueRowOut(BaseModel):
    key: str | None
    charges: Money
    voided: Money
    invoiced: Money
    net_charges: Money
    payments: Money
    adjustments: Money
    write_offs: Money
    refunds: Money
    received: Money
    net_collections: Money


class RevenueOut(BaseModel):
    first: date
    last: date
    by: str
    time_zone: str
    rows: list[RevenueRowOut]
    totals: RevenueRowOut


def _revenue_row(r: RevenueLine) -> RevenueRowOut:
    return RevenueRowOut(
        key=r.key, charges=r.charges, voided=r.voided, invoiced=r.invoiced, net_charges=r.net_charges,
        payments=r.payments, adjustments=r.adjustments, write_offs=r.write_offs, refunds=r.refunds,
        received=r.received, net_collections=r.net_collections,
    )


@router.get("/reports/revenue", response_model=RevenueOut)
def revenue(
    caller: ViewBilling, k: ContainerDep, first: From = None, last: To = None,
    by: Literal["clinician", "cpt", "payer", "method"] = "clinician", min_position: MinPosition = None,
) -> RevenueOut:
    """Charges entered and voided, invoiced (service lines + tax - discount), payments applied,
    adjustments, write-offs, refunds, payments received and net collections (received - refunds)
    over the range, per clinician, CPT code, payer or payment method. `key` null holds what the
    dimension does not apply to, so the rows always add up to `totals`."""
    _caught_up(k, min_position)
    report = k.billing_reports.revenue(caller.practice_id, first, last, by)
    return RevenueOut(first=report.first, last=report.last, by=report.by, time_zone=report.time_zone,
                      rows=[_revenue_row(r) for r in report.rows], totals=_revenue_row(report.totals))


# --- reconciliation -------------------------------------------------------------------------------


class ReconciliationOut(BaseModel):
    first: date
    last: date
    time_zone: str
    opening_balance: Money
    charges: Money
    voided_charges: Money
    invoice_service_lines: Money
    invoice_tax: Money
    invoice_discount: Money
    billed: Money  # opening + charges - voided + service lines + tax - discount
    payments_applied: Money
    adjustments: Money
    write_offs: Money
    closing_balance: Money
    settled: Money  # payments + adjustments + write-offs + closing
    difference: Money
    ledger_balance: Money | None
    balanced: bool


@router.get("/reports/reconciliation", response_model=ReconciliationOut)
def reconciliation(
    caller: ViewBilling, k: ContainerDep, first: From = None, last: To = None, min_position: MinPosition = None,
) -> ReconciliationOut:
    """Both sides of the ledger identity for the range: opening balance + charges - voided +
    invoice service lines + tax - discount = payments applied + adjustments + write-offs + closing
    balance. When the range ends today, `ledger_balance` (the read models' running totals) must
    equal the closing balance too."""
    _caught_up(k, min_position)
    r = k.billing_reports.reconciliation(caller.practice_id, first, last)
    return ReconciliationOut(
        first=r.first, last=r.last, time_zone=r.time_zone, opening_balance=r.opening_balance, charges=r.charges,
        voided_charges=r.voided_charges, invoice_service_lines=r.invoice_service_lines, invoice_tax=r.invoice_tax,
        invoice_discount=r.invoice_discount, billed=r.billed, payments_applied=r.payments_applied,
        adjustments=r.adjustments, write_offs=r.write_offs, closing_balance=r.closing_balance, settled=r.settled,
        difference=r.difference, ledger_balance=r.ledger_balance, balanced=r.balanced,
    )


# --- statements -----------------------------------------------------------------------------------


class StatementEntryOut(BaseModel):
    on: date
    description: str
    reference: str | None
    charges: Money
    credits: Money
    balance: Money


class PartyOut(BaseModel):
    name: str
    address_lines: list[str]
    phone: str | None = None


class StatementOut(BaseModel):
    client_id: UUID
    statement_date: date
    first: date
    last: date
    practice: PartyOut
    client: PartyOut
    opening_balance: Money
    entries: list[StatementEntryOut]
    total_charges: Money
    total_credits: Money
    closing_balance: Money
    aging: BucketsOut
    amount_due: Money
    message: str | None


def _statement(client_id: UUID, doc: StatementDocument) -> StatementOut:
    return StatementOut(
        client_id=client_id, statement_date=doc.statement_date, first=doc.period_start, last=doc.period_end,
        practice=PartyOut(name=doc.practice.name, address_lines=list(doc.practice.address_lines),
                          phone=doc.practice.phone),
        client=PartyOut(name=doc.client.name, address_lines=list(doc.client.address_lines)),
        opening_balance=doc.opening_balance,
        entries=[StatementEntryOut(on=e.on, description=e.description, reference=e.reference, charges=e.charges,
                                   credits=e.credits, balance=e.balance) for e in doc.entries],
        total_charges=doc.total_charges, total_credits=doc.total_credits, closing_balance=doc.closing_balance,
        aging=_buckets(doc.aging), amount_due=doc.amount_due, message=doc.message,
    )


@router.get("/clients/{client_id}/statement", response_model=StatementOut)
def client_statement(
    client_id: UUID, caller: ViewBilling, k: ContainerDep, first: From = None, last: To = None,
    min_position: MinPosition = None,
) -> StatementOut:
    """The client's account over the range: opening balance, charges, invoices, payments and
    adjustments with the running balance, closing balance, aging and the amount due (closing
    balance less unapplied payments). A client or family member reads their own; a PHI read."""
    _caught_up(k, min_position)
    doc = k.billing_reports.statement(caller.practice_id, client_id, first, last,
                                      _read(caller, "GET /api/v1/clients/{id}/statement"))
    return _statement(client_id, doc)


@router.get(
    "/clients/{client_id}/statement.pdf", response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The statement as PDF."}},
)
def client_statement_pdf(
    client_id: UUID, caller: ViewBilling, k: ContainerDep, first: From = None, last: To = None,
    min_position: MinPosition = None,
) -> Response:
    """The same statement as PDF (a PHI read)."""
    _caught_up(k, min_position)
    pdf = k.billing_reports.statement_pdf(caller.practice_id, client_id, first, last,
                                          _read(caller, "GET /api/v1/clients/{id}/statement.pdf"))
    return Response(pdf.data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{pdf.filename}"'})


# --- revenue metrics ------------------------------------------------------------------------------


class RevenueMetricsOut(BaseModel):
    first: date
    last: date
    time_zone: str
    counts: dict[str, str]
    metrics: dict[str, MetricOut]


def _number(value: Decimal | int) -> str:
    return str(value)


@router.get("/metrics/revenue", response_model=RevenueMetricsOut)
def revenue_metrics(
    caller: ViewBilling, k: ContainerDep, first: From = None, last: To = None, min_position: MinPosition = None,
) -> RevenueMetricsOut:
    """Seed 001 categories 4 and 13 over the range: charge entry lag (mean and median), billing
    compliance rate, claim acceptance rate (null until claims exist), average reimbursement per
    session, days in AR and collection rate, with their formulas and benchmarks."""
    _caught_up(k, min_position)
    report = k.billing_reports.metrics(caller.practice_id, first, last)
    c = report.counts
    counts: dict[str, Decimal | int] = {
        "days": c.days, "charges_entered": sum(c.lag_days.values()), "completed_sessions": c.completed_sessions,
        "charged_sessions": c.charged_sessions, "charges": c.charges, "payments": c.payments,
        "contractual_adjustments": c.contractual_adjustments, "open_balance": c.open_balance,
        "reimbursed": c.reimbursed, "sessions_paid": c.sessions_paid, "claims_billed": c.claims_billed,
        "claims_accepted": c.claims_accepted,
    }
    metrics = {}
    for code, m in report.metrics.items():
        d = REVENUE_METRICS[code]
        metrics[code] = MetricOut(
            name=d.name, value=None if m.value is None else str(m.value), numerator=str(m.numerator),
            denominator=str(m.denominator), benchmark=m.benchmark, status=m.status, formula=d.formula, unit=d.unit,
        )
    return RevenueMetricsOut(first=report.first, last=report.last, time_zone=report.time_zone,
                             counts={k_: _number(v) for k_, v in counts.items()}, metrics=metrics)
