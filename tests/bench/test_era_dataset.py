"""The bench remittance dataset: a realistic history and an 835 that our reader finds balanced."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from functools import cache

import pytest

from bench.era_dataset import Dataset, generate_remittance_dataset
from domain.remittance.era835 import Claim, EraFile, balance_report, read_era

CLAIMS = 200
SEEDS = (1, 2, 3)


@cache
def dataset(seed: int) -> Dataset:
    return generate_remittance_dataset(seed, CLAIMS)


@cache
def era(seed: int) -> EraFile:
    return read_era(dataset(seed).era_bytes)


def kinds(data: Dataset) -> Counter[str]:
    return Counter(kind for truth in data.truth for kind in truth.kinds)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_file_reads_cleanly_and_balances_at_every_level(seed: int) -> None:
    read = era(seed)
    assert [f for f in read.all_findings if f.severity == "error"] == []
    assert read.all_findings == ()
    report = balance_report(read)
    assert report.findings == ()  # line, claim and transaction balancing, and CLP05 = sum(PR)
    assert [(ts.balanced, ts.claims_balanced) for ts in report.transaction_sets] == [(True, True)]


@pytest.mark.parametrize("seed", SEEDS)
def test_one_clp_per_answered_claim_plus_one_per_reversal(seed: int) -> None:
    data, read = dataset(seed), era(seed)
    reversals = [c for c in read.claims if c.is_reversal]
    assert data.reversals == len(reversals) >= 2
    assert len(read.claims) == CLAIMS + len(reversals) == len(data.truth) == data.totals.claims


@pytest.mark.parametrize("seed", SEEDS)
def test_totals_agree_with_what_the_reader_sees(seed: int) -> None:
    data, read = dataset(seed), era(seed)
    [ts] = read.transaction_sets
    totals = data.totals
    assert ts.payment is not None and ts.payment.amount == totals.payment > 0
    assert sum((c.paid for c in read.claims), Decimal(0)) == totals.paid
    assert sum((c.charge for c in read.claims), Decimal(0)) == totals.charged
    assert sum((a.amount for c in read.claims for a in c.all_adjustments), Decimal(0)) == totals.adjusted
    assert sum((p.total for p in ts.provider_adjustments), Decimal(0)) == totals.plb
    assert totals.charged - totals.adjusted == totals.paid
    assert totals.paid - totals.plb == totals.payment


@pytest.mark.parametrize("seed", SEEDS)
def test_the_messy_parts_are_all_there(seed: int) -> None:
    data, read = dataset(seed), era(seed)
    seen = kinds(data)
    statuses = Counter(c.status for c in read.claims)
    assert statuses["4"] == seen["denied"] == 8  # 4 %
    assert statuses["22"] == seen["reversal"] == seen["correction"] == 4  # 2 %
    assert seen["mangled_number"] + seen["missing_number"] == 6  # 3 %
    assert seen["unknown_patient"] == 2  # 1 %
    assert seen["bundled"] == 4  # 2 %
    assert seen["claim_level_pr"] >= 1
    lines = sum(len(c.lines) for c in read.claims if not c.is_reversal)
    dropped = sum(1 for c in read.claims for line in c.lines if line.procedure.modifiers == () and _billed_mods(data, line.control_number))
    assert 0.03 * lines <= dropped <= 0.07 * lines
    reasons = Counter(item.reason for ts in read.transaction_sets for p in ts.provider_adjustments for item in p.items)
    assert reasons["L6"] >= 1 and reasons["WO"] >= 1 and reasons["FB"] >= 1
    groups = Counter((a.group, a.reason) for c in read.claims for a in c.all_adjustments)
    assert groups[("CO", "45")] > CLAIMS
    assert {("PR", "1"), ("PR", "2"), ("PR", "3"), ("CO", "97")} <= set(groups)
    assert {reason for group, reason in groups if group == "CO"} & {"16", "197", "29"}
    paid = [c for c in read.claims if c.status == "1"]
    assert all(c.paid >= 0 for c in paid) and sum(c.paid > 0 for c in paid) > 0.7 * len(paid)  # the rest go to January deductibles


def _billed_mods(data: Dataset, line_ref: str) -> tuple[str, ...]:
    return next((c.modifiers for c in data.history.charges if c.line_ref == line_ref), ())


@pytest.mark.parametrize("seed", SEEDS)
def test_truth_ties_every_clp_to_the_billed_history(seed: int) -> None:
    data, read = dataset(seed), era(seed)
    charges = {c.line_ref: c for c in data.history.charges}
    members = {client.member_id for client in data.history.clients}
    claim_numbers = set(data.history.claim_numbers)
    for claim, truth in zip(read.claims, data.truth, strict=True):
        assert claim.status == truth.status
        if "unknown_patient" in truth.kinds:
            assert truth.claim_number is None and truth.line_refs == ()
            assert claim.patient_control_number not in claim_numbers
            ids = {p.id for p in (claim.patient, claim.insured) if p is not None}
            assert not ids & members
            continue
        assert truth.claim_number in claim_numbers
        assert len(truth.line_refs) == len(claim.lines)
        for line, refs in zip(claim.lines, truth.line_refs, strict=True):
            billed = [charges[ref] for ref in refs]
            assert {c.claim_number for c in billed} == {truth.claim_number}
            assert abs(line.charge) == sum((c.amount for c in billed), Decimal(0))
            assert line.procedure.code == billed[0].cpt
            assert line.service_from == billed[0].service_date
            if "bundled" in truth.kinds and len(refs) == 2:
                assert line.original_procedure is not None and line.original_procedure.code == billed[1].cpt
        if {"mangled_number", "missing_number"} & set(truth.kinds):
            assert claim.patient_control_number != truth.claim_number
            assert claim.patient_control_number not in claim_numbers
            assert all(line.control_number == "" for line in claim.lines)  # no REF*6R either: levels 2-4
        else:
            assert claim.patient_control_number == truth.claim_number
            assert [line.control_number for line in claim.lines] == [refs[0] for refs in truth.line_refs]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_reversal_negates_the_earlier_payment_and_precedes_its_correction(seed: int) -> None:
    data, read = dataset(seed), era(seed)
    prior = read_era(data.prior_era_bytes)
    assert balance_report(prior).findings == ()
    originals = {c.payer_claim_control_number: c for c in prior.claims}
    assert len(originals) == data.reversals == data.prior_totals.claims
    claims = read.claims
    for index, claim in enumerate(claims):
        if not claim.is_reversal:
            continue
        original = originals[claim.payer_claim_control_number]
        assert claim.patient_control_number == original.patient_control_number
        assert (claim.charge, claim.paid, claim.patient_responsibility) == (
            -original.charge, -original.paid, -(original.patient_responsibility or 0))
        assert [a.amount for a in claim.all_adjustments] == [-a.amount for a in original.all_adjustments]
        correction: Claim = claims[index + 1]
        assert (correction.status, correction.patient_control_number) == ("1", claim.patient_control_number)
        assert correction.payer_claim_control_number != claim.payer_claim_control_number
        assert correction.charge == original.charge and correction.paid > original.paid


def test_the_history_is_a_plausible_practice() -> None:
    data = dataset(1)
    history = data.history
    clients = {c.key for c in history.clients}
    assert {c.client_key for c in history.charges} == clients
    assert len({c.line_ref for c in history.charges}) == len(history.charges)
    assert len({c.member_id for c in history.clients}) == len(history.clients)
    answered = {t.claim_number for t in data.truth if t.claim_number}
    pending = set(history.claim_numbers) - answered
    assert 0 < len(pending) < 0.15 * len(history.claim_numbers)  # some claims still with the payer
    per_claim = Counter(c.claim_number for c in history.charges)
    assert set(per_claim.values()) <= {1, 2, 3, 4} and max(per_claim.values()) >= 3
    fees = dict(history.fees)
    assert {c.cpt for c in history.charges} <= set(fees) and {"90837", "90834", "90791"} <= {c.cpt for c in history.charges}
    assert all(c.amount == fees[c.cpt] * c.units for c in history.charges)
    span = max(c.service_date for c in history.charges) - min(c.service_date for c in history.charges)
    assert 50 <= span.days <= 62
    assert {m for c in history.charges for m in c.modifiers} >= {"95", "HO"}


def test_a_seed_always_gives_the_same_bytes() -> None:
    assert generate_remittance_dataset(7, 60) == generate_remittance_dataset(7, 60)
    assert generate_remittance_dataset(7, 60).era_bytes != generate_remittance_dataset(8, 60).era_bytes
