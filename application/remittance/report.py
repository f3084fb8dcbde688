"""The processing report of a remittance, built from the aggregate alone (no read-model lag)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.remittance.remittance import Remittance, claim_key_of

ZERO = Decimal("0.00")
PAYMENT_NOT_RECORDED = "transaction-set/"


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(frozen=True)
class Totals:
    charged: Decimal
    paid: Decimal
    """sum(CLP04)"""
    adjusted: Decimal
    """every CAS amount, claim and line level"""
    patient_responsibility: Decimal
    provider_adjustments: Decimal
    """sum of PLB amounts (positive reduces the payment)"""
    payment: Decimal
    """sum of BPR02: the money the payers sent"""
    posted_payments: Decimal
    posted_adjustments: Decimal
    unmatched_paid: Decimal
    """CLP04 of the claims waiting in the review queue"""


@dataclass(frozen=True)
class BalanceFinding:
    level: str
    """file | interchange | transaction | claim | line"""
    severity: str
    code: str
    message: str
    location: str
    expected: Decimal | None
    actual: Decimal | None


@dataclass(frozen=True)
class TransactionSetReport:
    index: int
    control_number: str
    trace: str
    payer: str
    payer_id: str
    payment: Decimal | None
    paid_on: date | None
    claims: int
    balanced: bool
    claims_balanced: bool
    posting: str
    """recorded (the payment recorded, matched claims posted) | duplicate | not_posted"""
    note: str = ""


@dataclass(frozen=True)
class DuplicatePayment:
    transaction_set: int
    trace: str
    payer_id: str
    payment_id: UUID
    other_remittance_id: UUID | None


@dataclass(frozen=True)
class RefusedPosting:
    key: str
    charge_id: UUID | None
    reason: str


@dataclass(frozen=True)
class Suggestion:
    client_id: UUID
    charge_ids: tuple[UUID, ...]
    score: Decimal
    how: str


@dataclass(frozen=True)
class ClaimOutcome:
    claim_key: str
    transaction_set: int
    position: int
    claim_number: str
    payer_claim_number: str
    claim_status: str
    charged: Decimal | None
    paid: Decimal | None
    reversal: bool
    reverses: str | None
    level: str
    """1-4 automatic, manual (a person), 5 (the review queue)"""
    confidence: Decimal
    charge_ids: tuple[UUID, ...]
    status: str
    """matched | review | resolved | dismissed"""
    reasons: tuple[str, ...]
    suggestions: tuple[Suggestion, ...]
    posted: Decimal
    """payments posted to charges for this claim (net of reversals)"""

    @classmethod
    def of(cls, result: dict[str, Any], posted: Decimal) -> ClaimOutcome:
        return cls(
            claim_key=result["claim_key"], transaction_set=result["transaction_set"], position=result["position"],
            claim_number=result["claim_number"], payer_claim_number=result["payer_claim_number"],
            claim_status=result["claim_status"], charged=_money(result["charged"]), paid=_money(result["paid"]),
            reversal=result["reversal"], reverses=result["reverses"], level=result["level"],
            confidence=Decimal(result["confidence"]), charge_ids=tuple(UUID(c) for c in result["charge_ids"]),
            status=result["status"], reasons=tuple(result["reasons"]),
            suggestions=tuple(
                Suggestion(UUID(s["client_id"]), tuple(UUID(c) for c in s["charge_ids"]), Decimal(s["score"]), s["how"])
                for s in result["suggestions"]
            ),
            posted=posted,
        )


@dataclass(frozen=True)
class ProcessingReport:
    remittance_id: UUID
    practice_id: UUID
    filename: str
    sha256: str
    size: int
    uploaded_at: datetime
    status: str
    """uploaded | needs_review | processed"""
    run: int
    rules_version: int | None
    interchanges: int
    transaction_set_count: int
    claims: int
    reversals: int
    matched_by_level: dict[str, int]
    """"1".."4" automatic levels and "manual"; the review queue is `unmatched`"""
    unmatched: int
    auto_match_rate: Decimal
    totals: Totals
    balanced: bool
    findings: tuple[BalanceFinding, ...]
    transaction_sets: tuple[TransactionSetReport, ...]
    duplicates: tuple[DuplicatePayment, ...]
    postings_written: int
    """postings written by this call (a report read later: by the latest run)"""
    refused: tuple[RefusedPosting, ...]
    created: bool = False
    """True when this upload stored the file (False: the same bytes were uploaded before)"""

    @property
    def imbalances(self) -> tuple[BalanceFinding, ...]:
        """The balancing findings proper (rules 1-4): line, claim and transaction imbalances."""
        codes = {"service-line-balance", "claim-balance", "transaction-balance", "negative-payment"}
        return tuple(f for f in self.findings if f.code in codes)


def _posted_totals(remittance: Remittance) -> tuple[Decimal, Decimal, dict[str, Decimal]]:
    payments = adjustments = ZERO
    per_claim: dict[str, Decimal] = {}
    for key, (_, kind, amount) in remittance.posted.items():
        if kind == "payment":
            payments += amount
            claim = claim_key_of(key)
            per_claim[claim] = per_claim.get(claim, ZERO) + amount
        else:
            adjustments += amount
    return payments, adjustments, per_claim


def claim_outcomes(remittance: Remittance, status: str | None = None) -> list[ClaimOutcome]:
    _, _, per_claim = _posted_totals(remittance)
    return [
        ClaimOutcome.of(r, per_claim.get(r["claim_key"], ZERO)) for r in remittance.results.values()
        if status is None or r["status"] == status
    ]


def _transaction_sets(remittance: Remittance, summary: dict[str, Any]) -> list[TransactionSetReport]:
    refused = {r["key"]: r["reason"] for r in remittance.refused if r["key"].startswith(PAYMENT_NOT_RECORDED)}
    out = []
    for ts in summary["transaction_sets"]:
        index = ts["index"]
        note = refused.get(f"{PAYMENT_NOT_RECORDED}{index}", "")
        if index in remittance.duplicates:
            posting, note = "duplicate", "another remittance recorded this payment (same payer and trace)"
        elif note or remittance.run == 0:
            posting = "not_posted"
        else:
            posting = "recorded"
        out.append(TransactionSetReport(
            index=index, control_number=ts["control_number"], trace=ts["trace"], payer=ts["payer"],
            payer_id=ts["payer_id"], payment=_money(ts["payment"]),
            paid_on=date.fromisoformat(ts["paid_on"]) if ts["paid_on"] else None, claims=ts["claims"],
            balanced=ts["balanced"], claims_balanced=ts["claims_balanced"], posting=posting, note=note,
        ))
    return out


def build_report(remittance: Remittance, *, written: int | None = None, created: bool = False) -> ProcessingReport:
    summary = remittance.summary or {"transaction_sets": [], "totals": {}, "findings": []}
    counts = remittance.match_summary
    totals = summary["totals"]
    posted_payments, posted_adjustments, _ = _posted_totals(remittance)
    by_level = dict(counts.get("matched_by_level", {}))
    unmatched = int(by_level.pop("5", summary.get("claims", 0) if remittance.run == 0 else 0))

    def total(name: str) -> Decimal:
        return Decimal(totals.get(name) or "0.00")

    return ProcessingReport(
        remittance_id=remittance.id, practice_id=remittance.practice_id, filename=remittance.filename,
        sha256=remittance.sha256, size=remittance.size, uploaded_at=remittance.uploaded_at, status=remittance.status,
        run=remittance.run, rules_version=remittance.rules_version, interchanges=summary.get("interchanges", 0),
        transaction_set_count=len(summary["transaction_sets"]), claims=summary.get("claims", 0),
        reversals=summary.get("reversals", 0),
        matched_by_level={level: int(by_level.get(level, 0)) for level in ("1", "2", "3", "4", "manual")},
        unmatched=unmatched, auto_match_rate=Decimal(counts.get("auto_match_rate", "0")),
        totals=Totals(
            charged=total("charged"), paid=total("paid"), adjusted=total("adjusted"),
            patient_responsibility=total("patient_responsibility"),
            provider_adjustments=total("provider_adjustments"), payment=total("payment"),
            posted_payments=posted_payments, posted_adjustments=posted_adjustments,
            unmatched_paid=Decimal(counts.get("unmatched_paid") or "0.00"),
        ),
        balanced=summary.get("balanced", True),
        findings=tuple(
            BalanceFinding(f["level"], f["severity"], f["code"], f["message"], f["location"], _money(f["expected"]),
                           _money(f["actual"]))
            for f in summary["findings"]
        ),
        transaction_sets=tuple(_transaction_sets(remittance, summary)),
        duplicates=tuple(
            DuplicatePayment(d["transaction_set"], d["trace"], d["payer_id"], d["payment_id"],
                             d["other_remittance_id"])
            for d in remittance.duplicates.values()
        ),
        postings_written=remittance.written.get(remittance.run, 0) if written is None else written,
        refused=tuple(
            RefusedPosting(r["key"], UUID(r["charge_id"]) if r["charge_id"] else None, r["reason"])
            for r in remittance.refused
        ),
        created=created,
    )
