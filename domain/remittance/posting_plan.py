"""What a matched 835 posts to charges, as keyed postings, and a summary of a matching run.

A posting's key is `{claim key}/{where}/{kind}/{index}/{part}`: `where` the service line index or
`claim`; `kind` `payment` or `adjustment` (also on a reversal's postings); `index` the CAS position
in that line or claim (0 for the payment); `part` the position of the charge among those the amount
is split over. The same file with the same matches gives the same keys, so `difference` against
the keys already posted yields only what is new, and nothing is posted twice.

Amounts:
- A line's SVC03 is a payment, each of its CAS an adjustment (group, CARC, the line's LQ RARCs).
  A line paying several charges (a bundle) splits its amounts over them (`split_bundle`): each
  charge's share of the line's total is in proportion to its billed amount and never above it,
  and each amount adds up to the cent; where that cannot hold (negative amounts, a total above
  the billed) every amount is split in proportion to the billed amounts, as claim-level ones are.
- Claim-level CAS, and for a claim with lines the payment difference CLP04 - sum(SVC03) that
  claim-level CAS causes, are split over all the claim's charges the same way. A claim without
  lines splits CLP04 and its CAS so. Per claim, payments add up to CLP04 and adjustments to all
  CAS, to the cent. Zero amounts are not posted.
- A reversal (CLP02 22) posts kind `reversal`, `reversed_kind` saying what each undoes. When the
  claim it reverses is in the same file, its postings negate that claim's exactly, `reverses`
  naming the key undone; otherwise they are the reversal's own (negative) amounts, and CLP07, the
  payer claim number of the original, says what they undo.

Only automatic matches (levels 1-4) at `auto_post_min_confidence` or above and a person's
resolutions post. PLB provider adjustments touch no charge: `provider_adjustments` lists them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Literal, cast
from uuid import UUID

from domain.remittance.era835.model import ZERO, Adjustment, EraFile, TransactionSet
from domain.remittance.matching import MANUAL, REVIEW, ClaimMatch, ClaimRef, claims_of
from domain.remittance.matching_rules import MatchingRules

PostingKind = Literal["payment", "adjustment", "reversal"]
BaseKind = Literal["payment", "adjustment"]
CENT = Decimal("0.01")
_RATE = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Posting:
    key: str
    claim_key: str
    charge_id: UUID
    kind: PostingKind
    amount: Decimal
    group: str | None = None
    carc: str | None = None
    rarcs: tuple[str, ...] = ()
    line_index: int | None = None
    payer_claim_number: str = ""
    service_date: date | None = None
    paid_on: date | None = None
    reverses: str | None = None
    reversed_kind: BaseKind | None = None

    @property
    def base_kind(self) -> BaseKind:
        """What the posting moves: a payment or an adjustment (a reversal undoes one of them)."""
        return self.reversed_kind or cast(BaseKind, self.kind)


def allocate(total: Decimal, weights: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """`total` split in proportion to `weights` (equally when they add up to nothing): each share
    rounded toward zero to the cent, the remainder to the last, so the shares add up to `total`."""
    if not weights:
        return ()
    base = sum(weights, ZERO)
    if base <= 0 or any(w < 0 for w in weights):
        weights, base = [Decimal(1)] * len(weights), Decimal(len(weights))
    shares = [(total * w / base).quantize(CENT, rounding=ROUND_DOWN) for w in weights[:-1]]
    return (*shares, total - sum(shares, ZERO))


def _largest_remainder(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`total` (>= 0) in proportion to `weights` (>= 0, adding up to more than nothing): shares
    rounded down to the cent, the cents left one each to the largest remainders (later first on a
    tie). A share never exceeds `total * weight / sum(weights)` rounded up, so never the weight
    when `total <= sum(weights)`."""
    base = sum(weights, ZERO)
    exact = [total * w / base for w in weights]
    shares = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left = int((total - sum(shares, ZERO)) / CENT)
    order = sorted(range(len(weights)), key=lambda i: (exact[i] - shares[i], i), reverse=True)
    for i in order[:left]:
        shares[i] += CENT
    return shares


