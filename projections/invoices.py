"""Invoices: one row per invoice with its figures as on the aggregate, and its lines.

Draft totals are recomputed from the line rows with the aggregate's own rule
(`domain.billing.invoice.compute_totals`); once sent, the totals the Sent event carries are
written as they are. Paid and written-off amounts move with their events; balance and status
follow the rule of `Invoice.status` (`total = paid + written_off + balance`). Notes are PHI and
are not copied here. Lists, the overdue sweep and the reports read these tables.
"""

from __future__ import annotations

import base64
import builtins
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from psycopg.rows import DictRow

from domain.billing.invoice import Discount, Invoice, InvoiceLine, compute_totals
from domain.errors import InvalidCommand
from projections.base import View

COLUMNS = (
    "invoice_id, practice_id, client_id, number, status, issued_on, due_on, discount_kind, discount_value, tax_rate, "
    "subtotal, discount, tax, total, paid, written_off, balance, created_at, sent_at, emailed, paid_at, voided_at, "
    "overdue_since, line_count"
)
LINE_COLUMNS = (
    "invoice_id, line_no, practice_id, client_id, kind, description, service_date, quantity, unit_price, amount, "
    "taxable, charge_id, cpt, modifiers"
)
OPEN_STATUSES = ("sent", "partially_paid")
NUMBER = re.compile(r"^[A-Z]+-\d{4}-\d+$")

# Invoice.status over the row's own figures; `at` stamps the moment the balance reaches zero.
_REFRESH = """
    UPDATE invoices SET
        balance = total - paid - written_off,
        status = CASE
            WHEN voided_at IS NOT NULL THEN 'void'
            WHEN sent_at IS NULL THEN 'draft'
            WHEN total - paid - written_off <= 0 THEN 'paid'
            WHEN overdue_since IS NOT NULL THEN 'overdue'
            WHEN paid > 0 OR written_off > 0 THEN 'partially_paid'
            ELSE 'sent'
        END,
        paid_at = CASE
            WHEN voided_at IS NULL AND sent_at IS NOT NULL AND total - paid - written_off <= 0
            THEN COALESCE(paid_at, %(at)s::timestamptz)
        END
    WHERE invoice_id = %(id)s
"""


@dataclass(frozen=True)
class InvoiceRow:
    invoice_id: UUID
    practice_id: UUID
    client_id: UUID
    number: str
    status: str
    issued_on: date
    due_on: date
    discount_kind: str | None
    discount_value: Decimal | None
    tax_rate: Decimal
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal
    written_off: Decimal
    balance: Decimal
    created_at: datetime
    sent_at: datetime | None
    emailed: bool
    paid_at: datetime | None
    voided_at: datetime | None
    overdue_since: date | None
    line_count: int


@dataclass(frozen=True)
class InvoicePage:
    items: list[InvoiceRow]
    next_cursor: str | None


@dataclass(frozen=True)
class OverdueCandidate:
    practice_id: UUID
    invoice_id: UUID
    due_on: date


def _cursor(number: str) -> str:
    return base64.urlsafe_b64encode(number.encode()).decode()


def _number(cursor: str) -> str:
    try:
        number = base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError:
        number = ""
    if not NUMBER.match(number):
        raise InvalidCommand("The cursor is not one this API returned.", field="cursor")
    return number


