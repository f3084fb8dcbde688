"""Matching 835 claims to charges: the five levels, reversals, odd CLP01s, bundles and rule versions."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from domain.errors import InvalidCommand
from domain.remittance.candidates import ChargeCandidate, Patient, normalise_name, normalise_reference
from domain.remittance.era835 import EraFile, read_era
from domain.remittance.matching import MANUAL, REVIEW, ClaimMatch, claim_key, match_claims
from domain.remittance.matching_rules import LATEST, MATCHING_RULES, rules_for, rules_in_effect

V1 = rules_for(1)
V2 = rules_for(2)
V3 = rules_for(3)
ISA = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *240110*1200*^*00501*{control}*0*P*:"


@dataclass(frozen=True)
class Client:
    id: UUID
    last: str
    first: str
    member: str | None


ADA = Client(UUID(int=1), "Lovelace", "Ada", "MEM100")
GRACE = Client(UUID(int=2), "Hopper", "Grace", "MEM200")
JOSE = Client(UUID(int=3), "O'Brien-Núñez", "José", None)


def charge_id(n: int) -> UUID:
    return UUID(f"{n:08x}-0000-4000-8000-000000000000")


def charge(
    n: int, *, client: Client = ADA, claim: str | None = "CLM-1", cpt: str = "97110",
    modifiers: tuple[str, ...] = ("GP",), amount: str = "100.00", day: date = date(2024, 1, 2),
    balance: str | None = None,
) -> ChargeCandidate:
    cid = charge_id(n)
    return ChargeCandidate(
        charge_id=cid, client_id=client.id, claim_number=claim, line_ref="L" + cid.hex[:12].upper(),
        patient_last=client.last, patient_first=client.first, member_id=client.member, service_date=day,
        cpt=cpt, modifiers=modifiers, units=Decimal(1), amount=Decimal(amount),
        balance=Decimal(balance if balance is not None else amount),
    )


def clp(number: str, charge: str, paid: str, *, status: str = "1", pr: str = "0", icn: str = "ICN1",
        patient: tuple[str, str, str] = ("LOVELACE", "ADA", "MEM100")) -> list[str]:
    last, first, member = patient
    qualifier = "MI" if member else ""
    return [f"CLP*{number}*{status}*{charge}*{paid}*{pr}*12*{icn}*11*1", f"NM1*QC*1*{last}*{first}****{qualifier}*{member}"]


def svc(procedure: str, charge: str, paid: str, *, day: str | None = "20240102", ref: str | None = None,
        cas: tuple[str, ...] = (), original: str = "", remarks: tuple[str, ...] = ()) -> list[str]:
    segments = [f"SVC*HC:{procedure}*{charge}*{paid}**1" + (f"*HC:{original}" if original else "")]
    segments += [f"DTM*472*{day}"] if day else []
    segments += [f"CAS*{c}" for c in cas]
    segments += [f"REF*6R*{ref}"] if ref else []
    segments += [f"LQ*HE*{r}" for r in remarks]
    return segments


def x12(*claims: list[str], control: str = "000000101", plb: tuple[str, ...] = ()) -> str:
    body = [
        "BPR*I*0*C*ACH*CCP*01*011000015*DA*12345*1512345678**01*021000021*DA*67890*20240110",
        "TRN*1*EFT0001*1512345678",
        "N1*PR*ACME HEALTH PLAN",
        "N1*PE*RIVERSIDE THERAPY*XX*1234567893",
        "LX*1",
        *(segment for claim in claims for segment in claim),
        *plb,
    ]
    segments = [
        ISA.format(control=control),
        "GS*HP*PAYER*CLINIC*20240110*1200*1*X*005010X221A1",
        "ST*835*0001*005010X221A1",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*1",
        f"IEA*1*{control}",
    ]
    return "".join(segment + "~" for segment in segments)


def era(*claims: list[str], plb: tuple[str, ...] = ()) -> EraFile:
    return read_era(x12(*claims, plb=plb))


def one(*claims: list[str], candidates: list[ChargeCandidate], rules=LATEST, **kw: object) -> ClaimMatch:  # type: ignore[no-untyped-def]
    [match] = match_claims(era(*claims), candidates, rules, **kw)  # type: ignore[arg-type]
    return match


def hows(match: ClaimMatch) -> list[str]:
    return [line.how for line in match.lines]


# --- level 1: the claim control number ---------------------------------------------------------


def test_level_1_pairs_lines_by_line_reference_and_tolerates_dropped_modifiers() -> None:
    first, second = charge(1), charge(2, cpt="97530", modifiers=("GP", "59"), amount="80.00")
    match = one(
        clp("CLM-1", "180.00", "150.00"),
        svc("97530", "80.00", "70.00", cas=("CO*45*10.00",)),  # the payer dropped GP and 59
        svc("97110:GP", "100.00", "80.00", ref=first.line_ref, cas=("CO*45*20.00",)),
        candidates=[first, second, charge(3, claim="CLM-2")],
    )

    assert (match.level, match.confidence, match.is_reversal) == (1, Decimal("0.970"), False)
    assert match.line_charges == {0: (second.charge_id,), 1: (first.charge_id,)}
    assert hows(match) == ["procedure + amount, modifiers dropped", "line item control number"]
    assert match.charge_ids == (second.charge_id, first.charge_id)
    assert match.client_id == ADA.id


def test_level_1_falls_back_to_line_order() -> None:
    candidates = [charge(1, cpt="90837", amount="150.00"), charge(2, cpt="90785", amount="20.00")]
    match = one(
        clp("CLM-1", "165.00", "120.00"),
        svc("90834", "145.00", "110.00"),  # recoded by the payer and repriced
        svc("90785", "20.00", "10.00", day="20240103"),
        candidates=candidates,
    )

    assert match.level == 1
    assert match.line_charges == {0: (candidates[0].charge_id,), 1: (candidates[1].charge_id,)}
    assert hows(match) == ["order", "procedure + amount, modifiers dropped"]
    assert match.confidence == Decimal("0.800")


def test_a_claim_without_lines_matches_at_claim_level() -> None:
    candidates = [charge(1), charge(2, day=date(2024, 1, 3)), charge(3, claim="CLM-9")]
    match = one([*clp("CLM-1", "200.00", "150.00"), "CAS*CO*45*50.00"], candidates=candidates)

    assert (match.level, match.lines) == (1, ())
    assert match.charge_ids == (charge_id(1), charge_id(2))


def test_svc06_submitted_procedure_counts() -> None:
    billed = charge(1, cpt="97112", modifiers=())
    match = one(
        clp("CLM-1", "100.00", "60.00"),
        svc("97530", "100.00", "60.00", original="97112", cas=("CO*45*40.00",)),
        candidates=[charge(2, cpt="97530", modifiers=(), amount="90.00"), billed],
    )

    assert match.line_charges == {0: (billed.charge_id,)}
    assert hows(match) == ["procedure + modifiers + amount"]


def test_a_bundled_line_pays_two_charges() -> None:
    a, b = charge(1, amount="150.00"), charge(2, cpt="97140", amount="100.00")
    match = one(
        clp("CLM-1", "250.00", "200.00"),
        svc("97110:GP", "250.00", "200.00", cas=("CO*97*50.00",)),
        candidates=[a, b],
    )

    assert match.level == 1
    assert match.line_charges == {0: (a.charge_id, b.charge_id)}
    assert hows(match) == ["bundled"]


def test_a_bundled_line_under_the_kept_charges_reference_pays_the_folded_charge_too() -> None:
    kept = charge(1, cpt="90837", modifiers=(), amount="175.00")
    folded = charge(2, cpt="90785", modifiers=(), amount="200.00")
    elsewhere = charge(3, claim="CLM-2", cpt="90785", modifiers=(), amount="200.00")
    match = one(
        clp("CLM-1", "375.00", "85.88", pr="21.47"),
        svc("90837", "375.00", "85.88", ref=kept.line_ref, original="90785",
            cas=("CO*45*67.65", "CO*97*200.00", "PR*2*21.47")),
        candidates=[kept, folded, elsewhere],
    )

    assert match.level == 1
    assert match.line_charges == {0: (kept.charge_id, folded.charge_id)}
    assert hows(match) == ["line item control number, bundled"]


def test_split_and_zero_charge_lines_follow_their_charge() -> None:
    billed = charge(1, amount="200.00")
    match = one(
        clp("CLM-1", "200.00", "160.00"),
        svc("97110:GP", "120.00", "100.00", cas=("CO*45*20.00",)),
        svc("97110:GP", "80.00", "60.00", cas=("CO*45*20.00",)),
        svc("97112", "0", "0", original="97110"),
        candidates=[billed],
    )

    assert match.line_charges == {i: (billed.charge_id,) for i in range(3)}
    assert hows(match) == ["split", "split", "zero-charge line"]


# --- CLP01 is not unique ---------------------------------------------------------------------------


def test_placeholder_clp01_matches_by_client_and_never_twice() -> None:
    ada, grace = charge(1, claim="CLM-1"), charge(2, client=GRACE, claim="CLM-2")
    matches = match_claims(
        era(
            clp("PATIENT ACCOUNT NUMBER", "100.00", "80.00", icn="A"),
            svc("97110:GP", "100.00", "80.00", cas=("CO*45*20.00",)),
            clp("PATIENT ACCOUNT NUMBER", "100.00", "80.00", icn="B", patient=("HOPPER", "GRACE", "MEM200")),
            svc("97110:GP", "100.00", "80.00", cas=("CO*45*20.00",)),
            clp("PATIENT ACCOUNT NUMBER", "100.00", "80.00", icn="C"),  # Ada's again: a duplicate
            svc("97110:GP", "100.00", "80.00", cas=("CO*45*20.00",)),
        ),
        [ada, grace],
        LATEST,
    )

    assert [m.level for m in matches] == [2, 2, REVIEW]
    assert [m.charge_ids for m in matches[:2]] == [(ada.charge_id,), (grace.charge_id,)]
    assert matches[2].charges == ()


def test_a_claim_number_of_another_patient_is_not_trusted() -> None:
    hers = charge(1, client=GRACE, claim="7722337")
    his = charge(2, claim="A-77", amount="100.00")
    match = one(clp("7722337", "100.00", "80.00"), svc("97110:GP", "100.00", "80.00"), candidates=[hers, his])

    assert match.level == 2
    assert match.charge_ids == (his.charge_id,)
    assert any("another patient's" in reason for reason in match.reasons)


def test_level_2_client_service_date_and_amount() -> None:
    match = one(
        clp("PATIENT ACCOUNT NUMBER", "100.00", "70.00", patient=("O BRIEN NUNEZ", "JOSE", "")),
        svc("90834", "100.00", "70.00"),
        candidates=[charge(2, client=JOSE, cpt="90837", day=date(2024, 1, 9)), charge(3, client=JOSE, cpt="90837"),
                    charge(4, cpt="90834")],
    )

    assert match.level == 2
    assert match.charge_ids == (charge_id(3),)
    assert match.client_id == JOSE.id


def test_level_3_client_procedure_and_amount_nearest_date() -> None:
    candidates = [charge(1, day=date(2023, 12, 26)), charge(2, day=date(2024, 1, 3)), charge(3, cpt="97530")]
    match = one(
        clp("UNKNOWN", "100.00", "70.00", patient=("LOVELACE", "A", "MEM100")),
        svc("97110:GP", "100.00", "70.00", day="20240105"),
        candidates=candidates,
    )

    assert (match.level, match.charge_ids, hows(match)) == (3, (charge_id(2),), ["procedure + amount"])
    assert match.confidence == Decimal("0.900")


def test_level_3_refuses_equally_distant_dates() -> None:
    candidates = [charge(1, day=date(2024, 1, 3)), charge(2, day=date(2024, 1, 7))]
    match = one(clp("UNKNOWN", "100.00", "70.00"), svc("97110:GP", "100.00", "70.00", day="20240105"),
                candidates=candidates)

    assert match.level == REVIEW
    assert match.suggestions[0].charge_ids in {(charge_id(1),), (charge_id(2),)}


# --- level 4 and the review queue ------------------------------------------------------------------

TYPO = (clp("UNKNOWN", "100.00", "70.00", patient=("LOVELASE", "ADA", "")),
        svc("97110:GP", "100.00", "70.00", day="20240105"))


def test_rule_versions_change_a_fuzzy_outcome() -> None:
    candidates = [charge(1), charge(2, client=GRACE)]

    strict = one(*TYPO, candidates=candidates, rules=V1)
    lenient = one(*TYPO, candidates=candidates, rules=V2)

    assert strict.level == REVIEW
    assert strict.suggestions[0].charge_ids == (charge_id(1),)
    assert Decimal("0.85") <= strict.suggestions[0].score < V1.fuzzy_threshold
    assert (lenient.level, lenient.charge_ids, hows(lenient)) == (4, (charge_id(1),), ["fuzzy"])
    assert lenient.confidence >= V2.fuzzy_threshold


OUTSIDER = (clp("UNKNOWN", "100.00", "70.00", patient=("LOVELACE", "ADA", "XYZ123456789")),
            svc("97110:GP", "100.00", "70.00", day="20240105"))


def test_a_conflicting_member_id_keeps_a_same_name_client_from_levels_2_and_3() -> None:
    before = one(*OUTSIDER, candidates=[charge(1)], rules=V2)
    now = one(*OUTSIDER, candidates=[charge(1)], rules=V3)

    assert (before.level, before.charge_ids) == (3, (charge_id(1),))
    assert now.level == REVIEW
    assert now.suggestions[0].charge_ids == (charge_id(1),)
    assert now.suggestions[0].score == V3.member_id_conflict_max_score


def test_a_conflicting_member_id_caps_the_fuzzy_score() -> None:
    claim = (clp("UNKNOWN", "100.00", "70.00", patient=("LOVELACE", "ADAM", "XYZ123456789")),
             svc("97110:GP", "100.00", "70.00"))

    before = one(*claim, candidates=[charge(1), charge(2, client=GRACE)], rules=V2)
    now = one(*claim, candidates=[charge(1), charge(2, client=GRACE)], rules=V3)

    assert (before.level, before.charge_ids) == (4, (charge_id(1),))
    assert now.level == REVIEW
    assert now.suggestions[0].charge_ids == (charge_id(1),)
    assert now.suggestions[0].score < V3.auto_post_min_confidence
    assert "the member id differs from the 835's" in now.reasons


def test_a_person_code_the_payer_appends_is_no_conflict() -> None:
    claim = (clp("UNKNOWN", "100.00", "70.00", patient=("LOVELACE", "ADA", "MEM10001")),
             svc("97110:GP", "100.00", "70.00", day="20240105"))

    match = one(*claim, candidates=[charge(1)], rules=V3)

    assert (match.level, match.charge_ids) == (3, (charge_id(1),))


def test_nothing_close_waits_for_review_and_a_resolution_matches_manually() -> None:
    candidates = [charge(1, cpt="90837", amount="150.00", day=date(2023, 11, 1)), charge(2, client=GRACE)]
    claim = (clp("X", "99.00", "50.00", patient=("LOVELACE", "ADA", "")), svc("97110", "99.00", "50.00"))

    waiting = one(*claim, candidates=candidates)
    resolved = one(*claim, candidates=candidates, resolutions={waiting.claim_key: (charge_id(1),)})
    dismissed = one(*claim, candidates=candidates, resolutions={waiting.claim_key: ()})

    assert (waiting.level, waiting.charges) == (REVIEW, ())
    assert waiting.suggestions and waiting.suggestions[0].client_id == ADA.id
    assert all(s.score >= V2.suggestion_floor for s in waiting.suggestions)
    assert (resolved.level, resolved.charge_ids, resolved.confidence) == (MANUAL, (charge_id(1),), Decimal(1))
    assert resolved.line_charges == {0: (charge_id(1),)}
    assert (dismissed.level, dismissed.matched) == (MANUAL, False)


def test_a_partial_level_1_pairing_is_offered_for_review() -> None:
    candidates = [charge(1), charge(2, claim="CLM-9", client=GRACE)]
    match = one(
        clp("CLM-1", "300.00", "200.00"),
        svc("97110:GP", "100.00", "80.00"),
        svc("90837", "200.00", "120.00"),  # billed on no charge of ours
        candidates=candidates,
    )

    assert match.level == REVIEW
    assert (match.suggestions[0].charge_ids, match.suggestions[0].score) == ((charge_id(1),), Decimal("0.500"))


def test_a_resolution_reserves_its_charge() -> None:
    ada = charge(1)
    matches = match_claims(
        era(clp("CLM-1", "100.00", "80.00"), svc("97110:GP", "100.00", "80.00"),
            clp("CLM-1", "100.00", "80.00", icn="2"), svc("97110:GP", "100.00", "80.00")),
        [ada], LATEST, {"000000101/0001/0/1": (ada.charge_id,)},
    )

    assert [m.level for m in matches] == [REVIEW, MANUAL]


# --- reversals and corrections --------------------------------------------------------------------


def test_reversal_and_correction_of_an_earlier_file_match_the_same_charges() -> None:
    paid = charge(1, balance="0.00")
    reversal, correction = match_claims(
        era(
            clp("CLM-1", "-100.00", "-80.00", status="22", icn="ICN1"),
            svc("97110:GP", "-100.00", "-80.00", cas=("CO*45*-20.00",)),
            clp("CLM-1", "100.00", "90.00", icn="ICN2"),
            svc("97110:GP", "100.00", "90.00", cas=("CO*45*10.00",)),
        ),
        [paid],
        LATEST,
    )

    assert (reversal.level, reversal.is_reversal, reversal.reverses) == (1, True, None)
    assert (correction.level, correction.is_reversal) == (1, False)
    assert reversal.charge_ids == correction.charge_ids == (paid.charge_id,)


def test_a_reversal_of_a_claim_in_the_same_file_takes_its_match() -> None:
    ada = charge(1)
    original, reversal, correction = match_claims(
        era(
            clp("CLM-1", "100.00", "80.00", icn="ICN1"), svc("97110:GP", "100.00", "80.00", cas=("CO*45*20.00",)),
            clp("CLM-1", "-100.00", "-80.00", status="22", icn="ICN1"),
            svc("97110:GP", "-100.00", "-80.00", cas=("CO*45*-20.00",)),
            clp("CLM-1", "100.00", "95.00", icn="ICN2"), svc("97110:GP", "100.00", "95.00", cas=("CO*45*5.00",)),
        ),
        [ada],
        LATEST,
    )

    assert reversal.reverses == original.claim_key == "000000101/0001/0/0"
    assert (reversal.level, reversal.is_reversal, hows(reversal)) == (1, True, ["reversal"])
    assert original.charge_ids == reversal.charge_ids == correction.charge_ids == (ada.charge_id,)
    assert correction.level == 1


def test_denial_matches_like_any_claim() -> None:
    match = one(clp("CLM-1", "100.00", "0", status="4"), svc("97110:GP", "100.00", "0", cas=("CO*50*100.00",)),
                candidates=[charge(1)])

    assert (match.level, match.charge_ids) == (1, (charge_id(1),))


# --- keys, normalisers, rules -------------------------------------------------------------------


def test_claim_key_names_interchange_transaction_set_and_positions() -> None:
    parsed = era(clp("A", "1", "1"), clp("B", "1", "1"))
    ts = parsed.transaction_sets[0]

    assert claim_key(ts, 1) == "000000101/0001/0/1"
    assert [m.claim_key for m in match_claims(parsed, [], LATEST)] == ["000000101/0001/0/0", "000000101/0001/0/1"]


def test_normalisers() -> None:
    assert normalise_name("  José O'Brien-Núñez ") == "JOSE OBRIEN NUNEZ"
    assert normalise_reference(" clm-00 1 ") == "CLM001"
    assert normalise_reference(None) == ""


def test_the_patient_of_a_claim_meets_our_clients() -> None:
    [claim] = era(clp("X", "1", "1", patient=("O BRIEN NUNEZ", "J", ""))).claims
    patient = Patient.of(claim)
    ada = charge(1)

    assert patient.is_client(charge(2, client=JOSE))
    assert not patient.is_client(ada)
    assert Patient("LOVELACE", "ADA", frozenset({"MEM100"})).is_client(dataclasses.replace(ada, patient_first="Augusta"))
    assert Patient("ADA", "LOVELACE", frozenset()).similarity(ada) == 1.0  # payers swap the names
    assert Patient("LOVELASE", "ADA", frozenset()).similarity(ada) > 0.9
    assert Patient("HOPPER", "GRACE", frozenset()).similarity(ada, floor=0.6) == 0.0


def test_member_ids_conflict_only_when_both_are_there_and_differ_beyond_a_person_code() -> None:
    ada = charge(1)

    def conflict(*ids: str) -> bool:
        return Patient("LOVELACE", "ADA", frozenset(normalise_reference(i) for i in ids)).member_conflict(ada)

    assert conflict("MEM200")
    assert conflict("XYZ123456789", "MEM999")
    assert not conflict()
    assert not conflict("mem-100")
    assert not conflict("MEM10001") and not conflict("MEM100*01") and not conflict("MEM200", "MEM100")
    assert conflict("MEM100A1") and conflict("MEM1000001")
    assert not Patient("LOVELACE", "ADA", frozenset({"MEM200"})).member_conflict(dataclasses.replace(ada, member_id=None))
    assert Patient("LOVELACE", "ADA", frozenset({"MEM200"})).is_client(ada)
    assert not Patient("LOVELACE", "ADA", frozenset({"MEM200"})).is_client(ada, strict_member=True)


def test_rules_are_versioned() -> None:
    assert set(MATCHING_RULES) >= {1, 2, 3}
    assert LATEST.version == max(MATCHING_RULES) >= 3
    assert V1.fuzzy_threshold != V2.fuzzy_threshold
    assert not V1.member_id_conflicts and not V2.member_id_conflicts and V3.member_id_conflicts
    assert V3.member_id_conflict_max_score < min(V3.fuzzy_threshold, V3.auto_post_min_confidence)
    assert rules_in_effect(date(2024, 6, 1)) == V1
    assert rules_in_effect(date(2025, 6, 1)) == V2
    assert rules_in_effect(date(2026, 6, 1)) == V3
    with pytest.raises(InvalidCommand):
        rules_for(99)


def test_matching_is_deterministic() -> None:
    candidates = [charge(n, day=date(2024, 1, n)) for n in range(1, 6)]
    parsed = era(*TYPO, clp("CLM-1", "100.00", "80.00"), svc("97110:GP", "100.00", "80.00", day="20240103"))

    assert match_claims(parsed, candidates, LATEST) == match_claims(parsed, list(reversed(candidates)), LATEST)
