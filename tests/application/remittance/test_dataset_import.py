"""A realistic practice history and its payer's 835s (bench/era_dataset.py): the earlier file, then
the one with reversals, dropped modifiers, bundles, mangled claim numbers, denials, unknown
patients and PLB. Most claims match automatically and none to another claim's charges; every
matched claim's payment lands on its charges to the cent; importing again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.era_dataset import generate_remittance_dataset
from domain.billing.charge import Charge
from tests.application.remittance.support import make_office, seed_history

CLAIMS = 150


def test_a_payers_month_matches_and_posts(container: Any, tmp_path: Path) -> None:
    data = generate_remittance_dataset(4, CLAIMS)
    office = make_office(container, tmp_path, batch_size=40)
    office.clock.set(datetime(2026, 4, 1, 15, tzinfo=UTC))
    refs = seed_history(office, data.history)

    prior = office.import_(data.prior_era_bytes, "prior.835")
    report = office.import_(data.era_bytes, "march.835")

    assert prior.unmatched == 0 and prior.balanced
    assert report.claims == data.totals.claims and report.balanced and report.findings == ()
    assert report.auto_match_rate >= Decimal("0.85")
    assert report.totals.payment == data.totals.payment
    with office.clerk():
        outcomes = office.service.claims(office.id, report.remittance_id)
    by_ref = {charge_id: ref for ref, charge_id in refs.items()}
    for outcome, truth in zip(outcomes, data.truth, strict=True):
        if outcome.status == "matched":
            assert truth.claim_number is not None, outcome
            answered = {ref for refs_ in truth.line_refs for ref in refs_}
            assert {by_ref[c] for c in outcome.charge_ids} <= answered | _same_claim(data, truth.claim_number)
            assert outcome.posted == outcome.paid, outcome
        else:
            assert outcome.status == "review" and outcome.posted == 0
    matched_paid = sum((o.paid or Decimal(0) for o in outcomes if o.status == "matched"), Decimal(0))
    assert report.totals.posted_payments == matched_paid

    with office.system():
        loaded = [office.k.store.load(c, Charge) for c in refs.values()]
    remitted = sum((e.amount for c in loaded for e in c.entries.values() if e.kind == "payment"), Decimal(0))
    assert remitted == prior.totals.posted_payments + report.totals.posted_payments
    assert all(c.amount == c.paid + c.adjusted + c.transferred + c.balance for c in loaded)

    head = office.head()
    again = office.import_(data.era_bytes, "march-again.835")
    assert (again.created, again.postings_written, office.head()) == (False, 0, head)


def _same_claim(data: Any, claim_number: str) -> set[str]:
    return {c.line_ref for c in data.history.charges if c.claim_number == claim_number}
