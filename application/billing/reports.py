"""Accounts receivable reports: aging per client or payer, revenue by clinician, procedure code,
payer or payment method, client statements (also as PDF), the reconciliation of a period, and the
revenue metrics of seed 001 categories 4 and 13.

Dates are the practice's local dates; "as of" a date means at the end of that day. Every report
is computed from what was recorded up to that moment (see projections/billing_reports.py), so a
past report does not change when later money moves.

- Aging: each open item's balance by its age in days at the as-of date: a charge's from its
  service date, an invoice's from its issue date (the day it was created). Buckets current (0-30
  days), 31-60, 61-90, 91-120 and over 120. Items overpaid (negative balances) and payment money
  neither applied nor refunded are credits, shown apart and never netted into the buckets. Per
  payer: a charge's payer, "self-pay" for charges without one and for invoices (the client's own
  bill); a patient payment's credit is "self-pay", an insurance payment's its payer's.
- Revenue: charges entered (gross) and voided, what invoices bill beyond their charge lines
  (service lines + tax - discount, less invoices voided), payments applied, adjustments,
  write-offs, refunds, payments received and net collections (received - refunds). Each amount
  goes to the row of its clinician / code / payer / method, or to the row `None` where the
  dimension does not apply (an invoice's service line has no clinician, an adjustment no method),
  so every breakdown adds up to the same totals. Payments applied count for the payer of the
  charge they pay (patients' copays on an insured charge included); refunds and receipts for the
  payment's payer. A charge's payer and code are the ones it has now (a charge is edited only
  before money moves on it; billing may name another payer).
- Reconciliation: opening balance + charges - voided + invoice service lines + tax - discount =
  payments applied + adjustments + write-offs + closing balance, to the cent.

Practice reports are for practice-wide billing staff. A statement is one client's: staff with
billing access see any, a client or family member only their own; anyone else is answered 404.
Client names and addresses shown are recorded as PHI reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from application.billing.documents import (
    AgingBuckets,
    DocumentRenderer,
    PartyDetails,
    StatementDocument,
    StatementEntry,
    format_money,
)
from application.billing.scope import billing_scope, client_party
from application.clients import Read
from application.errors import Forbidden, NotFound
from application.ports import Clock
from application.store import EventStore
from domain.access.phi_access import PURPOSES, PhiAccess
from domain.billing.revenue_metrics import RevenueCounts, revenue_metrics
from domain.clients.client import Client
from domain.errors import InvalidCommand
from domain.practices.practice import Practice
from domain.scheduling.metrics import MetricValue
from domain.scheduling.working_time import local_to_utc, zone

AGING_BY = ("client", "payer")
REVENUE_BY = ("clinician", "cpt", "payer", "method")
ZERO = Decimal("0.00")
NO_AGE = AgingBuckets(ZERO, ZERO, ZERO, ZERO, ZERO)


class PracticeReportsOnly(Forbidden):
    code = "practice_reports_only"


# --- ports: the read model, as the reports use it -----------------------------------------------


class AgingRowLike(Protocol):
    @property
    def key(self) -> str | None: ...
    @property
    def current(self) -> Decimal: ...
    @property
    def d31_60(self) -> Decimal: ...
    @property
    def d61_90(self) -> Decimal: ...
    @property
    def d91_120(self) -> Decimal: ...
    @property
    def over_120(self) -> Decimal: ...
    @property
    def credit_balances(self) -> Decimal: ...
    @property
    def unapplied(self) -> Decimal: ...
    @property
    def items(self) -> int: ...


class MeasureRowLike(Protocol):
    @property
    def key(self) -> str | None: ...
    @property
    def measures(self) -> dict[str, Decimal]: ...


class StatementMoveLike(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def service_date(self) -> date | None: ...
    @property
    def cpt(self) -> str | None: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def payer(self) -> str | None: ...
    @property
    def method(self) -> str | None: ...


class MetricCountsLike(Protocol):
    @property
    def lag_days(self) -> dict[int, int]: ...
    @property
    def completed_sessions(self) -> int: ...
    @property
    def charged_sessions(self) -> int: ...
    @property
    def contractual_adjustments(self) -> Decimal: ...
    @property
    def reimbursed(self) -> Decimal: ...
    @property
    def sessions_paid(self) -> int: ...
    @property
    def claims_billed(self) -> int: ...
    @property
    def claims_accepted(self) -> int: ...


class BillingReportsReadModel(Protocol):
    """The reports read model (projections/billing_reports.py)."""

    def aging(self, practice_id: UUID, t: datetime, as_of: date, by: str, client_id: UUID | None = None,
              from_history: bool = False) -> Sequence[AgingRowLike]: ...

    def open_balance(self, practice_id: UUID, t: datetime, client_id: UUID | None = None,
                     from_history: bool = False) -> Decimal: ...

    def ledger_balance(self, practice_id: UUID) -> Decimal: ...

    def moved(self, practice_id: UUID, s: datetime, e: datetime, first: date, last: date, by: str | None
              ) -> Sequence[MeasureRowLike]: ...

    def statement_moves(self, practice_id: UUID, client_id: UUID, s: datetime, e: datetime
                        ) -> Sequence[StatementMoveLike]: ...

    def unapplied(self, practice_id: UUID, t: datetime, client_id: UUID) -> Decimal: ...

    def metric_counts(self, practice_id: UUID, s: datetime, e: datetime, first: date, last: date, time_zone: str
                      ) -> MetricCountsLike: ...


class ClientNames(Protocol):
    """Clients' display names (PHI); an erased client has none."""

    def names(self, practice_id: UUID, client_ids: list[UUID]) -> dict[UUID, str]: ...


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgingLine:
    client_id: UUID | None  # by client; None: insurance money not tied to a client
    client_name: str | None  # by client, when names were asked for (a PHI read)
    payer: str | None  # by payer
    buckets: AgingBuckets
    credit_balances: Decimal
    """Overpaid items (negative balances), as a positive amount."""
    unapplied_payments: Decimal
    """Payment money received that is neither applied nor refunded."""
    items: int

    @property
    def total(self) -> Decimal:
        """What is owed: the buckets' sum (credits not netted)."""
        return self.buckets.total

    @property
    def credits(self) -> Decimal:
        return self.credit_balances + self.unapplied_payments

    @property
    def balance(self) -> Decimal:
        """The open items' balances summed, negative ones included (the reconciliation's figure)."""
        return self.total - self.credit_balances