class InvoicesView(View):
    tables = ("invoices", "invoice_lines")

    # --- queries --------------------------------------------------------------------------------

    def invoices(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, status: str | None = None,
        client_id: UUID | None = None, overdue: bool | None = None, cursor: str | None = None, limit: int = 100,
        include_drafts: bool = True,
    ) -> InvoicePage:
        """Newest number first. `only_clients` narrows to the caller's own records (portal members;
        None: no narrowing), with no default so no caller forgets it. `overdue` True: overdue only;
        False: all but overdue."""
        sql = f"SELECT {COLUMNS} FROM invoices WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        if only_clients is not None:
            sql += " AND client_id = ANY(%s)"
            params.append(list(only_clients))
        if status is not None:
            sql += " AND status = %s"
            params.append(status)
        if client_id is not None:
            sql += " AND client_id = %s"
            params.append(client_id)
        if not include_drafts:
            sql += " AND status <> 'draft'"
        if overdue is not None:
            sql += " AND status = 'overdue'" if overdue else " AND status <> 'overdue'"
        if cursor:
            sql += " AND number < %s"
            params.append(_number(cursor))
        sql += " ORDER BY number DESC LIMIT %s"
        params.append(limit + 1)
        rows = [InvoiceRow(**r) for r in self.query(sql, params)]
        more = len(rows) > limit
        items = rows[:limit]
        return InvoicePage(items=items, next_cursor=_cursor(items[-1].number) if more and items else None)

    def get(self, practice_id: UUID, invoice_id: UUID) -> InvoiceRow | None:
        rows = self.query(f"SELECT {COLUMNS} FROM invoices WHERE practice_id = %s AND invoice_id = %s",
                          (practice_id, invoice_id))
        return InvoiceRow(**rows[0]) if rows else None

    def lines(self, invoice_id: UUID) -> list[InvoiceLine]:
        rows = self.query(f"SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id = %s ORDER BY line_no",
                          (invoice_id,))
        return [_line(r) for r in rows]

    def overdue_candidates(self, due_before: date, limit: int = 1000) -> list[OverdueCandidate]:
        """Open invoices (sent or partially paid) due before `due_before`, oldest due first; the
        aggregate decides in the practice's own time zone whether each is overdue yet."""
        rows = self.query(
            "SELECT practice_id, invoice_id, due_on FROM invoices WHERE status = ANY(%s) AND due_on < %s "
            "ORDER BY due_on, invoice_id LIMIT %s",
            (list(OPEN_STATUSES), due_before, limit),
        )
        return [OverdueCandidate(**r) for r in rows]

    # --- batch writes ---------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any]) -> builtins.list[DictRow]:
        """Rows inside the batch's transaction, on a cursor of its own (the batch cursor runs in
        pipeline mode)."""
        with self.curs.connection.cursor() as curs:
            curs.execute(sql, params)  # type: ignore[arg-type]
            return curs.fetchall()

    def recompute(self, invoice_id: UUID) -> None:
        """A draft's figures from its line rows, with the aggregate's rule."""
        found = self._rows("SELECT discount_kind, discount_value, tax_rate FROM invoices WHERE invoice_id = %s",
                           (invoice_id,))
        if not found:
            return
        terms = found[0]
        lines = [_line(r) for r in self._rows(f"SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id = %s",
                                              (invoice_id,))]
        discount = (Discount(terms["discount_kind"], terms["discount_value"])
                    if terms["discount_kind"] and terms["discount_value"] is not None else None)
        t = compute_totals(lines, discount, terms["tax_rate"])
        self.curs.execute(
            "UPDATE invoices SET subtotal = %s, discount = %s, tax = %s, total = %s, "
            "balance = %s - paid - written_off, line_count = %s WHERE invoice_id = %s",
            (t.subtotal, t.discount, t.tax, t.total, t.total, len(lines), invoice_id),
        )

    def refresh(self, invoice_id: UUID, at: datetime) -> None:
        self.curs.execute(_REFRESH, {"id": invoice_id, "at": at})


def _line(r: DictRow) -> InvoiceLine:
    return InvoiceLine(
        line_no=r["line_no"], kind=r["kind"], description=r["description"], service_date=r["service_date"],
        quantity=r["quantity"], unit_price=r["unit_price"], amount=r["amount"], taxable=r["taxable"],
        charge_id=r["charge_id"], cpt=r["cpt"], modifiers=tuple(r["modifiers"] or ()),
    )


