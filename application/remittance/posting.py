"""Writing planned postings to charges: payments and CAS adjustments (a reversal negates what it
undoes), each under the entry id `era:{remittance}:{posting key}` so a charge records it once.

PR-group adjustments (deductible, coinsurance, copay) are the patient's share: they are not
written off the charge but stay its open balance, which an invoice then moves to the client
(decision 0011). So they are never posted, and reversing them undoes nothing on the charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.billing.charge import Charge
from domain.billing.money import remark_codes
from domain.errors import DomainError
from domain.remittance.posting_plan import Posting


def patient_share(posting: Posting) -> bool:
    return posting.base_kind == "adjustment" and (posting.group or "").strip().upper() == "PR"


def entry_id(remittance_id: UUID, key: str) -> str:
    """Posting keys are unique within a file only; the remittance id scopes them."""
    return f"era:{remittance_id}:{key}"


@dataclass(frozen=True)
class Refusal:
    key: str
    charge_id: UUID | None
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "charge_id": str(self.charge_id) if self.charge_id else "", "reason": self.reason}


def _remarks(codes: tuple[str, ...]) -> list[str]:
    """The RARCs of the right shape; a payer's malformed remark code does not stop the posting."""
    kept: list[str] = []
    for code in codes:
        try:
            kept.extend(remark_codes([code]))
        except DomainError:
            continue
    return kept


def post_to(charge: Charge, posting: Posting, *, payment_id: UUID, remittance_id: UUID, at: datetime,
            by: UUID) -> Refusal | None:
    """Apply one posting (already on the charge: nothing happens); a refusal says why not."""
    entry = entry_id(remittance_id, posting.key)
    try:
        if posting.base_kind == "payment":
            charge.apply_payment(entry, payment_id, posting.amount, source="remittance", at=at,
                                 remittance_id=remittance_id, payer_claim_number=posting.payer_claim_number or None)
        else:
            charge.adjust(entry, kind="adjustment", group=posting.group or "", reason=posting.carc or "",
                          amount=posting.amount, at=at, by=by, source="remittance", remark=_remarks(posting.rarcs),
                          remittance_id=remittance_id)
    except DomainError as e:
        return Refusal(posting.key, charge.id, e.message)
    return None