@dataclass(frozen=True)
class AgingReport:
    as_of: date
    by: str
    time_zone: str
    rows: tuple[AgingLine, ...]
    totals: AgingLine


@dataclass(frozen=True)
class RevenueLine:
    key: str | None  # clinician id, CPT code, payer or method; None: the dimension does not apply
    charges: Decimal
    voided: Decimal
    invoiced: Decimal  # invoice service lines + tax - discount
    payments: Decimal  # applied
    adjustments: Decimal
    write_offs: Decimal
    refunds: Decimal
    received: Decimal

    @property
    def net_charges(self) -> Decimal:
        return self.charges - self.voided + self.invoiced

    @property
    def net_collections(self) -> Decimal:
        return self.received - self.refunds


@dataclass(frozen=True)
class RevenueReport:
    first: date
    last: date
    by: str
    time_zone: str
    rows: tuple[RevenueLine, ...]
    totals: RevenueLine


@dataclass(frozen=True)
class Reconciliation:
    first: date
    last: date
    time_zone: str
    opening_balance: Decimal
    charges: Decimal
    voided_charges: Decimal
    invoice_service_lines: Decimal
    invoice_tax: Decimal
    invoice_discount: Decimal
    payments_applied: Decimal
    adjustments: Decimal
    write_offs: Decimal
    closing_balance: Decimal
    ledger_balance: Decimal | None
    """Open balances from the read models' running totals, when `last` is today (else None)."""

    @property
    def billed(self) -> Decimal:
        """Opening balance + charges - voided + invoice service lines + tax - discount."""
        return (self.opening_balance + self.charges - self.voided_charges + self.invoice_service_lines
                + self.invoice_tax - self.invoice_discount)

    @property
    def settled(self) -> Decimal:
        """Payments applied + adjustments + write-offs + closing balance."""
        return self.payments_applied + self.adjustments + self.write_offs + self.closing_balance

    @property
    def difference(self) -> Decimal:
        return self.billed - self.settled

    @property
    def balanced(self) -> bool:
        return self.difference == ZERO and (self.ledger_balance is None or self.ledger_balance == self.closing_balance)


@dataclass(frozen=True)
class RevenueMetricsReport:
    first: date
    last: date
    time_zone: str
    counts: RevenueCounts
    metrics: dict[str, MetricValue]


@dataclass(frozen=True)
class StatementPdf:
    filename: str
    data: bytes


# --- the service ------------------------------------------------------------------------------------


