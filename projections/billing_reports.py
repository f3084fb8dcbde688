"""Accounts receivable as of any moment: aging, revenue by dimension, the reconciliation's sides,
client statement lines and the counts of the revenue metrics, computed with SQL aggregates over
the billing ledger (`billing_*`, projections/billing_ledger.py) and the invoices (`invoices`,
`invoice_lines`, projections/invoices.py).

Claim answers come from the 835s matched to charges (`remittance_claims`, projections/remittances.py).
The one fact those tables do not date is an invoice write-off; this module's projection keeps
each with its time (`billing_report_invoice_write_offs`, and the practice of each invoice, which
the write-off event does not carry). Everything else is read, never written.

What is open at a moment `t` (a charge or an invoice item's balance at `t`):
- a charge counts once entered (`entered_at < t`) until voided; off it come the adjustments and
  write-offs and the 835 postings (payments, reversals) recorded before `t`, the payments applied
  before `t` and not taken back by then, and its balance moved onto a client invoice while that
  invoice is sent and not void at `t` (moved onto a draft, it still counts on the charge);
- an invoice counts from when it was sent until voided, for its total; off it come the payments
  applied (and not taken back) and the write-offs recorded before `t`.
So, at every moment, charges + what invoices bill beyond their charge lines (service lines + tax -
discount) = payments applied + adjustments and write-offs + open balances. When nothing is recorded
at or after `t` (the usual "as of today"), the same balances come from the running totals the
ledger and invoice projections keep, without reading the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.billing.invoice import Invoice
from domain.billing.revenue_metrics import CONTRACTUAL_GROUP, CONTRACTUAL_REASON, DENIED, REVERSAL
from projections.base import View
from projections.client_directory import ClientDirectoryView

ZERO = Decimal("0.00")
BUCKETS = ("current", "d31_60", "d61_90", "d91_120", "over_120")
MEASURES = (
    "charges", "voided", "invoice_service", "invoice_tax", "invoice_discount", "payments", "adjustments",
    "write_offs", "refunds", "received",
)
DIMENSIONS = {"clinician": "clinician_id::text", "cpt": "cpt", "payer": "payer", "method": "method"}
AGING_KEYS = {"client": "client_id::text", "payer": "payer"}

# The open items (charges and invoices) at %(t)s, with their balances: see the module docstring.
_ITEMS = """
live_charges AS (
    SELECT c.charge_id, c.client_id, COALESCE(c.payer, 'self-pay') AS payer, c.service_date AS aged_from, c.amount
    FROM billing_charges c
    WHERE c.practice_id = %(p)s AND c.entered_at < %(t)s AND (c.voided_at IS NULL OR c.voided_at >= %(t)s)
      {client_filter}
),
charge_moves AS (
    SELECT e.charge_id, e.amount FROM billing_entries e
    WHERE e.practice_id = %(p)s AND e.at < %(t)s
      AND (e.kind IN ('adjustment', 'write_off') OR (e.kind = 'payment' AND e.source = 'remittance'))
    UNION ALL
    SELECT a.target_id, a.amount FROM billing_applications a
    WHERE a.practice_id = %(p)s AND a.target = 'charge' AND a.at < %(t)s
      AND (a.unapplied_at IS NULL OR a.unapplied_at >= %(t)s)
    UNION ALL
    SELECT l.charge_id, l.amount FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.invoice_id
    WHERE i.practice_id = %(p)s AND l.charge_id IS NOT NULL AND i.sent_at < %(t)s
      AND (i.voided_at IS NULL OR i.voided_at >= %(t)s)
),
live_invoices AS (
    SELECT i.invoice_id, i.client_id, i.issued_on AS aged_from, i.total FROM invoices i
    WHERE i.practice_id = %(p)s AND i.sent_at < %(t)s AND (i.voided_at IS NULL OR i.voided_at >= %(t)s)
      {invoice_filter}
),
invoice_moves AS (
    SELECT a.target_id AS invoice_id, a.amount FROM billing_applications a
    WHERE a.practice_id = %(p)s AND a.target = 'invoice' AND a.at < %(t)s
      AND (a.unapplied_at IS NULL OR a.unapplied_at >= %(t)s)
    UNION ALL
    SELECT w.invoice_id, w.amount FROM billing_report_invoice_write_offs w
    WHERE w.practice_id = %(p)s AND w.at < %(t)s
),
items AS (
    SELECT 'charge' AS kind, lc.charge_id AS item_id, lc.client_id, lc.payer, lc.aged_from,
           lc.amount - COALESCE(m.moved, 0) AS balance
    FROM live_charges lc
    LEFT JOIN (SELECT charge_id, SUM(amount) AS moved FROM charge_moves GROUP BY charge_id) m
      ON m.charge_id = lc.charge_id
    UNION ALL
    SELECT 'invoice', li.invoice_id, li.client_id, 'self-pay', li.aged_from, li.total - COALESCE(m.moved, 0)
    FROM live_invoices li
    LEFT JOIN (SELECT invoice_id, SUM(amount) AS moved FROM invoice_moves GROUP BY invoice_id) m
      ON m.invoice_id = li.invoice_id
)
"""

# The same items from the running totals the ledger and invoice projections keep, valid when
# nothing is recorded at or after %(t)s (`_SETTLED`): what "as of today" reads, without history.
# A charge moved onto a draft invoice still owes on the charge (the ledger has moved it already).
_ITEMS_NOW = """
drafted AS (
    SELECT l.charge_id, SUM(l.amount) AS amount FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.invoice_id
    WHERE i.practice_id = %(p)s AND i.sent_at IS NULL AND i.voided_at IS NULL AND l.charge_id IS NOT NULL
    GROUP BY l.charge_id
),
items AS (
    SELECT 'charge' AS kind, c.charge_id AS item_id, c.client_id, COALESCE(c.payer, 'self-pay') AS payer,
           c.service_date AS aged_from, c.balance + COALESCE(d.amount, 0) AS balance
    FROM billing_charges c LEFT JOIN drafted d ON d.charge_id = c.charge_id
    WHERE c.practice_id = %(p)s AND NOT c.voided AND c.balance <> 0 {client_filter}
    UNION ALL
    SELECT 'charge', c.charge_id, c.client_id, COALESCE(c.payer, 'self-pay'), c.service_date, d.amount
    FROM drafted d JOIN billing_charges c ON c.charge_id = d.charge_id
    WHERE NOT c.voided AND c.balance = 0 {client_filter}
    UNION ALL
    SELECT 'invoice', i.invoice_id, i.client_id, 'self-pay', i.issued_on, i.balance FROM invoices i
    WHERE i.practice_id = %(p)s AND i.sent_at IS NOT NULL AND i.voided_at IS NULL {invoice_filter}
)
"""
_SETTLED = """
SELECT NOT (
    EXISTS (SELECT 1 FROM billing_entries WHERE practice_id = %(p)s AND at >= %(t)s)
    OR EXISTS (SELECT 1 FROM billing_applications WHERE practice_id = %(p)s AND at >= %(t)s)
    OR EXISTS (SELECT 1 FROM billing_applications WHERE practice_id = %(p)s AND unapplied_at >= %(t)s)
    OR EXISTS (SELECT 1 FROM billing_charges WHERE practice_id = %(p)s AND entered_at >= %(t)s)
    OR EXISTS (SELECT 1 FROM billing_charges WHERE practice_id = %(p)s AND voided_at >= %(t)s)
    OR EXISTS (SELECT 1 FROM invoices WHERE practice_id = %(p)s AND sent_at >= %(t)s)
    OR EXISTS (SELECT 1 FROM invoices WHERE practice_id = %(p)s AND voided_at >= %(t)s)
    OR EXISTS (SELECT 1 FROM billing_report_invoice_write_offs WHERE practice_id = %(p)s AND at >= %(t)s)
    OR EXISTS (SELECT 1 FROM billing_refunds WHERE practice_id = %(p)s AND at >= %(t)s)
    OR EXISTS (SELECT 1 FROM billing_payments WHERE practice_id = %(p)s AND received_at >= %(t)s)
) AS settled
"""

# Payment money not applied (nor refunded) at %(t)s: a patient payment is the client's credit, an
# insurance payment the payer's (an 835's money counts as applied once posted to charges).
_UNAPPLIED = """
SELECT {key} AS key, SUM(GREATEST(p.amount - COALESCE(a.applied, 0) - COALESCE(r.refunded, 0)
                                  - COALESCE(e.posted, 0), 0)) AS unapplied