def split_bundle(totals: Sequence[Decimal], billed: Sequence[Decimal]) -> list[tuple[Decimal, ...]] | None:
    """A bundled line's amounts (payment, then each CAS) split over its charges (billed amounts):
    `[amount][charge]`. Each amount adds up to itself and each charge receives at most its billed
    amount (its share of the line's total, then of each amount in turn in proportion to what it
    has left), so the bundle leaves no charge negative. None when an amount is negative or the
    amounts exceed the billed total: then `allocate` splits each amount on its own."""
    grand = sum(totals, ZERO)
    if any(t < 0 for t in totals) or any(b <= 0 for b in billed) or grand > sum(billed, ZERO) or grand <= 0:
        return None
    left = _largest_remainder(grand, billed)
    out: list[tuple[Decimal, ...]] = []
    for total in totals:
        shares = _largest_remainder(total, left) if sum(left, ZERO) > 0 else [ZERO] * len(left)
        left = [a - b for a, b in zip(left, shares, strict=True)]
        out.append(tuple(shares))
    return out


def _paid_on(ts: TransactionSet) -> date | None:
    return ts.payment.effective_date if ts.payment and ts.payment.effective_date else ts.production_date


class _ClaimPlan:
    def __init__(self, ref: ClaimRef, match: ClaimMatch) -> None:
        self.ref, self.match = ref, match
        self.weights = {c.charge_id: c.amount for c in match.charges}
        self.dates = {c.charge_id: c.service_date for c in match.charges}
        self.paid_on = _paid_on(ref.transaction_set)
        self.out: list[Posting] = []

    def emit(self, where: int | None, kind: BaseKind, index: int, total: Decimal, ids: Sequence[UUID],
             adjustment: Adjustment | None = None, rarcs: tuple[str, ...] = (), day: date | None = None,
             shares: Sequence[Decimal] | None = None) -> None:
        claim, reversal = self.ref.claim, self.match.is_reversal
        place = "claim" if where is None else str(where)
        amounts = shares if shares is not None else allocate(total, [self.weights[i] for i in ids])
        for part, (charge_id, amount) in enumerate(zip(ids, amounts, strict=True)):
            if amount == 0:
                continue
            self.out.append(Posting(
                key=f"{self.ref.key}/{place}/{kind}/{index}/{part}", claim_key=self.ref.key, charge_id=charge_id,
                kind="reversal" if reversal else kind, amount=amount,
                group=adjustment.group if adjustment else None, carc=adjustment.reason if adjustment else None,
                rarcs=rarcs, line_index=where, payer_claim_number=claim.payer_claim_control_number,
                service_date=day or claim.statement_from or self.dates[charge_id], paid_on=self.paid_on,
                reversed_kind=kind if reversal else None,
            ))

    def build(self) -> tuple[Posting, ...]:
        claim, line_charges = self.ref.claim, self.match.line_charges
        adjustments = claim.all_adjustments
        paid = claim.paid
        if claim.lines and all(i in line_charges for i in range(len(claim.lines))):
            for i, line in enumerate(claim.lines):
                ids, day = line_charges[i], line.service_from or line.service_to
                totals = [line.paid, *(a.amount for a in line.adjustments)]
                shares = split_bundle(totals, [self.weights[c] for c in ids]) if len(ids) > 1 else None
                self.emit(i, "payment", 0, line.paid, ids, day=day, shares=shares[0] if shares else None)
                for j, adjustment in enumerate(line.adjustments):
                    self.emit(i, "adjustment", j, adjustment.amount, ids, adjustment, line.remark_codes, day,
                              shares[j + 1] if shares else None)
            adjustments = claim.adjustments
            paid = claim.paid - sum((line.paid for line in claim.lines), ZERO)
        ids = self.match.charge_ids
        self.emit(None, "payment", 0, paid, ids)
        for j, adjustment in enumerate(adjustments):
            self.emit(None, "adjustment", j, adjustment.amount, ids, adjustment, claim.remark_codes)
        return tuple(self.out)


def _undo(ref: ClaimRef, original: str, postings: Sequence[Posting]) -> tuple[Posting, ...]:
    return tuple(
        Posting(
            key=ref.key + p.key[len(original):], claim_key=ref.key, charge_id=p.charge_id, kind="reversal",
            amount=-p.amount, group=p.group, carc=p.carc, rarcs=p.rarcs, line_index=p.line_index,
            payer_claim_number=ref.claim.payer_claim_control_number or p.payer_claim_number,
            service_date=p.service_date, paid_on=_paid_on(ref.transaction_set), reverses=p.key,
            reversed_kind=p.base_kind,
        )
        for p in postings
    )


def _posts(match: ClaimMatch, rules: MatchingRules) -> bool:
    return match.matched and (match.level == MANUAL or match.confidence >= rules.auto_post_min_confidence)


