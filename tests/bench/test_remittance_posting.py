"""The remittance posting benchmark at a small size: its numbers hang together (no timings checked)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from bench.remittance_posting import run


@pytest.fixture(scope="module")
def result(container: Any) -> dict[str, Any]:
    return run(container, claims=60, seed=11, slug=f"bench-remittance-{uuid4().hex[:8]}")


def test_the_file_is_read_and_most_claims_match_automatically(result: dict[str, Any]) -> None:
    main, truth = result["main_file"], result["main_file"]["truth"]
    assert result["seeding"]["charges"] > 60
    assert result["prior_file"]["claims"] >= 1 and result["prior_file"]["postings_written"] > 0
    assert main["balanced"] and main["findings"] == 0
    assert main["claims"] >= 60
    assert main["auto_match_rate"] > 0.8
    assert main["claims"] == sum(main["matched_by_level"].values()) + main["unmatched"]
    assert truth["matched"] == sum(main["matched_by_level"][level] for level in ("1", "2", "3", "4"))
    assert truth["missed"] == 0
    assert truth["unknown_patients_left_for_review"] >= 1
    assert main["postings_written"] > truth["matched"]
    assert main["totals"]["posted_payments"] + main["totals"]["unmatched_paid"] == main["totals"]["paid"]
    assert set(main["seconds"]) >= {"read_s", "match_s", "post_s", "total_s"}


def test_every_matched_claim_pays_the_charges_the_payer_answered(result: dict[str, Any]) -> None:
    truth = result["main_file"]["truth"]
    assert truth["accuracy"] == 1.0, truth["wrong_examples"]


def test_the_same_bytes_again_post_nothing(result: dict[str, Any]) -> None:
    rerun = result["rerun"]
    assert rerun["same_remittance"] and not rerun["stored_again"]
    assert rerun["postings_written"] == 0
    assert rerun["events_written"] == 0
    assert rerun["posted_payments_unchanged"] and rerun["posted_adjustments_unchanged"]
