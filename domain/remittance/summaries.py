"""What a remittance's events record about its file and its matching runs, as plain values.

Money travels as two-place decimal strings and ids as strings, so a recorded summary or result
compares equal to a freshly computed one (that is how a re-run that changes nothing records
nothing). Findings keep the reader's order, message and location; `level` says where they are:
file, interchange, transaction, claim or line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.remittance.era835 import EraFile, Finding, Location, TransactionSet, balance_report
from domain.remittance.matching import ClaimMatch, ClaimRef, claims_of
from domain.remittance.posting_plan import MatchSummary, summarize
from domain.remittance.remittance import MANUAL, claim_status

CENTS = Decimal("0.01")


def cents(value: Decimal | None) -> str | None:
    """Two places ("12.50"); an amount with more places (a payer's error) is kept as sent."""
    if value is None:
        return None
    try:
        exact = value.quantize(CENTS)
    except InvalidOperation:
        return str(value)
    return str(exact if exact == value else value)


def finding_level(location: Location) -> str:
    if location.line_index is not None:
        return "line"
    if location.claim_index is not None:
        return "claim"
    if location.transaction_set is not None:
        return "transaction"
    if location.interchange is not None:
        return "interchange"
    return "file"


def finding_row(finding: Finding) -> dict[str, Any]:
    return {
        "level": finding_level(finding.location), "severity": str(finding.severity), "code": str(finding.code),
        "message": finding.message, "location": str(finding.location), "expected": cents(finding.expected),
        "actual": cents(finding.actual),
    }


def payer_id(ts: TransactionSet) -> str:
    """N1*PR's id (XV, PI ...), else TRN03 (the payer's EIN with a leading 1), else the payer's name."""
    if ts.payer is not None and ts.payer.id:
        return ts.payer.id
    if ts.trace is not None and ts.trace.originator_id:
        return ts.trace.originator_id
    return ts.payer.name if ts.payer is not None else ""


def payment_amount(ts: TransactionSet) -> Decimal | None:
    """BPR02 as money to the provider (negated when BPR03 says D); None without a BPR."""
    if ts.payment is None:
        return None
    return -ts.payment.amount if ts.payment.credit_debit == "D" else ts.payment.amount


def paid_on(ts: TransactionSet) -> date | None:
    if ts.payment is not None and ts.payment.effective_date is not None:
        return ts.payment.effective_date
    return ts.production_date


def file_summary(era: EraFile) -> dict[str, Any]:
    """Counts, transaction sets, payers, totals and every finding of `balance_report`."""
    report = balance_report(era)
    totals = summarize(era, ())
    sets = []
    for ts, balance in zip(era.transaction_sets, report.transaction_sets, strict=True):
        amount, day = payment_amount(ts), paid_on(ts)
        sets.append({
            "index": ts.index, "interchange": ts.interchange_control_number, "control_number": ts.control_number,
            "version": ts.version, "trace": ts.trace.number if ts.trace else "",
            "payer": ts.payer.name if ts.payer else "", "payer_id": payer_id(ts), "payment": cents(amount),
            "method": ts.payment.method if ts.payment else "",
            "paid_on": day.isoformat() if day else None, "claims": len(ts.claims), "balanced": balance.balanced,
            "claims_balanced": balance.claims_balanced,
        })
    payment = sum((payment_amount(ts) or Decimal(0) for ts in era.transaction_sets), Decimal(0))
    return {
        "interchanges": len(era.interchanges),
        "transaction_sets": sets,
        "claims": totals.claims,
        "reversals": totals.reversals,
        "payers": list(dict.fromkeys(s["payer"] for s in sets if s["payer"])),
        "totals": {
            "charged": cents(totals.charged), "paid": cents(totals.paid), "adjusted": cents(totals.adjusted),
            "patient_responsibility": cents(totals.patient_responsibility),
            "provider_adjustments": cents(totals.provider_adjustments), "payment": cents(payment),
        },
        "balanced": report.balanced,
        "findings": [finding_row(f) for f in report.findings],
    }


def _level(match: ClaimMatch) -> str:
    return MANUAL if match.level == MANUAL else str(match.level)


def claim_result(ref: ClaimRef, match: ClaimMatch) -> dict[str, Any]:
    """One claim's outcome, as `Remittance.Matched` records it (no names, ids as strings)."""
    claim = ref.claim
    charge_ids = [str(c) for c in match.charge_ids]
    level = _level(match)
    return {
        "claim_key": ref.key, "transaction_set": ref.transaction_set.index, "position": ref.index,
        "claim_number": claim.patient_control_number, "payer_claim_number": claim.payer_claim_control_number,
        "claim_status": claim.status, "charged": cents(claim.charge), "paid": cents(claim.paid),
        "reversal": claim.is_reversal, "reverses": match.reverses, "level": level,
        "confidence": str(match.confidence), "charge_ids": charge_ids, "status": claim_status(level, charge_ids),
        "reasons": list(match.reasons),
        "suggestions": [
            {"client_id": str(s.client_id), "charge_ids": [str(c) for c in s.charge_ids], "score": str(s.score),
             "how": s.how}
            for s in match.suggestions
        ],
    }


def claim_results(era: EraFile, matches: Sequence[ClaimMatch]) -> list[dict[str, Any]]:
    by_key = {m.claim_key: m for m in matches}
    return [claim_result(ref, by_key[ref.key]) for ref in claims_of(era) if ref.key in by_key]


def match_counts(summary: MatchSummary) -> dict[str, Any]:
    return {
        "claims": summary.claims, "matched_by_level": summary.matched_by_level, "unmatched": summary.unmatched,
        "reversals": summary.reversals, "auto_match_rate": str(summary.auto_match_rate),
        "unmatched_paid": cents(summary.unmatched_paid),
    }
