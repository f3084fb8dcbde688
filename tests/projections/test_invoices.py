"""The invoices read model: incremental (small batches while the history grows) equals a rebuild
from zero, and every row equals its aggregate's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg

from application import audit
from application.billing.invoices import InvoiceChanges, ServiceLine
from domain.billing.invoice import Discount, Invoice
from tests.application.billing.test_invoices import Books, open_books

D = Decimal


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("invoices", "invoice_lines")
        }


def history(books: Books, round_: int) -> None:
    """Drafts edited, sent, paid, written off, overdue and void invoices."""
    s = books.service
    charges = [books.charge(fee=f"{100 + round_}.00"), books.charge(fee="75.50")]
    a = books.create(charge_ids=charges, discount=Discount.checked("percent", D("7.5")), tax_rate=D("6.25"),
                     service_lines=[ServiceLine("Personal care", date(2026, 2, 26), D("4.25"), D("31.10"), True)])
    b = books.create(due_on=date(2026, 3, 3))
    c = books.create(client_id=books.other_client)
    with books.acting():
        s.edit(books.id, a.id, InvoiceChanges(remove_lines=(2,), tax_rate=D("8.875"),
                                              discount=Discount.checked("amount", D("12.00"))))
        s.send(books.id, a.id, email=False)
        s.send(books.id, b.id, email=False)
        s.send(books.id, c.id, email=False)
    books.pay(a.id, "40.00")
    books.pay(c.id, "98.00")
    with books.acting():
        s.write_off(books.id, a.id, amount=D("1.11"), reason="Rounding")
        s.void(books.id, books.create().id, "Duplicate")
    books.k.runner("invoices").catch_up()
    with audit.acting(audit.system("system:sweep")):
        s.mark_overdue_invoices(datetime(2026, 3, 5, 12, tzinfo=UTC))


def test_rebuild_equals_incremental_and_rows_equal_aggregates(isolated_container: Any) -> None:
    k = isolated_container
    books = open_books(k)
    runner = k.runner("invoices")
    runner.batch_size = 5
    history(books, 1)
    runner.catch_up()
    history(books, 2)
    runner.catch_up()
    incremental = snapshot(k.database_url)
    assert len(incremental["invoices"]) == 8 and len(incremental["invoice_lines"]) == 10

    runner.batch_size = 500
    runner.rebuild()
    assert snapshot(k.database_url) == incremental
    assert runner.status().lag == 0

    with books.acting():
        rows = k.invoices_view.invoices(books.id, only_clients=None).items
    statuses = set()
    for row in rows:
        invoice: Invoice = books.load(row.invoice_id, Invoice)
        t = invoice.totals
        assert (row.number, row.status, row.subtotal, row.discount, row.tax, row.total, row.paid, row.written_off,
                row.balance, row.overdue_since, row.line_count) == (
            invoice.number, invoice.status, t.subtotal, t.discount, t.tax, t.total, invoice.paid,
            invoice.written_off, invoice.balance, invoice.overdue_since, len(invoice.lines))
        assert row.total == row.paid + row.written_off + row.balance
        assert k.invoices_view.lines(row.invoice_id) == invoice.line_list
        statuses.add(row.status)
    assert statuses == {"partially_paid", "overdue", "paid", "void"}
