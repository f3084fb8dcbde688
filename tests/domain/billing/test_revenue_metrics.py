"""The revenue metrics (seed 001 categories 4 and 13) as pure formulas: values, rounding, status
against the seed's benchmarks, zero denominators and refused inputs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.billing.revenue_metrics import (
    REVENUE_METRICS,
    RevenueCounts,
    average_reimbursement_per_session,
    billing_compliance_rate,
    charge_entry_lag,
    charge_entry_lag_median,
    claim_acceptance_rate,
    collection_rate,
    days_in_ar,
    revenue_metrics,
)
from domain.errors import InvalidCommand

D = Decimal


def test_the_dictionary_holds_the_seed_benchmarks() -> None:
    assert set(REVENUE_METRICS) == {
        "charge_entry_lag", "charge_entry_lag_median", "billing_compliance_rate", "claim_acceptance_rate",
        "average_reimbursement_per_session", "days_in_ar", "collection_rate",
    }
    assert REVENUE_METRICS["charge_entry_lag"].benchmark == "< 1 day"
    assert REVENUE_METRICS["days_in_ar"].benchmark == "< 30 days"
    assert REVENUE_METRICS["collection_rate"].benchmark == ">= 95%"
    assert {m.category for m in REVENUE_METRICS.values()} == {"billing_revenue", "financial_health"}
    assert all(m.formula and m.name and m.unit for m in REVENUE_METRICS.values())


def test_charge_entry_lag_mean_and_median() -> None:
    lags = {0: 5, 1: 2, 4: 1, 10: 1}  # nine charges
    mean = charge_entry_lag(lags)
    assert (mean.value, mean.numerator, mean.denominator) == (D("1.8"), 16, 9)
    assert mean.status == "watch"  # 1.78 days: not below 1, not above 3
    median = charge_entry_lag_median(lags)
    assert (median.value, median.status) == (D("0.0"), "on_target")
    even = charge_entry_lag_median({1: 1, 4: 1})
    assert even.value == D("2.5")
    assert charge_entry_lag({0: 3}).status == "on_target"
    assert charge_entry_lag({5: 1}).status == "alert"
    assert charge_entry_lag({3: 1}).status == "watch"  # the alert is above 3 days


def test_charge_entry_lag_without_charges_has_no_data() -> None:
    for metric in (charge_entry_lag({}), charge_entry_lag_median({}), charge_entry_lag({2: 0})):
        assert (metric.value, metric.status) == (None, "no_data")
    with pytest.raises(InvalidCommand):
        charge_entry_lag({-1: 2})


def test_billing_compliance_rate() -> None:
    assert billing_compliance_rate(20, 20).status == "on_target"
    m = billing_compliance_rate(19, 20)
    assert (m.value, m.status) == (D("95.0"), "watch")
    assert billing_compliance_rate(18, 20).status == "alert"
    assert billing_compliance_rate(0, 0).status == "no_data"
    with pytest.raises(InvalidCommand):
        billing_compliance_rate(3, 2)


def test_claim_acceptance_rate_is_none_until_claims_exist() -> None:
    none = claim_acceptance_rate(0, 0)
    assert (none.value, none.status) == (None, "no_data")
    assert claim_acceptance_rate(19, 20).status == "on_target"
    m = claim_acceptance_rate(2, 3)
    assert (m.value, m.status) == (D("66.7"), "alert")
    with pytest.raises(InvalidCommand):
        claim_acceptance_rate(4, 3)


def test_average_reimbursement_is_to_the_cent() -> None:
    m = average_reimbursement_per_session(D("250.00"), 3)
    assert (m.value, m.numerator, m.denominator, m.status) == (D("83.33"), D("250.00"), 3, "no_benchmark")
    assert average_reimbursement_per_session(D("0.00"), 0).status == "no_data"
    with pytest.raises(InvalidCommand):
        average_reimbursement_per_session(250.0, 3)  # type: ignore[arg-type]


def test_days_in_ar() -> None:
    # 31 days, 6,200.00 charged (200.00 a day), 5,000.00 open: 25 days.
    m = days_in_ar(D("5000.00"), D("6200.00"), 31)
    assert (m.value, m.numerator, m.denominator, m.status) == (D("25.0"), D("5000.00"), D("200.00"), "on_target")
    assert days_in_ar(D("7000.00"), D("6200.00"), 31).status == "watch"  # 35 days
    assert days_in_ar(D("9400.00"), D("6200.00"), 31).status == "alert"  # 47 days
    exact = days_in_ar(D("100.00"), D("300.00"), 7)  # 2.333... days, the daily average rounded for show only
    assert (exact.value, exact.denominator) == (D("2.3"), D("42.86"))
    assert days_in_ar(D("100.00"), D("0.00"), 31).status == "no_data"
    assert days_in_ar(D("100.00"), D("-5.00"), 31).value is None
    assert days_in_ar(D("0.00"), D("10.00"), 0).status == "no_data"


def test_collection_rate_leaves_out_contractual_adjustments() -> None:
    m = collection_rate(D("760.00"), D("1000.00"), D("200.00"))
    assert (m.value, m.numerator, m.denominator, m.status) == (D("95.0"), D("760.00"), D("800.00"), "on_target")
    assert collection_rate(D("720.00"), D("1000.00"), D("200.00")).status == "watch"  # 90%
    assert collection_rate(D("700.00"), D("1000.00"), D("200.00")).status == "alert"  # 87.5%
    assert collection_rate(D("10.00"), D("100.00"), D("100.00")).status == "no_data"
    assert collection_rate(D("0.00"), D("0.00"), D("0.00")).value is None


def test_revenue_metrics_from_counts() -> None:
    counts = RevenueCounts(
        days=31, lag_days={0: 3, 2: 1}, completed_sessions=5, charged_sessions=4, charges=D("620.00"),
        payments=D("400.00"), contractual_adjustments=D("100.00"), open_balance=D("120.00"), reimbursed=D("400.00"),
        sessions_paid=4, claims_billed=2, claims_accepted=1,
    )
    got = revenue_metrics(counts)
    assert set(got) == set(REVENUE_METRICS)
    assert got["charge_entry_lag"].value == D("0.5")
    assert got["billing_compliance_rate"].value == D("80.0")
    assert got["claim_acceptance_rate"].value == D("50.0")
    assert got["average_reimbursement_per_session"].value == D("100.00")
    assert got["days_in_ar"].value == D("6.0")
    assert got["collection_rate"].value == D("76.9")
    empty = revenue_metrics(RevenueCounts(days=30))
    assert all(m.status == "no_data" for code, m in empty.items())