class BillingReportService:
    def __init__(self, store: EventStore, clock: Clock, view: BillingReportsReadModel, renderer: DocumentRenderer,
                 names: ClientNames) -> None:
        self.store = store
        self.clock = clock
        self.view = view
        self.renderer = renderer
        self.client_names = names

    # --- helpers ------------------------------------------------------------------------------

    def _practice(self, practice_id: UUID) -> Practice:
        practice: Practice = self.store.load(practice_id, Practice)
        return practice

    def _today(self, practice: Practice) -> date:
        return self.clock.now().astimezone(zone(practice.time_zone)).date()

    @staticmethod
    def _end_of(day: date, practice: Practice) -> datetime:
        """The first instant after the local `day`."""
        return local_to_utc(day + timedelta(days=1), time(0), zone(practice.time_zone))

    @staticmethod
    def _start_of(day: date, practice: Practice) -> datetime:
        return local_to_utc(day, time(0), zone(practice.time_zone))

    @staticmethod
    def _require_practice_wide(what: str) -> None:
        if not billing_scope().practice_wide:
            raise PracticeReportsOnly(f"{what} is for practice-wide billing staff.")

    def _range(self, practice: Practice, first: date | None, last: date | None) -> tuple[date, date]:
        """[first, last], by default the month to date; never after today."""
        today = self._today(practice)
        last = last or today
        first = first or last.replace(day=1)
        if last > today:
            raise InvalidCommand("The range ends after today (practice time).", field="to", today=today.isoformat())
        if first > last:
            raise InvalidCommand("The date range ends before it starts.", field="to")
        return first, last

    def _record(self, practice_id: UUID, client_ids: Sequence[UUID], read: Read, fields: list[str]) -> None:
        if read.purpose not in PURPOSES:
            raise InvalidCommand(f"Unknown purpose {read.purpose!r}.", field="purpose", allowed=sorted(PURPOSES))
        if client_ids:
            self.store.save(*[PhiAccess(client_id=c, practice_id=practice_id, endpoint=read.endpoint,
                                        purpose=read.purpose, fields=fields) for c in client_ids])

    # --- aging --------------------------------------------------------------------------------

    def ar_aging(self, practice_id: UUID, as_of: date | None = None, by: str = "client",
                 read: Read | None = None) -> AgingReport:
        """Open balances at the end of `as_of` (default today) per client or per payer; with
        `read` (by client) the clients' names too, each recorded as a PHI read."""
        self._require_practice_wide("The aging report")
        if by not in AGING_BY:
            raise InvalidCommand("Aging is by client or by payer.", field="by", allowed=list(AGING_BY))
        practice = self._practice(practice_id)
        day = as_of or self._today(practice)
        if day > self._today(practice):
            raise InvalidCommand("as_of is after today (practice time).", field="as_of")
        rows = self.view.aging(practice_id, self._end_of(day, practice), day, by)
        names: dict[UUID, str] = {}
        if by == "client" and read is not None:
            ids = [UUID(r.key) for r in rows if r.key is not None]
            names = self.client_names.names(practice_id, ids)
            self._record(practice_id, sorted(names), read, ["name"])
        lines = tuple(_aging_line(r, by, names) for r in rows)
        return AgingReport(day, by, practice.time_zone, lines, _aging_total(lines, by))

    # --- revenue ------------------------------------------------------------------------------

    def revenue(self, practice_id: UUID, first: date | None = None, last: date | None = None, by: str = "clinician"
                ) -> RevenueReport:
        """Money moved from the start of `first` to the end of `last` (default: month to date),
        per clinician, CPT code, payer or payment method."""
        self._require_practice_wide("The revenue report")
        if by not in REVENUE_BY:
            raise InvalidCommand("Revenue is by clinician, cpt, payer or method.", field="by",
                                 allowed=list(REVENUE_BY))
        practice = self._practice(practice_id)
        first, last = self._range(practice, first, last)
        rows = tuple(_revenue_line(r.key, r.measures) for r in self.view.moved(
            practice_id, self._start_of(first, practice), self._end_of(last, practice), first, last, by))
        return RevenueReport(first, last, by, practice.time_zone, rows, _revenue_total(rows))

    # --- reconciliation -------------------------------------------------------------------------

    def reconciliation(self, practice_id: UUID, first: date | None = None, last: date | None = None
                       ) -> Reconciliation:
        """The period's money on both sides of the ledger identity, to the cent."""
        self._require_practice_wide("The reconciliation")
        practice = self._practice(practice_id)
        first, last = self._range(practice, first, last)
        s, e = self._start_of(first, practice), self._end_of(last, practice)
        moved = self.view.moved(practice_id, s, e, first, last, None)
        m = moved[0].measures if moved else {}

        def get(name: str) -> Decimal:
            return m.get(name, ZERO)

        # Both balances from the dated history, so the running totals are an independent check.
        closing = self.view.open_balance(practice_id, e, from_history=True)
        ledger = self.view.ledger_balance(practice_id) if last == self._today(practice) else None
        return Reconciliation(
            first=first, last=last, time_zone=practice.time_zone,
            opening_balance=self.view.open_balance(practice_id, s, from_history=True), charges=get("charges"),
            voided_charges=get("voided"), invoice_service_lines=get("invoice_service"),
            invoice_tax=get("invoice_tax"), invoice_discount=get("invoice_discount"),
            payments_applied=get("payments"), adjustments=get("adjustments"), write_offs=get("write_offs"),
            closing_balance=closing, ledger_balance=ledger,
        )

    # --- statements -----------------------------------------------------------------------------

    def _statement_client(self, practice_id: UUID, client_id: UUID) -> Client:
        refusal = NotFound(f"No client {client_id}.")
        if not billing_scope().sees_payment(client_id):
            raise refusal
        try:
            client: Client = self.store.load(client_id, Client)
        except NotFound:
            raise refusal from None
        if client.practice_id != practice_id:
            raise refusal
        return client

    def statement(self, practice_id: UUID, client_id: UUID, first: date | None = None, last: date | None = None,
                  read: Read | None = None) -> StatementDocument:
        """The client's account from the start of `first` to the end of `last` (default: month to
        date): opening balance, every charge, invoice, payment and adjustment with the running
        balance, closing balance, its aging, and the amount due (closing balance less unapplied
        payments, never below zero). Reading the client's name and address is a PHI read."""
        client = self._statement_client(practice_id, client_id)
        practice = self._practice(practice_id)
        first, last = self._range(practice, first, last)
        s, e = self._start_of(first, practice), self._end_of(last, practice)
        local = zone(practice.time_zone)
        opening = self.view.open_balance(practice_id, s, client_id)
        running = opening
        entries: list[StatementEntry] = []
        for move in self.view.statement_moves(practice_id, client_id, s, e):
            if move.amount == ZERO and move.kind != "invoice":
                continue
            running += move.amount
            description, reference = _describe(move)
            entries.append(StatementEntry(
                on=move.at.astimezone(local).date(), description=description, reference=reference,
                charges=max(move.amount, ZERO), credits=max(-move.amount, ZERO), balance=running,
            ))
        closing = self.view.open_balance(practice_id, e, client_id)
        aged = self.view.aging(practice_id, e, last, "client", client_id)
        aging = _buckets(aged[0]) if aged else NO_AGE
        unapplied = self.view.unapplied(practice_id, e, client_id)
        self._record(practice_id, [client_id], read or Read("billing.statement", "payment"), ["name", "address"])
        return StatementDocument(
            statement_date=self._today(practice), period_start=first, period_end=last,
            practice=PartyDetails(name=practice.name, phone=practice.scheduling.contact_phone),
            client=client_party(client), opening_balance=opening, entries=tuple(entries), closing_balance=closing,
            aging=aging, amount_due=max(closing - unapplied, ZERO),
            message=(f"Payments on account not yet applied: {format_money(unapplied)}; deducted from the amount "
                     "due." if unapplied > ZERO else None),
        )

    def statement_pdf(self, practice_id: UUID, client_id: UUID, first: date | None = None,
                      last: date | None = None, read: Read | None = None) -> StatementPdf:
        doc = self.statement(practice_id, client_id, first, last, read)
        return StatementPdf(f"statement-{doc.period_start.isoformat()}-{doc.period_end.isoformat()}.pdf",
                            self.renderer.statement_pdf(doc))

    # --- metrics --------------------------------------------------------------------------------

    def metrics(self, practice_id: UUID, first: date | None = None, last: date | None = None
                ) -> RevenueMetricsReport:
        """Charge entry lag, billing compliance, claim acceptance, average reimbursement per
        session, days in AR and collection rate over the range (default: month to date)."""
        self._require_practice_wide("The revenue metrics")
        practice = self._practice(practice_id)
        first, last = self._range(practice, first, last)
        s, e = self._start_of(first, practice), self._end_of(last, practice)
        moved = self.view.moved(practice_id, s, e, first, last, None)
        totals = _revenue_line(None, moved[0].measures if moved else {})
        c = self.view.metric_counts(practice_id, s, e, first, last, practice.time_zone)
        counts = RevenueCounts(
            days=(last - first).days + 1, lag_days=dict(c.lag_days), completed_sessions=c.completed_sessions,
            charged_sessions=c.charged_sessions, charges=totals.net_charges, payments=totals.payments,
            contractual_adjustments=c.contractual_adjustments, open_balance=self.view.open_balance(practice_id, e),
            reimbursed=c.reimbursed, sessions_paid=c.sessions_paid, claims_billed=c.claims_billed,
            claims_accepted=c.claims_accepted,
        )
        return RevenueMetricsReport(first, last, practice.time_zone, counts, revenue_metrics(counts))