def plan_postings(era: EraFile, matches: Sequence[ClaimMatch], rules: MatchingRules) -> tuple[Posting, ...]:
    """Every posting the matches call for, in file order (see the module docstring)."""
    by_key = {m.claim_key: m for m in matches}
    planned: dict[str, tuple[Posting, ...]] = {}
    for ref in claims_of(era):
        match = by_key.get(ref.key)
        if match is None or not _posts(match, rules):
            continue
        original = planned.get(match.reverses or "", ())
        if match.is_reversal and match.reverses and original:
            planned[ref.key] = _undo(ref, match.reverses, original)
        else:
            planned[ref.key] = _ClaimPlan(ref, match).build()
    return tuple(p for postings in planned.values() for p in postings)


def difference(planned: Sequence[Posting], already_posted: Collection[str]) -> tuple[Posting, ...]:
    """The planned postings whose keys are not posted yet (each key once)."""
    seen = set(already_posted)
    new: list[Posting] = []
    for posting in planned:
        if posting.key not in seen:
            seen.add(posting.key)
            new.append(posting)
    return tuple(new)


@dataclass(frozen=True, slots=True)
class ProviderLevelAdjustment:
    """One PLB amount: it changes the check, not a charge. Positive reduces the payment."""

    key: str
    provider_id: str
    fiscal_period: date | None
    reason: str
    reference: str
    amount: Decimal
    trace_number: str
    paid_on: date | None


def provider_adjustments(era: EraFile) -> tuple[ProviderLevelAdjustment, ...]:
    """PLB items keyed `{ISA13}/{ST02}/{transaction set position}/plb/{segment}/{item}`."""
    return tuple(
        ProviderLevelAdjustment(
            key=f"{ts.interchange_control_number}/{ts.control_number}/{ts.index}/plb/{s}/{i}",
            provider_id=plb.provider_id, fiscal_period=plb.fiscal_period, reason=item.reason,
            reference=item.reference, amount=item.amount, trace_number=ts.trace.number if ts.trace else "",
            paid_on=_paid_on(ts),
        )
        for ts in era.transaction_sets
        for s, plb in enumerate(ts.provider_adjustments)
        for i, item in enumerate(plb.items)
    )


@dataclass(frozen=True, slots=True)
class MatchSummary:
    """Counts by level and the file's totals (net of reversals). `unmatched`: claims in review;
    `auto_match_rate`: levels 1-4 over all claims; `unmatched_paid`: CLP04 waiting on review."""

    claims: int
    level_1: int
    level_2: int
    level_3: int
    level_4: int
    manual: int
    unmatched: int
    reversals: int
    auto_match_rate: Decimal
    charged: Decimal
    paid: Decimal
    adjusted: Decimal
    patient_responsibility: Decimal
    provider_adjustments: Decimal
    unmatched_paid: Decimal

    @property
    def matched_by_level(self) -> dict[str, int]:
        return {"1": self.level_1, "2": self.level_2, "3": self.level_3, "4": self.level_4,
                "manual": self.manual, "5": self.unmatched}


def summarize(era: EraFile, matches: Sequence[ClaimMatch]) -> MatchSummary:
    by_key = {m.claim_key: m for m in matches}
    refs = claims_of(era)
    levels = [by_key[r.key].level if r.key in by_key else REVIEW for r in refs]
    counts = {level: levels.count(level) for level in (1, 2, 3, 4, MANUAL, REVIEW)}
    automatic = sum(counts[level] for level in (1, 2, 3, 4))
    claims = [r.claim for r in refs]
    return MatchSummary(
        claims=len(refs), level_1=counts[1], level_2=counts[2], level_3=counts[3], level_4=counts[4],
        manual=counts[MANUAL], unmatched=counts[REVIEW], reversals=sum(c.is_reversal for c in claims),
        auto_match_rate=(Decimal(automatic) / len(refs)).quantize(_RATE) if refs else Decimal(0),
        charged=sum((c.charge for c in claims), ZERO),
        paid=sum((c.paid for c in claims), ZERO),
        adjusted=sum((a.amount for c in claims for a in c.all_adjustments), ZERO),
        patient_responsibility=sum((c.patient_responsibility or ZERO for c in claims), ZERO),
        provider_adjustments=sum((p.total for ts in era.transaction_sets for p in ts.provider_adjustments), ZERO),
        unmatched_paid=sum((r.claim.paid for r, level in zip(refs, levels, strict=True) if level == REVIEW), ZERO),
    )