FROM (SELECT payment_id, client_id, amount,
             CASE WHEN method = 'insurance' THEN COALESCE(payer, 'unknown payer') ELSE 'self-pay' END AS payer
      FROM billing_payments WHERE practice_id = %(p)s AND received_at < %(t)s {client_filter}) p
LEFT JOIN (SELECT payment_id, SUM(amount) AS applied FROM billing_applications
           WHERE practice_id = %(p)s AND at < %(t)s AND (unapplied_at IS NULL OR unapplied_at >= %(t)s)
           GROUP BY payment_id) a ON a.payment_id = p.payment_id
LEFT JOIN (SELECT payment_id, SUM(amount) AS refunded FROM billing_refunds
           WHERE practice_id = %(p)s AND at < %(t)s GROUP BY payment_id) r ON r.payment_id = p.payment_id
LEFT JOIN (SELECT payment_id, SUM(amount) AS posted FROM billing_entries
           WHERE practice_id = %(p)s AND kind = 'payment' AND source = 'remittance' AND at < %(t)s
           GROUP BY payment_id) e ON e.payment_id = p.payment_id
GROUP BY 1
"""

_UNAPPLIED_NOW = """
SELECT {key} AS key, SUM(GREATEST(p.unapplied - COALESCE(e.posted, 0), 0)) AS unapplied
FROM (SELECT payment_id, client_id, unapplied,
             CASE WHEN method = 'insurance' THEN COALESCE(payer, 'unknown payer') ELSE 'self-pay' END AS payer
      FROM billing_payments WHERE practice_id = %(p)s AND unapplied <> 0 {client_filter}) p
