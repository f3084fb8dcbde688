"""Every 835 of the public sample corpus (../shared/era-samples, skipped when absent) imports
through the service without an exception, and its report lists the balancing findings exactly as
the reader's balance_report names them; the files INDEX.md marks unbalanced report imbalances."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from domain.remittance.era835 import balance_report, read_era
from domain.remittance.summaries import finding_row
from tests.application.remittance.support import Office, make_office
from tests.conftest import ROOT

SAMPLES = ROOT.parent / "shared" / "era-samples"
FILES = sorted(p for p in SAMPLES.glob("*") if p.is_file() and p.name != "INDEX.md") if SAMPLES.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason=f"no sample corpus at {SAMPLES}")
_CELL = re.compile(r"(?<!\\)\|")
_BALANCED = re.compile(r"(\d+)/(\d+)")


@cache
def balanced_per_index() -> dict[str, tuple[int, int]]:
    """file -> (balanced transaction sets, transaction sets), from INDEX.md's `bal` column."""
    rows = {}
    for text in (SAMPLES / "INDEX.md").read_text().splitlines():
        cells = [c.strip() for c in _CELL.split(text)]
        if len(cells) == 8 and (found := _BALANCED.fullmatch(cells[5])) and (SAMPLES / cells[1]).is_file():
            rows[cells[1]] = (int(found.group(1)), int(found.group(2)))
    return rows


@pytest.fixture(scope="module")
def office(container: Any, tmp_path_factory: pytest.TempPathFactory) -> Office:
    return make_office(container, tmp_path_factory.mktemp("era-samples"))


def test_the_index_covers_every_file() -> None:
    assert set(balanced_per_index()) == {p.name for p in FILES}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_sample_imports_and_reports_its_balancing(office: Office, path: Path) -> None:
    data = path.read_bytes()
    report = office.import_(data, path.name)

    expected = balance_report(read_era(data))
    assert [_row(f) for f in report.findings] == [finding_row(f) for f in expected.findings]
    assert report.balanced == expected.balanced
    assert [ts.balanced for ts in report.transaction_sets] == [ts.balanced for ts in expected.transaction_sets]
    assert report.claims == len(read_era(data).claims)
    assert report.unmatched + sum(report.matched_by_level.values()) == report.claims

    balanced, sets = balanced_per_index()[path.name]
    assert (sum(ts.balanced for ts in report.transaction_sets), report.transaction_set_count) == (balanced, sets)
    if balanced < sets:
        assert not report.balanced
        assert any(f.code == "transaction-balance" and f.level == "transaction" for f in report.imbalances)


def _row(finding: Any) -> dict[str, Any]:
    return {
        "level": finding.level, "severity": finding.severity, "code": finding.code, "message": finding.message,
        "location": finding.location, "expected": None if finding.expected is None else str(finding.expected),
        "actual": None if finding.actual is None else str(finding.actual),
    }