# --- shaping ---------------------------------------------------------------------------------------


def _buckets(r: AgingRowLike) -> AgingBuckets:
    return AgingBuckets(r.current, r.d31_60, r.d61_90, r.d91_120, r.over_120)


def _aging_line(r: AgingRowLike, by: str, names: dict[UUID, str]) -> AgingLine:
    client_id = UUID(r.key) if by == "client" and r.key is not None else None
    return AgingLine(
        client_id=client_id, client_name=names.get(client_id) if client_id else None,
        payer=r.key if by == "payer" else None, buckets=_buckets(r), credit_balances=r.credit_balances,
        unapplied_payments=r.unapplied, items=r.items,
    )


def _aging_total(lines: Sequence[AgingLine], by: str) -> AgingLine:
    def total(f: str) -> Decimal:
        return sum((getattr(line.buckets, f) for line in lines), ZERO)

    return AgingLine(
        client_id=None, client_name=None, payer=None,
        buckets=AgingBuckets(total("current"), total("d31_60"), total("d61_90"), total("d91_120"),
                             total("over_120")),
        credit_balances=sum((line.credit_balances for line in lines), ZERO),
        unapplied_payments=sum((line.unapplied_payments for line in lines), ZERO),
        items=sum(line.items for line in lines),
    )


def _revenue_line(key: str | None, m: dict[str, Decimal]) -> RevenueLine:
    def get(name: str) -> Decimal:
        return m.get(name, ZERO)

    return RevenueLine(
        key=key, charges=get("charges"), voided=get("voided"),
        invoiced=get("invoice_service") + get("invoice_tax") - get("invoice_discount"), payments=get("payments"),
        adjustments=get("adjustments"), write_offs=get("write_offs"), refunds=get("refunds"),
        received=get("received"),
    )