LEFT JOIN (SELECT payment_id, SUM(amount) AS posted FROM billing_entries
           WHERE practice_id = %(p)s AND kind = 'payment' AND source = 'remittance'
           GROUP BY payment_id) e ON e.payment_id = p.payment_id
GROUP BY 1
"""

# Money moved in [%(s)s, %(e)s) with its dimensions (clinician, cpt, payer, method): see MEASURES.
_MOVES = """
moves AS (
    SELECT 'charges' AS measure, c.clinician_id, c.cpt, COALESCE(c.payer, 'self-pay') AS payer,
           NULL::text AS method, c.amount
    FROM billing_charges c WHERE c.practice_id = %(p)s AND c.entered_at >= %(s)s AND c.entered_at < %(e)s
    UNION ALL
    SELECT 'voided', c.clinician_id, c.cpt, COALESCE(c.payer, 'self-pay'), NULL, c.amount
    FROM billing_charges c WHERE c.practice_id = %(p)s AND c.voided_at >= %(s)s AND c.voided_at < %(e)s
    UNION ALL
    SELECT 'payments', c.clinician_id, c.cpt,
           CASE WHEN x.target = 'charge' THEN COALESCE(c.payer, 'self-pay') ELSE 'self-pay' END, pm.method, x.amount
    FROM (
        SELECT payment_id, target, target_id, amount FROM billing_applications
        WHERE practice_id = %(p)s AND at >= %(s)s AND at < %(e)s
        UNION ALL
        SELECT payment_id, target, target_id, -amount FROM billing_applications
        WHERE practice_id = %(p)s AND unapplied_at >= %(s)s AND unapplied_at < %(e)s
    ) x
    JOIN billing_payments pm ON pm.payment_id = x.payment_id
    LEFT JOIN billing_charges c ON x.target = 'charge' AND c.charge_id = x.target_id
    UNION ALL
    SELECT CASE e.kind WHEN 'payment' THEN 'payments' WHEN 'write_off' THEN 'write_offs' ELSE 'adjustments' END,
           c.clinician_id, c.cpt, COALESCE(c.payer, 'self-pay'),
           CASE WHEN e.kind = 'payment' THEN COALESCE(pm.method, 'insurance') END, e.amount
    FROM billing_entries e
    JOIN billing_charges c ON c.charge_id = e.charge_id
    LEFT JOIN billing_payments pm ON pm.payment_id = e.payment_id
    WHERE e.practice_id = %(p)s AND e.at >= %(s)s AND e.at < %(e)s
      AND (e.kind IN ('adjustment', 'write_off') OR (e.kind = 'payment' AND e.source = 'remittance'))
    UNION ALL
    SELECT m.measure, NULL, NULL, 'self-pay', NULL, v.sign * m.amount
    FROM invoices i
    CROSS JOIN LATERAL (SELECT COALESCE(SUM(l.amount), 0) AS service FROM invoice_lines l
                        WHERE l.invoice_id = i.invoice_id AND l.kind = 'service') s
    CROSS JOIN LATERAL (VALUES (1, i.sent_at), (-1, i.voided_at)) v (sign, moment)
    CROSS JOIN LATERAL (VALUES ('invoice_service', s.service), ('invoice_tax', i.tax),
                               ('invoice_discount', i.discount)) m (measure, amount)
    WHERE i.practice_id = %(p)s AND i.sent_at IS NOT NULL AND v.moment >= %(s)s AND v.moment < %(e)s
    UNION ALL
    SELECT 'write_offs', NULL, NULL, 'self-pay', NULL, w.amount FROM billing_report_invoice_write_offs w
    WHERE w.practice_id = %(p)s AND w.at >= %(s)s AND w.at < %(e)s
    UNION ALL
    SELECT 'write_offs', NULL, NULL, 'self-pay', NULL, -w.amount
    FROM invoices i JOIN billing_report_invoice_write_offs w ON w.invoice_id = i.invoice_id
    WHERE i.practice_id = %(p)s AND i.voided_at >= %(s)s AND i.voided_at < %(e)s
    UNION ALL
    SELECT 'refunds', NULL, NULL,
           CASE WHEN pm.method = 'insurance' THEN COALESCE(pm.payer, 'unknown payer') ELSE 'self-pay' END,
           pm.method, r.amount
    FROM billing_refunds r JOIN billing_payments pm ON pm.payment_id = r.payment_id
    WHERE r.practice_id = %(p)s AND r.at >= %(s)s AND r.at < %(e)s
    UNION ALL
    SELECT 'received', NULL, NULL,
           CASE WHEN pm.method = 'insurance' THEN COALESCE(pm.payer, 'unknown payer') ELSE 'self-pay' END,
           pm.method, pm.amount
    FROM billing_payments pm
    WHERE pm.practice_id = %(p)s AND pm.received_on >= %(first)s AND pm.received_on <= %(last)s
)
"""

# A client's money moving in [%(s)s, %(e)s), for a statement: one row per movement, oldest first.
_STATEMENT = """
SELECT * FROM (
    SELECT c.entered_at AS at, 'charge' AS kind, c.amount, c.service_date, c.cpt, c.line_ref AS reference,
           NULL::text AS payer, NULL::text AS method
    FROM billing_charges c
    WHERE c.practice_id = %(p)s AND c.client_id = %(c)s AND c.entered_at >= %(s)s AND c.entered_at < %(e)s
    UNION ALL
    SELECT c.voided_at, 'charge_voided', -c.amount, c.service_date, c.cpt, c.line_ref, NULL, NULL
    FROM billing_charges c
    WHERE c.practice_id = %(p)s AND c.client_id = %(c)s AND c.voided_at >= %(s)s AND c.voided_at < %(e)s
    UNION ALL
    SELECT x.at, x.kind, x.amount, c.service_date, c.cpt, COALESCE(i.number, pm.check_number), pm.payer, pm.method
    FROM (
        SELECT payment_id, target, target_id, at, 'payment' AS kind, -amount AS amount FROM billing_applications
        WHERE practice_id = %(p)s AND at >= %(s)s AND at < %(e)s
        UNION ALL
        SELECT payment_id, target, target_id, unapplied_at, 'payment_unapplied', amount FROM billing_applications
        WHERE practice_id = %(p)s AND unapplied_at >= %(s)s AND unapplied_at < %(e)s
    ) x
    JOIN billing_payments pm ON pm.payment_id = x.payment_id
    LEFT JOIN billing_charges c ON x.target = 'charge' AND c.charge_id = x.target_id
    LEFT JOIN invoices i ON x.target = 'invoice' AND i.invoice_id = x.target_id
    WHERE COALESCE(c.client_id, i.client_id) = %(c)s
    UNION ALL
    SELECT e.at, CASE WHEN e.kind = 'payment' THEN 'insurance_payment' ELSE e.kind END, -e.amount, c.service_date,
           c.cpt, CASE WHEN e.kind = 'payment' THEN c.claim_number ELSE e.group_code || '-' || e.reason_code END,
           COALESCE(pm.payer, c.payer), pm.method
    FROM billing_entries e
    JOIN billing_charges c ON c.charge_id = e.charge_id
    LEFT JOIN billing_payments pm ON pm.payment_id = e.payment_id
    WHERE e.practice_id = %(p)s AND e.client_id = %(c)s AND e.at >= %(s)s AND e.at < %(e)s
      AND (e.kind IN ('adjustment', 'write_off') OR (e.kind = 'payment' AND e.source = 'remittance'))
    UNION ALL
    SELECT v.moment, v.kind, v.sign * (i.total - COALESCE(cl.amount, 0)), i.issued_on, NULL, i.number, NULL, NULL
    FROM invoices i
    CROSS JOIN LATERAL (SELECT SUM(l.amount) AS amount FROM invoice_lines l
                        WHERE l.invoice_id = i.invoice_id AND l.charge_id IS NOT NULL) cl
    CROSS JOIN LATERAL (VALUES (1, i.sent_at, 'invoice'), (-1, i.voided_at, 'invoice_voided')) v (sign, moment, kind)
    WHERE i.practice_id = %(p)s AND i.client_id = %(c)s AND i.sent_at IS NOT NULL
      AND v.moment >= %(s)s AND v.moment < %(e)s
    UNION ALL
    SELECT w.at, 'invoice_write_off', -w.amount, i.issued_on, NULL, i.number, NULL, NULL
    FROM billing_report_invoice_write_offs w JOIN invoices i ON i.invoice_id = w.invoice_id
    WHERE w.practice_id = %(p)s AND w.client_id = %(c)s AND w.at >= %(s)s AND w.at < %(e)s
    UNION ALL
    SELECT i.voided_at, 'invoice_write_off_voided', w.amount, i.issued_on, NULL, i.number, NULL, NULL
    FROM billing_report_invoice_write_offs w JOIN invoices i ON i.invoice_id = w.invoice_id
    WHERE w.practice_id = %(p)s AND w.client_id = %(c)s AND i.voided_at >= %(s)s AND i.voided_at < %(e)s
) m
ORDER BY at, kind, reference
"""


@dataclass(frozen=True)
class AgingRow:
    """One client's or payer's open balances at a moment (`key` None: payments with no client)."""

    key: str | None
    current: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d91_120: Decimal
    over_120: Decimal
    credit_balances: Decimal
    """Items with a negative balance (overpaid), as a positive amount."""
    unapplied: Decimal
    """Payment money received and neither applied nor refunded."""
    items: int


@dataclass(frozen=True)
class MeasureRow:
    key: str | None
    measures: dict[str, Decimal]


@dataclass(frozen=True)
class StatementMove:
    at: datetime
    kind: str  # charge | charge_voided | payment | payment_unapplied | insurance_payment | adjustment |
    # write_off | invoice | invoice_voided | invoice_write_off | invoice_write_off_voided
    amount: Decimal  # + raises the client's balance, - lowers it
    service_date: date | None
    cpt: str | None
    reference: str | None
    payer: str | None
    method: str | None


@dataclass(frozen=True)
class MetricCounts:
    lag_days: dict[int, int]
    completed_sessions: int
    charged_sessions: int
    contractual_adjustments: Decimal
    reimbursed: Decimal
    sessions_paid: int
    claims_billed: int
    claims_accepted: int


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


class BillingReportsView(View):
    tables = ("billing_report_invoice_write_offs", "billing_reports_invoices")

    # --- aging and balances ---------------------------------------------------------------------

    def aging(self, practice_id: UUID, t: datetime, as_of: date, by: str, client_id: UUID | None = None,
              from_history: bool = False) -> list[AgingRow]:
        """Open items at `t` per client or payer, aged in days from `as_of` back to the charge's
        service date or the invoice's issue date; credits apart. `from_history` recomputes the
        balances from the dated movements even when the running totals would do."""
        key = AGING_KEYS[by]
        params: dict[str, Any] = {"p": practice_id, "t": t, "d": as_of, "c": client_id}
        now = self.settled(practice_id, t) and not from_history
        sql = "WITH " + self._items(now, client_id) + f"""
            SELECT {key} AS key,
                COALESCE(SUM(balance) FILTER (WHERE balance > 0 AND age <= 30), 0) AS current,
                COALESCE(SUM(balance) FILTER (WHERE balance > 0 AND age BETWEEN 31 AND 60), 0) AS d31_60,
                COALESCE(SUM(balance) FILTER (WHERE balance > 0 AND age BETWEEN 61 AND 90), 0) AS d61_90,
                COALESCE(SUM(balance) FILTER (WHERE balance > 0 AND age BETWEEN 91 AND 120), 0) AS d91_120,
                COALESCE(SUM(balance) FILTER (WHERE balance > 0 AND age > 120), 0) AS over_120,
                COALESCE(SUM(-balance) FILTER (WHERE balance < 0), 0) AS credit_balances,
                COUNT(*) AS items
            FROM (SELECT *, %(d)s::date - aged_from AS age FROM items WHERE balance <> 0) x
            GROUP BY 1"""
        rows: dict[str | None, dict[str, Any]] = {r["key"]: dict(r) for r in self.query(sql, params)}
        unapplied = _UNAPPLIED_NOW if now else _UNAPPLIED
        payment_filter = "" if client_id is None else "AND client_id = %(c)s"
        for r in self.query(unapplied.format(key="p." + ("client_id::text" if by == "client" else "payer"),
                                             client_filter=payment_filter), params):
            if r["unapplied"]:
                row = rows.setdefault(r["key"], {"key": r["key"], **dict.fromkeys(BUCKETS, ZERO),
                                                 "credit_balances": ZERO, "items": 0})
                row["unapplied"] = r["unapplied"]
        return sorted(
            (AgingRow(key=k, **{b: _money(v[b]) for b in BUCKETS}, credit_balances=_money(v["credit_balances"]),
                      unapplied=_money(v.get("unapplied")), items=int(v["items"]))
             for k, v in rows.items()),
            key=lambda r: (r.key is None, r.key or ""),
        )

    def settled(self, practice_id: UUID, t: datetime) -> bool:
        """Whether nothing of the practice's money is recorded at or after `t` (so the running
        totals are its balances at `t`)."""
        return bool(self.query(_SETTLED, {"p": practice_id, "t": t})[0]["settled"])

    @staticmethod
    def _items(now: bool, client_id: UUID | None) -> str:
        charge_filter, invoice_filter = ("", "") if client_id is None else (
            "AND c.client_id = %(c)s", "AND i.client_id = %(c)s")
        return (_ITEMS_NOW if now else _ITEMS).format(client_filter=charge_filter, invoice_filter=invoice_filter)

    def open_balance(self, practice_id: UUID, t: datetime, client_id: UUID | None = None,
                     from_history: bool = False) -> Decimal:
        """The sum of every open item's balance at `t` (negative ones included)."""
        now = self.settled(practice_id, t) and not from_history
        sql = "WITH " + self._items(now, client_id) + " SELECT COALESCE(SUM(balance), 0) AS balance FROM items"
        return _money(self.query(sql, {"p": practice_id, "t": t, "c": client_id})[0]["balance"])

    def ledger_balance(self, practice_id: UUID) -> Decimal:
        """Open balances now, from the running totals the ledger and invoice projections keep
        (charges moved onto a draft invoice still count on the charge): the independent check of
        `open_balance`."""
        rows = self.query(
            """SELECT
                 (SELECT COALESCE(SUM(balance), 0) FROM billing_charges WHERE practice_id = %(p)s AND NOT voided)
               + (SELECT COALESCE(SUM(balance), 0) FROM invoices
                  WHERE practice_id = %(p)s AND sent_at IS NOT NULL AND voided_at IS NULL)
               + (SELECT COALESCE(SUM(l.amount), 0) FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.invoice_id
                  WHERE i.practice_id = %(p)s AND i.sent_at IS NULL AND i.voided_at IS NULL
                    AND l.charge_id IS NOT NULL) AS balance""",
            {"p": practice_id},
        )
        return _money(rows[0]["balance"])

    # --- money moved over a range ---------------------------------------------------------------

    def moved(self, practice_id: UUID, s: datetime, e: datetime, first: date, last: date, by: str | None
              ) -> list[MeasureRow]:
        """Every measure of MEASURES moved in [s, e) (`received`: received on a local date from
        `first` to `last`), per value of the dimension `by`, or in total (`by` None). A value
        with no meaning for a movement (an adjustment's method) is the row None."""
        key = DIMENSIONS[by] if by is not None else "NULL::text"
        sql = "WITH " + _MOVES + f" SELECT {key} AS key, measure, SUM(amount) AS amount FROM moves GROUP BY 1, 2"
        params = {"p": practice_id, "s": s, "e": e, "first": first, "last": last}
        rows: dict[str | None, dict[str, Decimal]] = {}
        for r in self.query(sql, params):
            rows.setdefault(r["key"], dict.fromkeys(MEASURES, ZERO))[r["measure"]] = _money(r["amount"])
        return sorted((MeasureRow(k, v) for k, v in rows.items()), key=lambda r: (r.key is None, r.key or ""))

    def statement_moves(self, practice_id: UUID, client_id: UUID, s: datetime, e: datetime) -> list[StatementMove]:
        rows = self.query(_STATEMENT, {"p": practice_id, "c": client_id, "s": s, "e": e})
        return [StatementMove(**{**r, "amount": _money(r["amount"])}) for r in rows]

    def unapplied(self, practice_id: UUID, t: datetime, client_id: UUID) -> Decimal:
        template = _UNAPPLIED_NOW if self.settled(practice_id, t) else _UNAPPLIED
        rows = self.query(template.format(key="p.client_id::text", client_filter="AND client_id = %(c)s"),
                          {"p": practice_id, "t": t, "c": client_id})
        return _money(sum((r["unapplied"] for r in rows), ZERO))

    # --- revenue metrics ------------------------------------------------------------------------

    def metric_counts(self, practice_id: UUID, s: datetime, e: datetime, first: date, last: date, time_zone: str
                      ) -> MetricCounts:
        p = {"p": practice_id, "s": s, "e": e, "first": first, "last": last, "tz": time_zone,
             "co": CONTRACTUAL_GROUP, "carc": CONTRACTUAL_REASON, "denied": DENIED, "reversal": REVERSAL}
        lags = {int(r["lag"]): int(r["n"]) for r in self.query(
            "SELECT GREATEST((entered_at AT TIME ZONE %(tz)s)::date - service_date, 0) AS lag, COUNT(*) AS n "
            "FROM billing_charges WHERE practice_id = %(p)s AND entered_at >= %(s)s AND entered_at < %(e)s "
            "GROUP BY 1", p)}
        visits = self.query(
            "SELECT COUNT(*) AS completed, COUNT(charge_id) AS charged FROM billing_visits "
            "WHERE practice_id = %(p)s AND service_date >= %(first)s AND service_date <= %(last)s "
            "AND completed_at < %(e)s", p)[0]
        contractual = self.query(
            "SELECT COALESCE(SUM(amount), 0) AS amount FROM billing_entries WHERE practice_id = %(p)s "
            "AND at >= %(s)s AND at < %(e)s AND kind IN ('adjustment', 'write_off') AND group_code = %(co)s "
            "AND reason_code = %(carc)s", p)[0]["amount"]
        paid = self.query(
            """SELECT COUNT(*) FILTER (WHERE paid > 0) AS sessions,
                      COALESCE(SUM(paid) FILTER (WHERE paid > 0), 0) AS paid
               FROM (SELECT charge_id, SUM(amount) AS paid FROM (
                   SELECT target_id AS charge_id, amount FROM billing_applications
                   WHERE practice_id = %(p)s AND target = 'charge' AND at >= %(s)s AND at < %(e)s
                   UNION ALL
                   SELECT target_id, -amount FROM billing_applications
                   WHERE practice_id = %(p)s AND target = 'charge' AND unapplied_at >= %(s)s AND unapplied_at < %(e)s
                   UNION ALL
                   SELECT charge_id, amount FROM billing_entries
                   WHERE practice_id = %(p)s AND kind = 'payment' AND source = 'remittance'
                     AND at >= %(s)s AND at < %(e)s
               ) x GROUP BY charge_id) y""", p)[0]
        claims = self.query(
            """WITH billed AS (
                   SELECT claim_number, charge_id FROM billing_charges
                   WHERE practice_id = %(p)s AND billed_at >= %(s)s AND billed_at < %(e)s AND claim_number IS NOT NULL
               ), answered AS (
                   SELECT DISTINCT unnest(charge_ids) AS charge_id FROM remittance_claims
                   WHERE practice_id = %(p)s AND status IN ('matched', 'resolved')
                     AND claim_status NOT IN (%(denied)s, %(reversal)s)
               )
               SELECT COUNT(DISTINCT b.claim_number) AS billed,
                      COUNT(DISTINCT b.claim_number) FILTER (WHERE a.charge_id IS NOT NULL) AS accepted
               FROM billed b LEFT JOIN answered a ON a.charge_id = b.charge_id""", p)[0]
        return MetricCounts(
            lag_days=lags, completed_sessions=int(visits["completed"]), charged_sessions=int(visits["charged"]),
            contractual_adjustments=_money(contractual), reimbursed=_money(paid["paid"]),
            sessions_paid=int(paid["sessions"]), claims_billed=int(claims["billed"]),
            claims_accepted=int(claims["accepted"]),
        )


