"""Billing, revenue and financial-health metrics: seed 001, Module 7, categories 4 and 13. Like
`domain.scheduling.metrics`, each metric is a pure function of counts (here also sums of money) a
read model keeps, returning a `MetricValue`; `REVENUE_METRICS` is their dictionary.

Conventions (those of `domain.scheduling.metrics`, plus):
- A period is a range of the practice's local dates, both included; money moves on the local date
  of the moment it was recorded (a charge entered, a payment applied, an adjustment posted).
- Percentages and days are rounded half-up to one decimal, money to the cent; the status is judged
  on the exact value; "no_data" (value None) when the denominator is zero or less.
- "Charges" of a period are the charges entered in it less those voided in it, plus what client
  invoices sent in it bill beyond their charge lines (service lines + tax - discount).
- "Payments" are payment money applied in the period to charges and invoices, net of applications
  taken back in it (insurance postings from 835s included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from domain.billing.money import CENTS
from domain.errors import InvalidCommand
from domain.scheduling.metrics import HUNDRED, ONE_PLACE, MetricDefinition, MetricValue, Number, check_counts

CONTRACTUAL_GROUP = "CO"
CONTRACTUAL_REASON = "45"  # CARC 45: charge exceeds the fee schedule / contracted amount
DENIED = "4"  # CLP02 4: the claim is denied
REVERSAL = "22"  # CLP02 22: a reversal of an earlier payment, not an answer to the claim as billed


def _d(text: str) -> Decimal:
    return Decimal(text)


REVENUE_METRICS: dict[str, MetricDefinition] = {
    m.code: m
    for m in (
        MetricDefinition(
            "charge_entry_lag", "Charge Entry Lag", "billing_revenue",
            "sum of (local date of entry - service date) in days / charges entered", "days", "< 1 day",
            target_below=_d("1"), alert_above=_d("3")),
        MetricDefinition(
            "charge_entry_lag_median", "Charge Entry Lag (Median)", "billing_revenue",
            "median of (local date of entry - service date) in days over the charges entered", "days", "< 1 day",
            target_below=_d("1"), alert_above=_d("3")),
        MetricDefinition(
            "billing_compliance_rate", "Billing Compliance Rate", "billing_revenue",
            "completed sessions with a live charge / completed sessions x 100", "percent", "100%",
            target_min=_d("100"), alert_below=_d("95")),
        MetricDefinition(
            "claim_acceptance_rate", "Claim Acceptance Rate", "billing_revenue",
            "claims billed with an 835 answer that is not a denial / claims billed x 100", "percent", ">= 95%",
            target_min=_d("95"), alert_below=_d("90")),
        MetricDefinition(
            "average_reimbursement_per_session", "Average Reimbursement Per Session", "billing_revenue",
            "insurance and patient payments applied to session charges / sessions (charges) paid", "dollars",
            "varies by payer mix"),
        MetricDefinition(
            "days_in_ar", "Days in Accounts Receivable", "financial_health",
            "open balances at the period's end / (charges of the period / days of the period)", "days",
            "< 30 days", target_below=_d("30"), alert_above=_d("45")),
        MetricDefinition(
            "collection_rate", "Collection Rate", "financial_health",
            "payments / (charges - contractual adjustments CO-45) x 100", "percent", ">= 95%",
            target_min=_d("95"), alert_below=_d("90")),
    )
}


def _no_data(code: str, numerator: Number, denominator: Number) -> MetricValue:
    return MetricValue(None, numerator, denominator, REVENUE_METRICS[code].benchmark, "no_data")


def _judged(code: str, exact: Decimal, numerator: Number, denominator: Number, places: Decimal = ONE_PLACE
            ) -> MetricValue:
    definition = REVENUE_METRICS[code]
    value = exact.quantize(places, rounding=ROUND_HALF_UP)
    return MetricValue(value, numerator, denominator, definition.benchmark, definition.status(exact))


def _check_money(**amounts: Decimal) -> None:
    for name, amount in amounts.items():
        if isinstance(amount, bool) or not isinstance(amount, Decimal) or not amount.is_finite():
            raise InvalidCommand(f"{name} is an amount of money.", field=name)


def charge_entry_lag(lag_days: Mapping[int, int]) -> MetricValue:
    """Charges entered in the period, each (local date it was entered - its service date) in days:
    their sum / their number. `lag_days` counts the charges per lag (a histogram)."""
    for lag, count in lag_days.items():
        check_counts(lag=lag, count=count)
    charges = sum(lag_days.values())
    total = sum(lag * count for lag, count in lag_days.items())
    if charges == 0:
        return _no_data("charge_entry_lag", total, charges)
    return _judged("charge_entry_lag", Decimal(total) / Decimal(charges), total, charges)


def charge_entry_lag_median(lag_days: Mapping[int, int]) -> MetricValue:
    """The median of the same lags (the mean of the two middle ones for an even number of
    charges); numerator the median, denominator 1 (the count of charges is in the lag metric)."""
    for lag, count in lag_days.items():
        check_counts(lag=lag, count=count)
    charges = sum(lag_days.values())
    if charges == 0:
        return _no_data("charge_entry_lag_median", 0, 0)
    ordered = sorted((lag, count) for lag, count in lag_days.items() if count)

    def nth(n: int) -> int:  # 0-based
        seen = 0
        for lag, count in ordered:
            seen += count
            if n < seen:
                return lag
        raise AssertionError("unreachable")

    middle = (Decimal(nth((charges - 1) // 2)) + Decimal(nth(charges // 2))) / 2
    return _judged("charge_entry_lag_median", middle, middle, 1)


def billing_compliance_rate(charged: int, completed: int) -> MetricValue:
    """Completed sessions of the period (local date of the visit) with a live charge / completed
    sessions x 100. A voided charge no longer counts; the session needs a new one."""
    check_counts(charged=charged, completed=completed)
    if charged > completed:
        raise InvalidCommand("charged cannot exceed completed.", field="charged")
    if completed == 0:
        return _no_data("billing_compliance_rate", charged, completed)
    return _judged("billing_compliance_rate", Decimal(charged) * HUNDRED / completed, charged, completed)


def claim_acceptance_rate(accepted: int, billed: int) -> MetricValue:
    """Claims billed in the period (distinct claim numbers) that an 835 matched to one of their
    charges has answered (so far) with anything but a denial (CLP02 4) or a reversal (22) / claims
    billed x 100. Without claims (`billed` 0) the value is None."""
    check_counts(accepted=accepted, billed=billed)
    if accepted > billed:
        raise InvalidCommand("accepted cannot exceed billed.", field="accepted")
    if billed == 0:
        return _no_data("claim_acceptance_rate", accepted, billed)
    return _judged("claim_acceptance_rate", Decimal(accepted) * HUNDRED / billed, accepted, billed)


def average_reimbursement_per_session(reimbursed: Decimal, sessions: int) -> MetricValue:
    """Payments (insurers' and patients') applied in the period to charges / the number of
    charges (sessions) they were applied to, to the cent."""
    _check_money(reimbursed=reimbursed)
    check_counts(sessions=sessions)
    if sessions == 0:
        return _no_data("average_reimbursement_per_session", reimbursed, sessions)
    return _judged("average_reimbursement_per_session", reimbursed / sessions, reimbursed, sessions, CENTS)


def days_in_ar(open_balance: Decimal, charges: Decimal, days: int) -> MetricValue:
    """Open balances (charges and invoices) at the end of the period's last day / the period's
    average daily charges (charges / days of the period). The denominator is reported as that
    daily average, to the cent; the value is computed exactly. No charges: no data."""
    _check_money(open_balance=open_balance, charges=charges)
    check_counts(days=days)
    if days == 0 or charges <= 0:
        return _no_data("days_in_ar", open_balance, Decimal(0))
    daily = (charges / days).quantize(CENTS, rounding=ROUND_HALF_UP)
    return _judged("days_in_ar", open_balance * days / charges, open_balance, daily)


def collection_rate(payments: Decimal, charges: Decimal, contractual: Decimal) -> MetricValue:
    """Payments of the period / (charges of the period - contractual adjustments CO-45 posted in
    it) x 100: what was collected of what the practice may collect. Denominator zero or less: no
    data."""
    _check_money(payments=payments, charges=charges, contractual=contractual)
    collectible = charges - contractual
    if collectible <= 0:
        return _no_data("collection_rate", payments, collectible)
    return _judged("collection_rate", payments * HUNDRED / collectible, payments, collectible)


@dataclass(frozen=True)
class RevenueCounts:
    """What a read model counts for one period (see each metric for the exact meaning)."""

    days: int
    lag_days: dict[int, int] = field(default_factory=dict)
    completed_sessions: int = 0
    charged_sessions: int = 0
    charges: Decimal = Decimal("0.00")
    payments: Decimal = Decimal("0.00")
    contractual_adjustments: Decimal = Decimal("0.00")
    open_balance: Decimal = Decimal("0.00")
    reimbursed: Decimal = Decimal("0.00")
    sessions_paid: int = 0
    claims_billed: int = 0
    claims_accepted: int = 0


def revenue_metrics(c: RevenueCounts) -> dict[str, MetricValue]:
    """Every metric of this module from one period's counts."""
    return {
        "charge_entry_lag": charge_entry_lag(c.lag_days),
        "charge_entry_lag_median": charge_entry_lag_median(c.lag_days),
        "billing_compliance_rate": billing_compliance_rate(c.charged_sessions, c.completed_sessions),
        "claim_acceptance_rate": claim_acceptance_rate(c.claims_accepted, c.claims_billed),
        "average_reimbursement_per_session": average_reimbursement_per_session(c.reimbursed, c.sessions_paid),
        "days_in_ar": days_in_ar(c.open_balance, c.charges, c.days),
        "collection_rate": collection_rate(c.payments, c.charges, c.contractual_adjustments),
    }
