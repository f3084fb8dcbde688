"""The posting plan: what a matched 835 posts, keyed so that a re-run posts only the difference."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.remittance.candidates import ChargeCandidate
from domain.remittance.era835 import EraFile, read_era
from domain.remittance.matching import REVIEW, claims_of, match_claims
from domain.remittance.matching_rules import LATEST
from domain.remittance.posting_plan import (
    Posting,
    allocate,
    difference,
    plan_postings,
    provider_adjustments,
    split_bundle,
    summarize,
)
from tests.domain.remittance.test_matching import GRACE, charge, charge_id, clp, era, svc

D = Decimal
PAID_ON = date(2024, 1, 10)


def plan(parsed: EraFile, candidates: list[ChargeCandidate], **kw: object) -> tuple[Posting, ...]:
    matches = match_claims(parsed, candidates, LATEST, **kw)  # type: ignore[arg-type]
    return plan_postings(parsed, matches, LATEST)


def brief(postings: tuple[Posting, ...]) -> list[tuple[str, int, str, Decimal, str | None, str | None]]:
    """(key without the claim key's ISA/ST part, charge number, kind, amount, group, CARC)."""
    return [(p.key.removeprefix("000000101/0001/0/"), p.charge_id.fields[0], p.kind, p.amount, p.group, p.carc)
            for p in postings]


def test_line_payments_and_adjustments_with_group_carc_and_rarcs() -> None:
    first, second = charge(1), charge(2, cpt="97530", modifiers=(), amount="80.00")
    postings = plan(
        era(
            clp("CLM-1", "180.00", "130.00", pr="20.00"),
            svc("97110:GP", "100.00", "70.00", ref=first.line_ref, cas=("CO*45*10.00", "PR*3*20.00"), remarks=("N130",)),
            svc("97530", "80.00", "60.00", day="20240103", cas=("CO*45*20.00",)),
        ),
        [first, second],
    )

    assert brief(postings) == [
        ("0/0/payment/0/0", 1, "payment", D("70.00"), None, None),
        ("0/0/adjustment/0/0", 1, "adjustment", D("10.00"), "CO", "45"),
        ("0/0/adjustment/1/0", 1, "adjustment", D("20.00"), "PR", "3"),
        ("0/1/payment/0/0", 2, "payment", D("60.00"), None, None),
        ("0/1/adjustment/0/0", 2, "adjustment", D("20.00"), "CO", "45"),
    ]
    payment, co45 = postings[:2]
    assert (payment.claim_key, payment.line_index, payment.payer_claim_number) == ("000000101/0001/0/0", 0, "ICN1")
    assert (payment.service_date, payment.paid_on, payment.rarcs) == (date(2024, 1, 2), PAID_ON, ())
    assert postings[3].service_date == date(2024, 1, 3)
    assert (co45.rarcs, co45.reverses, co45.reversed_kind) == (("N130",), None, None)


def test_claim_level_amounts_are_allocated_by_billed_amount_to_the_cent() -> None:
    candidates = [charge(1), charge(2), charge(3)]
    postings = plan(era([*clp("CLM-1", "300.00", "200.00"), "CAS*CO*45*100.00"]), candidates)

    assert brief(postings) == [
        ("0/claim/payment/0/0", 1, "payment", D("66.66"), None, None),
        ("0/claim/payment/0/1", 2, "payment", D("66.66"), None, None),
        ("0/claim/payment/0/2", 3, "payment", D("66.68"), None, None),
        ("0/claim/adjustment/0/0", 1, "adjustment", D("33.33"), "CO", "45"),
        ("0/claim/adjustment/0/1", 2, "adjustment", D("33.33"), "CO", "45"),
        ("0/claim/adjustment/0/2", 3, "adjustment", D("33.34"), "CO", "45"),
    ]
    assert {p.service_date for p in postings} == {date(2024, 1, 2)}


def test_claim_level_cas_on_a_claim_with_lines_comes_out_of_the_line_payments() -> None:
    small, large = charge(1, amount="50.00"), charge(2, cpt="97530", modifiers=(), amount="150.00")
    postings = plan(
        era(
            [*clp("CLM-1", "200.00", "160.00", pr="40.00"), "CAS*PR*1*40.00"],
            svc("97110:GP", "50.00", "50.00"),
            svc("97530", "150.00", "150.00"),
        ),
        [small, large],
    )

    assert brief(postings) == [
        ("0/0/payment/0/0", 1, "payment", D("50.00"), None, None),
        ("0/1/payment/0/0", 2, "payment", D("150.00"), None, None),
        ("0/claim/payment/0/0", 1, "payment", D("-10.00"), None, None),
        ("0/claim/payment/0/1", 2, "payment", D("-30.00"), None, None),
        ("0/claim/adjustment/0/0", 1, "adjustment", D("10.00"), "PR", "1"),
        ("0/claim/adjustment/0/1", 2, "adjustment", D("30.00"), "PR", "1"),
    ]


def test_a_denial_posts_its_adjustments_and_no_payment() -> None:
    postings = plan(
        era(clp("CLM-1", "100.00", "0", status="4"), svc("97110:GP", "100.00", "0", cas=("CO*50*100.00",), remarks=("N115",))),
        [charge(1)],
    )

    assert brief(postings) == [("0/0/adjustment/0/0", 1, "adjustment", D("100.00"), "CO", "50")]
    assert postings[0].rarcs == ("N115",)


def test_a_bundled_line_splits_by_billed_amount() -> None:
    postings = plan(
        era(clp("CLM-1", "250.00", "200.00"), svc("97110:GP", "250.00", "200.00", cas=("CO*97*50.00",))),
        [charge(1, amount="150.00"), charge(2, cpt="97140", amount="100.00")],
    )

    assert brief(postings) == [
        ("0/0/payment/0/0", 1, "payment", D("120.00"), None, None),
        ("0/0/payment/0/1", 2, "payment", D("80.00"), None, None),
        ("0/0/adjustment/0/0", 1, "adjustment", D("30.00"), "CO", "97"),
        ("0/0/adjustment/0/1", 2, "adjustment", D("20.00"), "CO", "97"),
    ]


def test_a_bundled_line_under_the_kept_charges_reference_leaves_neither_charge_negative() -> None:
    kept = charge(1, cpt="90837", modifiers=(), amount="175.00")
    folded = charge(2, cpt="90785", modifiers=(), amount="200.00")
    postings = plan(
        era(clp("CLM-1", "375.00", "85.88", pr="21.47"),
            svc("90837", "375.00", "85.88", ref=kept.line_ref, original="90785",
                cas=("CO*45*67.65", "CO*97*200.00", "PR*2*21.47"))),
        [kept, folded],
    )

    posted = {c.charge_id: sum((p.amount for p in postings if p.charge_id == c.charge_id), D(0))
              for c in (kept, folded)}
    assert posted == {kept.charge_id: D("175.00"), folded.charge_id: D("200.00")}
    assert sum(p.amount for p in postings if p.kind == "payment") == D("85.88")
    assert sum(p.amount for p in postings if p.kind == "adjustment") == D("289.12")


def test_a_bundle_split_never_takes_a_charge_past_its_billed_amount() -> None:
    shares = split_bundle([D("33.33"), D("166.67")], [D("100.00"), D("100.00")])

    assert shares is not None
    assert [sum(s, D(0)) for s in shares] == [D("33.33"), D("166.67")]
    assert [sum(column, D(0)) for column in zip(*shares, strict=True)] == [D("100.00"), D("100.00")]
    assert split_bundle([D("10.00"), D("-1.00")], [D("5.00"), D("5.00")]) is None


@given(st.lists(st.integers(0, 50_000), min_size=1, max_size=5), st.lists(st.integers(1, 50_000), min_size=2, max_size=3))
def test_bundle_splits_add_up_per_amount_and_stay_within_each_charge(cents: list[int], billed: list[int]) -> None:
    totals, weights = [D(c) / 100 for c in cents], [D(b) / 100 for b in billed]
    shares = split_bundle(totals, weights)
    if sum(totals) > sum(weights) or sum(totals) == 0:
        assert shares is None
        return
    assert shares is not None
    assert [sum(s, D(0)) for s in shares] == totals
    assert all(x >= 0 for s in shares for x in s)
    assert all(sum(column, D(0)) <= w for column, w in zip(zip(*shares, strict=True), weights, strict=True))


def test_a_reversal_undoes_the_original_in_the_same_file_and_the_correction_posts_anew() -> None:
    postings = plan(
        era(
            clp("CLM-1", "100.00", "80.00", icn="ICN1"), svc("97110:GP", "100.00", "80.00", cas=("CO*45*20.00",)),
            clp("CLM-1", "-100.00", "-80.00", status="22", icn="ICN1"),
            svc("97110:GP", "-100.00", "-80.00", cas=("CO*45*-20.00",)),
            clp("CLM-1", "100.00", "95.00", icn="ICN2"), svc("97110:GP", "100.00", "95.00", cas=("CO*45*5.00",)),
        ),
        [charge(1)],
    )

    assert brief(postings) == [
        ("0/0/payment/0/0", 1, "payment", D("80.00"), None, None),
        ("0/0/adjustment/0/0", 1, "adjustment", D("20.00"), "CO", "45"),
        ("1/0/payment/0/0", 1, "reversal", D("-80.00"), None, None),
        ("1/0/adjustment/0/0", 1, "reversal", D("-20.00"), "CO", "45"),
        ("2/0/payment/0/0", 1, "payment", D("95.00"), None, None),
        ("2/0/adjustment/0/0", 1, "adjustment", D("5.00"), "CO", "45"),
    ]
    undo_payment, undo_adjustment = postings[2:4]
    assert (undo_payment.reverses, undo_payment.reversed_kind) == (postings[0].key, "payment")
    assert (undo_adjustment.reverses, undo_adjustment.reversed_kind) == (postings[1].key, "adjustment")
    assert undo_payment.base_kind == "payment"
    assert sum(p.amount for p in postings if p.base_kind == "payment") == D("95.00")


def test_a_reversal_of_an_earlier_file_posts_its_own_negative_amounts() -> None:
    postings = plan(
        era(clp("CLM-1", "-100.00", "-80.00", status="22", icn="ICN1"),
            svc("97110:GP", "-100.00", "-80.00", cas=("CO*45*-20.00",))),
        [charge(1, balance="0.00")],
    )

    assert brief(postings) == [
        ("0/0/payment/0/0", 1, "reversal", D("-80.00"), None, None),
        ("0/0/adjustment/0/0", 1, "reversal", D("-20.00"), "CO", "45"),
    ]
    assert [(p.reverses, p.reversed_kind, p.payer_claim_number) for p in postings] == [
        (None, "payment", "ICN1"), (None, "adjustment", "ICN1"),
    ]


TWO_CLAIMS = era(
    clp("CLM-1", "100.00", "80.00"), svc("97110:GP", "100.00", "80.00", cas=("CO*45*20.00",)),
    clp("NOBODY", "90.00", "90.00", patient=("STRANGER", "SAM", "")), svc("90837", "90.00", "90.00"),
)


def test_a_rerun_posts_nothing_new_and_a_resolution_only_its_claim() -> None:
    candidates = [charge(1), charge(2, client=GRACE, claim="CLM-2", cpt="90791", amount="200.00")]
    first = plan(TWO_CLAIMS, candidates)
    posted = [p.key for p in first]
    resolved = plan(TWO_CLAIMS, candidates, resolutions={"000000101/0001/0/1": (charge_id(2),)})

    assert {p.claim_key for p in first} == {"000000101/0001/0/0"}
    assert plan(TWO_CLAIMS, candidates) == first
    assert difference(plan(TWO_CLAIMS, candidates), posted) == ()
    new = difference(resolved, posted)
    assert brief(new) == [("1/0/payment/0/0", 2, "payment", D("90.00"), None, None)]
    assert difference(resolved, [*posted, *(p.key for p in new)]) == ()
    assert difference(first + first, ()) == first


def test_review_and_weak_matches_post_nothing() -> None:
    parsed = era(clp("CLM-1", "165.00", "120.00"), svc("90834", "145.00", "110.00"), svc("90785", "20.00", "10.00"))
    candidates = [charge(1, cpt="90837", amount="150.00"), charge(2, cpt="90785", amount="20.00")]
    matches = match_claims(parsed, candidates, LATEST)
    stricter = dataclasses.replace(LATEST, auto_post_min_confidence=D("0.90"))

    assert matches[0].confidence == D("0.800")
    assert plan_postings(parsed, matches, LATEST) != ()
    assert plan_postings(parsed, matches, stricter) == ()
    assert plan_postings(parsed, match_claims(parsed, candidates, stricter), stricter) == ()
    assert match_claims(parsed, candidates, stricter)[0].level == REVIEW


def test_provider_adjustments_are_listed_apart_from_charges() -> None:
    parsed = era(clp("CLM-1", "100.00", "100.00"), plb=("PLB*1234567893*20241231*L6:INT-1*-5.00*WO:OVP-9*10.00",))

    [interest, offset] = provider_adjustments(parsed)

    assert (interest.key, interest.reason, interest.reference, interest.amount) == (
        "000000101/0001/0/plb/0/0", "L6", "INT-1", D("-5.00"))
    assert (offset.key, offset.reason, offset.amount, offset.fiscal_period) == (
        "000000101/0001/0/plb/0/1", "WO", D("10.00"), date(2024, 12, 31))
    assert (interest.provider_id, interest.trace_number, interest.paid_on) == ("1234567893", "EFT0001", PAID_ON)


def test_summary_counts_levels_and_totals() -> None:
    candidates = [charge(1), charge(2, client=GRACE, claim="CLM-2", cpt="90791", amount="200.00")]
    summary = summarize(TWO_CLAIMS, match_claims(TWO_CLAIMS, candidates, LATEST))

    assert (summary.claims, summary.level_1, summary.unmatched, summary.manual) == (2, 1, 1, 0)
    assert summary.matched_by_level == {"1": 1, "2": 0, "3": 0, "4": 0, "manual": 0, "5": 1}
    assert summary.auto_match_rate == D("0.5000")
    assert (summary.charged, summary.paid, summary.adjusted) == (D("190.00"), D("170.00"), D("20.00"))
    assert (summary.patient_responsibility, summary.unmatched_paid, summary.reversals) == (D(0), D("90.00"), 0)
    assert summarize(era(), ()).auto_match_rate == D(0)


# --- properties ------------------------------------------------------------------------------------

CENTS = st.integers(1_00, 5_000_00).map(lambda c: D(c).scaleb(-2))
CAS_AMOUNT = st.integers(-50_00, 300_00).map(lambda c: D(c).scaleb(-2))
CAS = st.tuples(st.sampled_from(["CO", "PR", "OA", "PI", "CR"]), st.sampled_from(["1", "2", "45", "97", "253"]),
                CAS_AMOUNT)


@st.composite
def claims(draw: st.DrawFn) -> tuple[list[str], list[ChargeCandidate], Decimal, Decimal]:
    amounts = draw(st.lists(CENTS, min_size=1, max_size=4))
    with_lines, reversal = draw(st.booleans()), draw(st.booleans())
    bundle = with_lines and len(amounts) > 1 and draw(st.booleans())
    sign = D(-1) if reversal else D(1)
    candidates = [charge(i + 1, claim="CLM-P", amount=str(a), balance="0.00" if reversal else None)
                  for i, a in enumerate(amounts)]
    claim_cas = draw(st.lists(CAS, max_size=3))
    lines: list[str] = []
    groups = [[0, 1], *([i] for i in range(2, len(amounts)))] if bundle else [[i] for i in range(len(amounts))]
    line_paid = D(0)
    all_cas = sum((c[2] for c in claim_cas), D(0))
    for group in groups if with_lines else []:
        billed = sum(amounts[i] for i in group)
        cas = draw(st.lists(CAS, max_size=2))
        paid = billed - sum(c[2] for c in cas)
        line_paid, all_cas = line_paid + paid, all_cas + sum(c[2] for c in cas)
        ref = candidates[group[0]].line_ref if len(group) == 1 else None
        lines += svc("97110:GP", str(sign * billed), str(sign * paid), ref=ref,
                     cas=tuple(f"{g}*{r}*{sign * a}" for g, r, a in cas))
    total = sum(amounts, D(0))
    paid = (line_paid if with_lines else total) - sum(c[2] for c in claim_cas)
    segments = clp("CLM-P", str(sign * total), str(sign * paid), status="22" if reversal else "1")
    segments += [f"CAS*{g}*{r}*{sign * a}" for g, r, a in claim_cas] + lines
    return segments, candidates, sign * paid, sign * all_cas


@settings(max_examples=150, deadline=None)
@given(claims())
def test_postings_reconcile_with_the_claim_to_the_cent(claim: tuple[list[str], list[ChargeCandidate], Decimal, Decimal]) -> None:
    segments, candidates, paid, adjusted = claim
    parsed = era(segments)
    [match] = match_claims(parsed, candidates, LATEST)
    postings = plan_postings(parsed, [match], LATEST)

    assert match.level == 1
    assert sum((p.amount for p in postings if p.base_kind == "payment"), D(0)) == paid
    assert sum((p.amount for p in postings if p.base_kind == "adjustment"), D(0)) == adjusted
    assert len({p.key for p in postings}) == len(postings)
    assert all(p.amount != 0 and p.amount == p.amount.quantize(D("0.01")) for p in postings)
    assert plan_postings(parsed, match_claims(parsed, candidates, LATEST), LATEST) == postings


@given(st.integers(-10_000_00, 10_000_00).map(lambda c: D(c).scaleb(-2)),
       st.lists(st.integers(0, 5_000_00).map(lambda c: D(c).scaleb(-2)), min_size=1, max_size=6))
def test_allocation_adds_up_and_stays_within_a_cent_but_the_last(total: Decimal, weights: list[Decimal]) -> None:
    shares = allocate(total, weights)

    assert sum(shares, D(0)) == total
    base = sum(weights, D(0))
    if base > 0:
        for share, weight in zip(shares[:-1], weights[:-1], strict=True):
            assert abs(share - total * weight / base) < D("0.01")


def test_charge_ids_are_what_the_plan_posts_to() -> None:
    postings = plan(era(clp("CLM-1", "100.00", "100.00"), svc("97110:GP", "100.00", "100.00")), [charge(7)])

    assert [p.charge_id for p in postings] == [UUID("00000007-0000-4000-8000-000000000000")]


# --- the public sample corpus (../shared/era-samples; never copied here) ---------------------------

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "era-samples"
SAMPLE_FILES = sorted(p for p in SAMPLES.glob("*") if p.suffix != ".md") if SAMPLES.is_dir() else []


def charges_billed_in(parsed: EraFile) -> list[ChargeCandidate]:
    """A charge for every line (or line-less claim) the file pays, as if we had billed it."""
    candidates = []
    for ref in claims_of(parsed):
        claim = ref.claim
        person = claim.patient or claim.insured
        if claim.is_reversal or person is None:
            continue
        for i, line in enumerate(claim.lines or (None,)):
            procedure = line and (line.original_procedure or line.procedure)
            candidates.append(ChargeCandidate(
                charge_id=uuid5(UUID(int=0), f"{ref.key}/{i}"), client_id=uuid5(UUID(int=0), person.last_name + person.first_name),
                claim_number=claim.patient_control_number, line_ref="", patient_last=person.last_name,
                patient_first=person.first_name, member_id=person.id or None,
                service_date=(line and line.service_from) or claim.statement_from or date(2020, 1, 1),
                cpt=procedure.code if procedure else "99999", modifiers=procedure.modifiers if procedure else (),
                units=D(1), amount=abs(line.charge if line else claim.charge), balance=D(0),
            ))
    return candidates


@pytest.mark.skipif(not SAMPLE_FILES, reason=f"the public 835 sample corpus is not at {SAMPLES}")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_the_sample_corpus_matches_and_reconciles(path: Path) -> None:
    parsed = read_era(path.read_bytes())
    matches = match_claims(parsed, charges_billed_in(parsed), LATEST)
    postings = plan_postings(parsed, matches, LATEST)

    for ref, match in zip(claims_of(parsed), matches, strict=True):
        own = [p for p in postings if p.claim_key == ref.key]
        assert match.automatic or ref.claim.is_reversal, (ref.key, match.reasons)
        if own and match.reverses is None:
            assert sum(p.amount for p in own if p.base_kind == "payment") == ref.claim.paid
            assert sum(p.amount for p in own if p.base_kind == "adjustment") == sum(
                a.amount for a in ref.claim.all_adjustments)
    assert len({p.key for p in postings}) == len(postings)