class Invoices(Projection[InvoicesView]):
    name = "invoices"
    topics = (
        Invoice.Drafted.TOPIC,
        Invoice.LineAdded.TOPIC,
        Invoice.LineRemoved.TOPIC,
        Invoice.TermsChanged.TOPIC,
        Invoice.Sent.TOPIC,
        Invoice.PaymentApplied.TOPIC,
        Invoice.PaymentUnapplied.TOPIC,
        Invoice.WrittenOff.TOPIC,
        Invoice.BecameOverdue.TOPIC,
        Invoice.Voided.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: Invoice.Drafted, tracking: Tracking) -> None:
        self.view.curs.execute(
            f"INSERT INTO invoices ({COLUMNS}) VALUES (%s, %s, %s, %s, 'draft', %s, %s, %s, %s, %s, "
            "0, 0, 0, 0, 0, 0, 0, %s, NULL, false, NULL, NULL, NULL, 0) ON CONFLICT (invoice_id) DO NOTHING",
            (e.originator_id, e.practice_id, e.client_id, e.number, e.issued_on, e.due_on, e.discount_kind,
             e.discount_value, e.tax_rate, e.at),
        )

    @process_event.register
    def _(self, e: Invoice.LineAdded, tracking: Tracking) -> None:
        line = InvoiceLine.from_event(e.line)
        self.view.curs.execute(
            f"INSERT INTO invoice_lines ({LINE_COLUMNS}) "
            "SELECT %s, %s, practice_id, client_id, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s "
            "FROM invoices WHERE invoice_id = %s ON CONFLICT (invoice_id, line_no) DO NOTHING",
            (e.originator_id, line.line_no, line.kind, line.description, line.service_date, line.quantity,
             line.unit_price, line.amount, line.taxable, line.charge_id, line.cpt, list(line.modifiers),
             e.originator_id),
        )
        self.view.recompute(e.originator_id)

    @process_event.register
    def _(self, e: Invoice.LineRemoved, tracking: Tracking) -> None:
        self.view.curs.execute("DELETE FROM invoice_lines WHERE invoice_id = %s AND line_no = %s",
                               (e.originator_id, e.line_no))
        self.view.recompute(e.originator_id)

    @process_event.register
    def _(self, e: Invoice.TermsChanged, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE invoices SET due_on = %s, discount_kind = %s, discount_value = %s, tax_rate = %s "
            "WHERE invoice_id = %s",
            (e.due_on, e.discount_kind, e.discount_value, e.tax_rate, e.originator_id),
        )
        self.view.recompute(e.originator_id)

    @process_event.register
    def _(self, e: Invoice.Sent, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE invoices SET sent_at = %s, emailed = %s, subtotal = %s, discount = %s, tax = %s, total = %s "
            "WHERE invoice_id = %s",
            (e.at, e.emailed, e.subtotal, e.discount, e.tax, e.total, e.originator_id),
        )
        self.view.refresh(e.originator_id, e.at)

    @process_event.register
    def _(self, e: Invoice.PaymentApplied, tracking: Tracking) -> None:
        self.view.curs.execute("UPDATE invoices SET paid = paid + %s WHERE invoice_id = %s",
                               (e.amount, e.originator_id))
        self.view.refresh(e.originator_id, e.at)

    @process_event.register
    def _(self, e: Invoice.PaymentUnapplied, tracking: Tracking) -> None:
        self.view.curs.execute("UPDATE invoices SET paid = paid - %s WHERE invoice_id = %s",
                               (e.amount, e.originator_id))
        self.view.refresh(e.originator_id, e.at)

    @process_event.register
    def _(self, e: Invoice.WrittenOff, tracking: Tracking) -> None:
        self.view.curs.execute("UPDATE invoices SET written_off = written_off + %s WHERE invoice_id = %s",
                               (e.amount, e.originator_id))
        self.view.refresh(e.originator_id, e.at)

    @process_event.register
    def _(self, e: Invoice.BecameOverdue, tracking: Tracking) -> None:
        self.view.curs.execute("UPDATE invoices SET overdue_since = %s WHERE invoice_id = %s",
                               (e.since, e.originator_id))
        self.view.refresh(e.originator_id, e.at)

    @process_event.register
    def _(self, e: Invoice.Voided, tracking: Tracking) -> None:
        self.view.curs.execute("UPDATE invoices SET voided_at = %s WHERE invoice_id = %s", (e.at, e.originator_id))
        self.view.refresh(e.originator_id, e.at)