class ClientDirectoryNames:
    """Client display names from the client directory (decrypted with each client's key); an
    erased client has none."""

    def __init__(self, directory: ClientDirectoryView, chunk: int = 500) -> None:
        self.directory = directory
        self.chunk = chunk

    def names(self, practice_id: UUID, client_ids: list[UUID]) -> dict[UUID, str]:
        found: dict[UUID, str] = {}
        ids = sorted(set(client_ids))
        for start in range(0, len(ids), self.chunk):
            part = ids[start:start + self.chunk]
            page = self.directory.search(practice_id, only_clients=part, care_team_any=None, limit=len(part))
            found.update({c.client_id: f"{c.first_name} {c.last_name}".strip() for c in page.items if not c.erased})
        return found


class BillingReports(Projection[BillingReportsView]):
    """Dates invoice write-offs (the rest of the reports' facts are in other read models)."""

    name = "billing_reports"
    topics = (Invoice.Drafted.TOPIC, Invoice.WrittenOff.TOPIC)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: Invoice.Drafted, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO billing_reports_invoices (invoice_id, practice_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id),
        )

    @process_event.register
    def _(self, e: Invoice.WrittenOff, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO billing_report_invoice_write_offs (invoice_id, entry_id, practice_id, client_id, amount, at) "
            "SELECT %s, %s, practice_id, %s, %s, %s FROM billing_reports_invoices WHERE invoice_id = %s "
            "ON CONFLICT DO NOTHING",
            (e.originator_id, e.entry_id, e.client_id, e.amount, e.at, e.originator_id),
        )
