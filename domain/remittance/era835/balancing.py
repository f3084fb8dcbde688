"""The 835 balancing rules (X12 835 TR3; RFIs 2348, 2601, 222, 1604, 2548, 319).

1. Service line: SVC02 - sum(line CAS) = SVC03.
2. Claim: CLP03 - sum(claim and line CAS) = CLP04.
3. Transaction: BPR02 = sum(CLP04) - sum(PLB amounts).
4. BPR02 is never negative (a negative net is carried forward with PLB FB).
5. CLP05 = sum of PR-group adjustments; informational, and not checked on reversals.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.remittance.era835.model import (
    ZERO,
    Claim,
    EraFile,
    Finding,
    FindingCode,
    Location,
    Severity,
    TransactionSet,
)
from domain.remittance.era835.values import Notes

_PAYMENT_RULES = frozenset({FindingCode.TRANSACTION_BALANCE, FindingCode.NEGATIVE_PAYMENT, FindingCode.MISSING_SEGMENT})
_CLAIM_RULES = frozenset({FindingCode.SERVICE_LINE_BALANCE, FindingCode.CLAIM_BALANCE})


@dataclass(frozen=True, slots=True)
class TransactionSetBalance:
    """Balancing of one transaction set.

    `balanced` means the payment ties out (rules 3 and 4), which is what a posting clerk needs;
    `claims_balanced` additionally covers rules 1 and 2 for every claim and line. `findings`
    holds the reader's structural findings for the set followed by the balancing ones.
    """

    interchange_control_number: str
    transaction_set_control_number: str
    balanced: bool
    claims_balanced: bool
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class BalanceReport:
    transaction_sets: tuple[TransactionSetBalance, ...]
    file_findings: tuple[Finding, ...] = ()

    @property
    def balanced(self) -> bool:
        return all(ts.balanced for ts in self.transaction_sets)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return (*self.file_findings, *(f for ts in self.transaction_sets for f in ts.findings))

    @property
    def balanced_count(self) -> int:
        return sum(ts.balanced for ts in self.transaction_sets)


def balance_report(era: EraFile) -> BalanceReport:
    envelope = (*era.findings, *(f for i in era.interchanges for f in i.findings))
    return BalanceReport(tuple(check_transaction_set(ts) for ts in era.transaction_sets), envelope)


def check_transaction_set(ts: TransactionSet) -> TransactionSetBalance:
    notes = Notes(Location(ts.interchange_control_number, ts.control_number, ts.index))
    for index, claim in enumerate(ts.claims):
        _check_claim(claim, notes.at(claim_index=index, claim_id=claim.patient_control_number))
    _check_payment(ts, notes)
    codes = {f.code for f in notes.findings}
    return TransactionSetBalance(
        interchange_control_number=ts.interchange_control_number,
        transaction_set_control_number=ts.control_number,
        balanced=not codes & _PAYMENT_RULES,
        claims_balanced=not codes & (_PAYMENT_RULES | _CLAIM_RULES),
        findings=(*ts.findings, *notes.findings),
    )


def _check_claim(claim: Claim, notes: Notes) -> None:
    for index, line in enumerate(claim.lines):
        expected = line.charge - line.adjustment_total
        if expected != line.paid:
            notes.at(line_index=index).add(
                FindingCode.SERVICE_LINE_BALANCE,
                f"SVC02 {line.charge} - line CAS {line.adjustment_total} = {expected}, but SVC03 is {line.paid}.",
                Severity.ERROR,
                expected,
                line.paid,
            )
    adjustments = claim.all_adjustments
    total = sum((a.amount for a in adjustments), ZERO)
    expected = claim.charge - total
    if expected != claim.paid:
        notes.add(
            FindingCode.CLAIM_BALANCE,
            f"CLP03 {claim.charge} - claim and line CAS {total} = {expected}, but CLP04 is {claim.paid}.",
            Severity.ERROR,
            expected,
            claim.paid,
        )
    if claim.is_reversal:
        return
    patient_share = sum((a.amount for a in adjustments if a.group == "PR"), ZERO)
    stated = claim.patient_responsibility if claim.patient_responsibility is not None else ZERO
    if stated != patient_share:
        notes.add(
            FindingCode.PATIENT_RESPONSIBILITY,
            f"CLP05 is {stated} but the PR-group adjustments add up to {patient_share}.",
            Severity.INFO,
            patient_share,
            stated,
        )


def _check_payment(ts: TransactionSet, notes: Notes) -> None:
    if ts.payment is None:
        notes.add(FindingCode.MISSING_SEGMENT, "No BPR, so the payment cannot balance.", Severity.ERROR)
        return
    paid = sum((c.paid for c in ts.claims), ZERO)
    adjusted = sum((p.total for p in ts.provider_adjustments), ZERO)
    expected = paid - adjusted
    # BPR03 D: the money flows from the provider, so BPR02 states the negated net.
    actual = -ts.payment.amount if ts.payment.credit_debit == "D" else ts.payment.amount
    if expected != actual:
        notes.add(
            FindingCode.TRANSACTION_BALANCE,
            f"sum(CLP04) {paid} - sum(PLB) {adjusted} = {expected}, but BPR02 is {actual}.",
            Severity.ERROR,
            expected,
            actual,
        )
    if ts.payment.amount < ZERO:
        notes.add(
            FindingCode.NEGATIVE_PAYMENT,
            f"BPR02 is {ts.payment.amount}; a negative net belongs in PLB FB.",
            Severity.ERROR,
            ZERO,
            ts.payment.amount,
        )