def _revenue_total(rows: Sequence[RevenueLine]) -> RevenueLine:
    def total(f: str) -> Decimal:
        return sum((getattr(r, f) for r in rows), ZERO)

    return RevenueLine(None, total("charges"), total("voided"), total("invoiced"), total("payments"),
                       total("adjustments"), total("write_offs"), total("refunds"), total("received"))


METHOD_LABELS = {"cash": "cash", "check": "check", "card": "card", "insurance": "insurance", "other": "other"}


def _describe(m: StatementMoveLike) -> tuple[str, str | None]:
    """(description, reference) of a statement line: codes, dates and numbers, no clinical detail."""
    service = f"service on {m.service_date.isoformat()}" if m.service_date else "service"
    code = f", CPT {m.cpt}" if m.cpt else ""
    method = METHOD_LABELS.get(m.method or "", m.method or "payment")
    match m.kind:
        case "charge":
            return f"Charge: {service}{code}", m.reference
        case "charge_voided":
            return f"Charge voided: {service}{code}", m.reference
        case "payment":
            return f"Payment ({method}){' - ' + m.payer if m.payer else ''}", m.reference
        case "payment_unapplied":
            return f"Payment ({method}) taken back", m.reference
        case "insurance_payment":
            return f"Insurance payment{' - ' + m.payer if m.payer else ''}: {service}{code}", m.reference
        case "adjustment":
            return f"Adjustment: {service}{code}", m.reference
        case "write_off":
            return f"Write-off: {service}{code}", m.reference
        case "invoice":
            return "Invoice (services, tax and discount beyond the charges above)", m.reference
        case "invoice_voided":
            return "Invoice voided", m.reference
        case "invoice_write_off":
            return "Invoice write-off", m.reference
        case "invoice_write_off_voided":
            return "Invoice write-off reversed (invoice voided)", m.reference
    return m.kind.replace("_", " ").capitalize(), m.reference
