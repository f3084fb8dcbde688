"""The 835 reader on the public sample corpus in ../shared/era-samples (never copied here)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from domain.remittance.era835 import EraFile, FindingCode, balance_report, read_era

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "era-samples"

if not SAMPLES.is_dir():
    pytest.skip(
        f"the public 835 sample corpus is not at {SAMPLES}; it is never copied into the repo",
        allow_module_level=True,
    )


class Expected(NamedTuple):
    claims: int
    transaction_sets: int
    interchanges: int
    balanced: int


# From INDEX.md: CLP, ST/ISA and bal columns.
EXPECTED = {
    "lfh_medicare-part-a.835": Expected(2, 1, 1, 1),
    "lfh_managed-care.835": Expected(2, 1, 1, 1),
    "lfh_cob-contractural-adjustment.835": Expected(1, 1, 1, 1),
    "lfh_secondary-payment.835": Expected(2, 1, 1, 1),
    "lfh_tertiary-payment.835": Expected(1, 1, 1, 1),
    "pyx12_835_mult_loops.835": Expected(1, 1, 1, 1),
    "pyx12_835_simple_4010.835": Expected(3, 1, 1, 0),
    "keiron_blue_cross_nc_sample.txt": Expected(1, 1, 0, 1),
    "keiron_emedny_sample.txt": Expected(3, 1, 1, 1),
    "keiron_united_healthcare_legacy_sample.txt": Expected(2, 1, 1, 1),
    "badx12_X221-era-sample.edi": Expected(1, 1, 1, 1),
    "badx12_X221-multiple-claims-single-check.edi": Expected(9, 1, 1, 1),
    "badx12_X221-secondary-payments.edi": Expected(2, 1, 1, 1),
    "badx12_X221-tertiary-payments.edi": Expected(1, 1, 1, 1),
    "tasty_multi-line-not-delimited.edi": Expected(3, 1, 1, 1),
    "tasty_profee-multiple.edi": Expected(468, 156, 156, 156),
    "tigershark_835-example.txt": Expected(2, 1, 1, 0),
    "tigershark_835-example-2.txt": Expected(2, 2, 1, 1),
    "era835rb_example_1.835": Expected(1, 1, 0, 0),
    "era835rb_example_6.835": Expected(2, 2, 0, 0),
    "era835rb_example_7.835": Expected(2, 2, 0, 0),
    "era835rb_example_8.835": Expected(3, 1, 0, 1),
}


def read_sample(name: str) -> EraFile:
    return read_era((SAMPLES / name).read_bytes())


def test_the_table_covers_every_sample() -> None:
    on_disk = {p.name for p in SAMPLES.iterdir() if p.is_file() and p.name != "INDEX.md"}

    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_reads_with_the_indexed_counts(name: str) -> None:
    era = read_sample(name)
    report = balance_report(era)

    actual = Expected(
        claims=len(era.claims),
        transaction_sets=len(era.transaction_sets),
        interchanges=sum(not i.synthetic for i in era.interchanges),
        balanced=report.balanced_count,
    )
    assert actual == EXPECTED[name]


def test_tertiary_line_with_shifted_procedure_does_not_balance() -> None:
    report = balance_report(read_sample("lfh_tertiary-payment.835"))

    [ts] = report.transaction_sets
    assert ts.balanced
    assert not ts.claims_balanced
    [line] = [f for f in ts.findings if f.code is FindingCode.SERVICE_LINE_BALANCE]
    assert (line.location.claim_id, line.location.line_index) == ("0001000054", 0)


def test_short_bpr_still_yields_the_payment_date() -> None:
    [ts] = read_sample("lfh_cob-contractural-adjustment.835").transaction_sets

    assert ts.payment is not None
    assert ts.payment.effective_date_raw == "20050318"


def test_tigershark_layout_keeps_its_separators() -> None:
    era = read_sample("tigershark_835-example.txt")

    [isa] = era.interchanges
    assert (isa.separators.element, isa.separators.component) == ("|", "^")
    [plb] = era.transaction_sets[0].provider_adjustments
    assert plb.items[0].reason == "WO"
    assert str(plb.total) == "-361.19"


def test_modifiers_units_and_revenue_codes() -> None:
    lines = [line for claim in read_sample("era835rb_example_8.835").claims for line in claim.lines]

    assert lines[0].procedure.modifiers == ("59", "GO", "UB")
    assert lines[3].procedure.modifiers == ("GP", "59", "UB", "KX")
    assert lines[3].revenue_code == "0431"
    assert str(lines[4].units) == "1.5"
