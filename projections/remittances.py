"""Remittances (835 files) for the list, the detail and the review queue.

One row per file with the counts and totals of what it holds and of its latest matching run, one
row per claim with its latest outcome (a run records only the claims whose outcome changed, so
those rows are upserted), and the insurance payment each transaction set recorded (to name the
remittance a duplicate check was first posted from). No names or member ids: they stay in the
stored file.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from psycopg.types.json import Jsonb

from domain.errors import InvalidCommand
from domain.remittance.remittance import Remittance, claim_key_of
from projections.base import View

REMITTANCE_COLUMNS = (
    "remittance_id, practice_id, filename, sha256, size, uploaded_at, uploaded_by, interchanges, transaction_sets, "
    "claims, payers, balanced, findings, charged, paid, adjusted, patient_responsibility, provider_adjustments, "
    "payment, level_1, level_2, level_3, level_4, manual, unmatched, auto_match_rate, unmatched_paid, "
    "posted_payments, posted_adjustments, postings, duplicates, refused, run, rules_version, last_run_at, status"
)
CLAIM_COLUMNS = (
    "remittance_id, claim_key, practice_id, transaction_set, position, claim_number, payer_claim_number, "
    "claim_status, charged, paid, reversal, level, confidence, charge_ids, suggestions, reasons, status, posted, run"
)
_UPSERT_CLAIM = (
    f"INSERT INTO remittance_claims ({CLAIM_COLUMNS}) SELECT r.remittance_id, %s, r.practice_id, %s, %s, %s, %s, %s, "
    "%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s FROM remittances r WHERE r.remittance_id = %s "
    "ON CONFLICT (remittance_id, claim_key) DO UPDATE SET level = EXCLUDED.level, confidence = EXCLUDED.confidence, "
    "charge_ids = EXCLUDED.charge_ids, suggestions = EXCLUDED.suggestions, reasons = EXCLUDED.reasons, "
    "status = EXCLUDED.status, run = EXCLUDED.run"
)
_TOTALS = ("charged", "paid", "adjusted", "patient_responsibility", "provider_adjustments", "payment")


@dataclass(frozen=True)
class RemittanceRow:
    remittance_id: UUID
    practice_id: UUID
    filename: str
    sha256: str
    size: int
    uploaded_at: datetime
    uploaded_by: UUID
    interchanges: int
    transaction_sets: int
    claims: int
    payers: list[str]
    balanced: bool
    findings: int
    charged: Decimal
    paid: Decimal
    adjusted: Decimal
    patient_responsibility: Decimal
    provider_adjustments: Decimal
    payment: Decimal
    level_1: int
    level_2: int
    level_3: int
    level_4: int
    manual: int
    unmatched: int
    auto_match_rate: Decimal
    unmatched_paid: Decimal
    posted_payments: Decimal
    posted_adjustments: Decimal
    postings: int
    duplicates: int
    refused: int
    run: int
    rules_version: int | None
    last_run_at: datetime | None
    status: str


@dataclass(frozen=True)
class ClaimRow:
    remittance_id: UUID
    claim_key: str
    practice_id: UUID
    transaction_set: int
    position: int
    claim_number: str
    payer_claim_number: str
    claim_status: str
    charged: Decimal | None
    paid: Decimal | None
    reversal: bool
    level: str
    confidence: Decimal
    charge_ids: list[UUID]
    suggestions: list[dict[str, Any]]
    reasons: list[str]
    status: str
    posted: Decimal
    run: int


@dataclass(frozen=True)
class ReviewItem:
    """A claim waiting for a person, with the file it came in."""

    claim: ClaimRow
    filename: str
    uploaded_at: datetime


@dataclass(frozen=True)
class Page:
    items: list[RemittanceRow]
    next_cursor: str | None


def _cursor(uploaded_at: datetime, remittance_id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{uploaded_at.isoformat()}|{remittance_id}".encode()).decode()


def _uncursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        at, rid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), UUID(rid)
    except ValueError:
        raise InvalidCommand("The cursor is not one this API returned.", field="cursor") from None


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class RemittancesView(View):
    tables = ("remittances", "remittance_claims", "remittance_payments")

    def remittances(self, practice_id: UUID, *, cursor: str | None = None, limit: int = 50) -> Page:
        """Newest upload first."""
        sql = f"SELECT {REMITTANCE_COLUMNS} FROM remittances WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        if cursor:
            sql += " AND (uploaded_at, remittance_id) < (%s, %s)"
            params += list(_uncursor(cursor))
        sql += " ORDER BY uploaded_at DESC, remittance_id DESC LIMIT %s"
        params.append(limit + 1)
        rows = [RemittanceRow(**r) for r in self.query(sql, params)]
        more, rows = len(rows) > limit, rows[:limit]
        return Page(rows, _cursor(rows[-1].uploaded_at, rows[-1].remittance_id) if more and rows else None)

    def remittance(self, practice_id: UUID, remittance_id: UUID) -> RemittanceRow | None:
        rows = self.query(f"SELECT {REMITTANCE_COLUMNS} FROM remittances WHERE practice_id = %s AND remittance_id = %s",
                          (practice_id, remittance_id))
        return RemittanceRow(**rows[0]) if rows else None

    def claims(self, practice_id: UUID, remittance_id: UUID, *, status: str | None = None, limit: int = 500,
               offset: int = 0) -> list[ClaimRow]:
        """In file order."""
        sql = f"SELECT {CLAIM_COLUMNS} FROM remittance_claims WHERE practice_id = %s AND remittance_id = %s"
        params: list[Any] = [practice_id, remittance_id]
        if status is not None:
            sql += " AND status = %s"
            params.append(status)
        sql += " ORDER BY transaction_set, position LIMIT %s OFFSET %s"
        params += [limit, offset]
        return [ClaimRow(**r) for r in self.query(sql, params)]

    def review_queue(self, practice_id: UUID, *, limit: int = 200) -> list[ReviewItem]:
        """Claims no rule matched, oldest upload first, in file order."""
        columns = ", ".join(f"c.{c.strip()}" for c in CLAIM_COLUMNS.split(","))
        rows = self.query(
            f"SELECT {columns}, r.filename, r.uploaded_at FROM remittance_claims c "
            "JOIN remittances r ON r.remittance_id = c.remittance_id "
            "WHERE c.practice_id = %s AND c.status = 'review' "
            "ORDER BY r.uploaded_at, c.remittance_id, c.transaction_set, c.position LIMIT %s",
            (practice_id, limit),
        )
        out = []
        for r in rows:
            row = dict(r)
            filename, uploaded_at = row.pop("filename"), row.pop("uploaded_at")
            out.append(ReviewItem(ClaimRow(**row), filename, uploaded_at))
        return out

    def payment_owner(self, practice_id: UUID, payment_id: UUID) -> UUID | None:
        rows = self.query("SELECT remittance_id FROM remittance_payments WHERE practice_id = %s AND payment_id = %s",
                          (practice_id, payment_id))
        return rows[0]["remittance_id"] if rows else None


R = Remittance


class Remittances(Projection[RemittancesView]):
    name = "remittances"
    topics = (
        R.Uploaded.TOPIC, R.Read.TOPIC, R.Matched.TOPIC, R.Posted.TOPIC, R.PostingsRefused.TOPIC,
        R.ClaimResolved.TOPIC, R.DuplicatePaymentFound.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    def _sql(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> None:
        self.view.curs.execute(sql, params)

    @process_event.register
    def _(self, e: Remittance.Uploaded, tracking: Tracking) -> None:
        self._sql(
            "INSERT INTO remittances (remittance_id, practice_id, filename, sha256, size, uploaded_at, uploaded_by, "
            "status) VALUES (%s, %s, %s, %s, %s, %s, %s, 'uploaded') ON CONFLICT DO NOTHING",
            (e.originator_id, e.practice_id, e.filename, e.sha256, e.size, e.uploaded_at, e.by),
        )

    @process_event.register
    def _(self, e: Remittance.Read, tracking: Tracking) -> None:
        s = e.summary
        totals = {name: Decimal(s["totals"][name] or "0") for name in _TOTALS}
        self._sql(
            "UPDATE remittances SET interchanges = %(interchanges)s, transaction_sets = %(sets)s, claims = %(claims)s, "
            "payers = %(payers)s, balanced = %(balanced)s, findings = %(findings)s, charged = %(charged)s, "
            "paid = %(paid)s, adjusted = %(adjusted)s, patient_responsibility = %(patient_responsibility)s, "
            "provider_adjustments = %(provider_adjustments)s, payment = %(payment)s, unmatched = %(claims)s "
            "WHERE remittance_id = %(id)s",
            {"id": e.originator_id, "interchanges": s["interchanges"], "sets": len(s["transaction_sets"]),
             "claims": s["claims"], "payers": list(s["payers"]), "balanced": s["balanced"],
             "findings": len(s["findings"]), **totals},
        )

    @process_event.register
    def _(self, e: Remittance.Matched, tracking: Tracking) -> None:
        s = e.summary
        levels = s["matched_by_level"]
        self._sql(
            "UPDATE remittances SET level_1 = %(l1)s, level_2 = %(l2)s, level_3 = %(l3)s, level_4 = %(l4)s, "
            "manual = %(manual)s, unmatched = %(unmatched)s, auto_match_rate = %(rate)s, "
            "unmatched_paid = %(unmatched_paid)s, run = %(run)s, rules_version = %(version)s, last_run_at = %(at)s, "
            "status = %(status)s WHERE remittance_id = %(id)s",
            {"id": e.originator_id, "l1": levels["1"], "l2": levels["2"], "l3": levels["3"], "l4": levels["4"],
             "manual": levels["manual"], "unmatched": s["unmatched"], "rate": Decimal(s["auto_match_rate"]),
             "unmatched_paid": Decimal(s["unmatched_paid"] or "0"), "run": e.run, "version": e.rules_version,
             "at": e.at, "status": "needs_review" if s["unmatched"] else "processed"},
        )
        rows = [
            (r["claim_key"], r["transaction_set"], r["position"], r["claim_number"], r["payer_claim_number"],
             r["claim_status"], _money(r["charged"]), _money(r["paid"]), r["reversal"], r["level"],
             Decimal(r["confidence"]), [UUID(c) for c in r["charge_ids"]], Jsonb(r["suggestions"]),
             list(r["reasons"]), r["status"], e.run, e.originator_id)
            for r in e.results
        ]
        if rows:
            self.view.curs.executemany(_UPSERT_CLAIM, rows)

    @process_event.register
    def _(self, e: Remittance.Posted, tracking: Tracking) -> None:
        payments = adjustments = Decimal(0)
        per_claim: dict[str, Decimal] = {}
        for key, kind, amount in zip(e.keys, e.kinds, e.amounts, strict=True):
            if kind == "payment":
                payments += amount
                claim = claim_key_of(key)
                per_claim[claim] = per_claim.get(claim, Decimal(0)) + amount
            else:
                adjustments += amount
        self._sql(
            "UPDATE remittances SET posted_payments = posted_payments + %s, posted_adjustments = posted_adjustments "
            "+ %s, postings = postings + %s WHERE remittance_id = %s",
            (payments, adjustments, len(e.keys), e.originator_id),
        )
        if per_claim:
            self.view.curs.executemany(
                "UPDATE remittance_claims SET posted = posted + %s WHERE remittance_id = %s AND claim_key = %s",
                [(amount, e.originator_id, claim) for claim, amount in per_claim.items()],
            )
        if e.payment_ids:
            self.view.curs.executemany(
                "INSERT INTO remittance_payments (payment_id, remittance_id, practice_id) SELECT %s, remittance_id, "
                "practice_id FROM remittances WHERE remittance_id = %s ON CONFLICT DO NOTHING",
                [(p, e.originator_id) for p in e.payment_ids],
            )

    @process_event.register
    def _(self, e: Remittance.PostingsRefused, tracking: Tracking) -> None:
        self._sql("UPDATE remittances SET refused = %s WHERE remittance_id = %s", (len(e.refused), e.originator_id))

    @process_event.register
    def _(self, e: Remittance.ClaimResolved, tracking: Tracking) -> None:
        self._sql(
            "UPDATE remittance_claims SET level = 'manual', status = %s, charge_ids = %s, suggestions = '[]' "
            "WHERE remittance_id = %s AND claim_key = %s",
            ("resolved" if e.charge_ids else "dismissed", list(e.charge_ids), e.originator_id, e.claim_key),
        )

    @process_event.register
    def _(self, e: Remittance.DuplicatePaymentFound, tracking: Tracking) -> None:
        self._sql("UPDATE remittances SET duplicates = duplicates + 1 WHERE remittance_id = %s", (e.originator_id,))
