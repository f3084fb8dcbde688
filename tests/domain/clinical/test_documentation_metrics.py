"""The documentation, quality, supervision and consent metrics as pure functions: formulas,
benchmarks and alert thresholds at their edges, rounding, refusals, the thresholds taken from the
rule set, the compliance rate and the dashboards' status rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.billing.revenue_metrics import REVENUE_METRICS
from domain.clinical.documentation_metrics import (
    DOCUMENTATION_METRICS,
    METRIC_DICTIONARY,
    Thresholds,
    average_documentation_time,
    client_retention_90,
    compliance_rate_of,
    crisis_intervention_rate,
    documentation_metrics,
    hipaa_training_current,
    informed_consent_coverage,
    minor_consent_coverage,
    month_of,
    performance_status,
    safety_plan_compliance,
    same_day_documentation_rate,
    supervision_hours,
    supervision_month,
    supervision_note_timeliness,
    supervision_total,
    telehealth_consent_coverage,
    thresholds,
    treatment_plan_currency,
    unsigned_note_backlog,
)
from domain.compliance.rules import GEORGIA_V1, PLAN_REVIEW, SUPERVISION_HOURS
from domain.errors import InvalidCommand
from domain.scheduling.metrics import METRICS, MetricValue

Rate = Callable[[int, int], MetricValue]


def test_seed_001_s_clinician_dashboard_numbers() -> None:
    """Seed 001 "My Practice": same-day documentation 85% (below the 90% target), 18 hours."""
    assert same_day_documentation_rate(17, 20) == MetricValue(Decimal("85.0"), 17, 20, ">= 90%", "watch")
    eighteen = average_documentation_time(timedelta(hours=36), 2)
    assert eighteen == MetricValue(Decimal("18.0"), Decimal(36), 2, "< 24 hours", "on_target")


@pytest.mark.parametrize(
    ("metric", "part", "whole", "value", "status"),
    [
        (same_day_documentation_rate, 9, 10, "90.0", "on_target"),
        (same_day_documentation_rate, 4, 5, "80.0", "watch"),
        (same_day_documentation_rate, 3999, 5000, "80.0", "alert"),  # 79.98 shows as 80.0, below 80
        (treatment_plan_currency, 20, 20, "100.0", "on_target"),
        (treatment_plan_currency, 19, 20, "95.0", "watch"),
        (treatment_plan_currency, 18, 20, "90.0", "alert"),
        (client_retention_90, 7, 10, "70.0", "on_target"),
        (client_retention_90, 6, 10, "60.0", "watch"),
        (client_retention_90, 59, 100, "59.0", "alert"),
        (crisis_intervention_rate, 4, 100, "4.0", "on_target"),
        (crisis_intervention_rate, 5, 100, "5.0", "watch"),  # the benchmark is strictly below 5%
        (crisis_intervention_rate, 10, 100, "10.0", "watch"),
        (crisis_intervention_rate, 11, 100, "11.0", "alert"),
        (safety_plan_compliance, 3, 3, "100.0", "on_target"),
        (safety_plan_compliance, 2, 3, "66.7", "alert"),
        (supervision_note_timeliness, 1, 2, "50.0", "alert"),
        (informed_consent_coverage, 999, 1000, "99.9", "alert"),
        (minor_consent_coverage, 1, 1, "100.0", "on_target"),
        (telehealth_consent_coverage, 0, 1, "0.0", "alert"),
        (hipaa_training_current, 4, 5, "80.0", "alert"),
    ],
)
def test_rates_benchmarks_and_alert_thresholds(metric: Rate, part: int, whole: int, value: str, status: str) -> None:
    m = metric(part, whole)
    assert (m.value, m.numerator, m.denominator, m.status) == (Decimal(value), part, whole, status)


@pytest.mark.parametrize("metric", [same_day_documentation_rate, treatment_plan_currency, hipaa_training_current])
def test_no_denominator_is_no_data_and_bad_counts_are_refused(metric: Rate) -> None:
    assert metric(0, 0) == MetricValue(None, 0, 0, metric(1, 1).benchmark, "no_data")
    with pytest.raises(InvalidCommand):
        metric(3, 2)
    with pytest.raises(InvalidCommand):
        metric(-1, 2)
    with pytest.raises(InvalidCommand):
        metric(True, 2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("total", "signed", "value", "status"),
    [
        (timedelta(hours=23, minutes=59), 1, "24.0", "on_target"),  # 23.98 h shows as 24.0, still under 24
        (timedelta(hours=24), 1, "24.0", "watch"),
        (timedelta(hours=48), 1, "48.0", "watch"),
        (timedelta(hours=48, seconds=1), 1, "48.0", "alert"),
        (timedelta(hours=30), 3, "10.0", "on_target"),
        (timedelta(0), 0, None, "no_data"),
    ],
)
def test_average_documentation_time_in_hours(total: timedelta, signed: int, value: str | None, status: str) -> None:
    m = average_documentation_time(total, signed)
    assert (m.value, m.denominator, m.status) == (None if value is None else Decimal(value), signed, status)
    assert m.numerator == Decimal(total // timedelta(microseconds=1)) / Decimal(3_600_000_000)


def test_average_documentation_time_refuses_negative_totals() -> None:
    with pytest.raises(InvalidCommand):
        average_documentation_time(timedelta(hours=-1), 1)


@pytest.mark.parametrize(("count", "status"), [(0, "on_target"), (1, "watch"), (5, "watch"), (6, "alert")])
def test_unsigned_note_backlog_is_a_count(count: int, status: str) -> None:
    assert unsigned_note_backlog(count) == MetricValue(Decimal(count), count, 1, "0", status)


def test_supervision_hours_watch_while_the_month_runs_alert_once_it_is_over() -> None:
    assert supervision_hours(Decimal("1.5"), Decimal("2"), month_over=False) == MetricValue(
        Decimal("75.0"), Decimal("1.5"), Decimal("2"), "required hours (100%)", "watch")
    assert supervision_hours(Decimal("1.5"), Decimal("2"), month_over=True).status == "alert"
    assert supervision_hours(Decimal("4"), Decimal("4"), month_over=True).status == "on_target"
    assert supervision_hours(Decimal("0"), Decimal("0"), month_over=True).status == "no_data"


def test_a_team_s_supervision_counts_each_supervisee_up_to_their_requirement() -> None:
    march = date(2026, 3, 1)
    rows = [supervision_month(uuid4(), "LMSW", march, Decimal("8"), Decimal("4"), False),
            supervision_month(uuid4(), "LPC-Associate", march, Decimal("0.5"), Decimal("2"), False)]
    assert (rows[0].month, rows[0].month_end, rows[0].remaining, rows[1].remaining) == (
        march, date(2026, 3, 31), Decimal(0), Decimal("1.5"))
    total = supervision_total(rows, month_over=False)
    assert (total.value, total.numerator, total.denominator, total.status) == (
        Decimal("75.0"), Decimal("4.5"), Decimal("6"), "watch")


def test_compliance_rate_adds_every_kind_of_item() -> None:
    counts = {"completed_sessions": 5, "notes_in_order": 4, "active_clients": 5, "plans_current": 1,
              "informed_covered": 3, "minor_clients": 1, "minors_covered": 0, "telehealth_clients": 1,
              "telehealth_covered": 1, "high_risk_clients": 2, "safety_plans_covered": 1, "staff": 1,
              "staff_trained": 1}
    assert compliance_rate_of(counts) == MetricValue(Decimal("55.0"), 11, 20, "100%", "alert")
    assert compliance_rate_of({"completed_sessions": 10, "notes_in_order": 9}).status == "watch"  # 90%
    assert compliance_rate_of({}).status == "no_data"


def test_every_metric_from_a_report_s_counts() -> None:
    counts = dict.fromkeys(
        ("completed_sessions", "same_day_signed", "signed_sessions", "crisis_sessions", "overdue_in_period",
         "notes_in_order", "unsigned_notes", "overdue_notes", "active_clients", "plans_current", "informed_covered",
         "minor_clients", "minors_covered", "telehealth_clients", "telehealth_covered", "high_risk_clients",
         "safety_plans_covered", "retention_cohort", "retained", "supervision_sessions", "supervision_timely",
         "staff", "staff_trained"), 0)
    counts.update(completed_sessions=4, same_day_signed=3, signed_sessions=2, crisis_sessions=1, staff=1,
                  staff_trained=1, notes_in_order=4)
    metrics = documentation_metrics(counts, timedelta(hours=5), [], month_over=False)
    assert list(metrics) == [
        "same_day_documentation_rate", "average_documentation_time", "unsigned_note_backlog",
        "treatment_plan_currency", "client_retention_90", "crisis_intervention_rate", "safety_plan_compliance",
        "supervision_hours", "supervision_note_timeliness", "informed_consent_coverage", "minor_consent_coverage",
        "telehealth_consent_coverage", "hipaa_training_current", "compliance_rate",
    ]
    assert metrics["same_day_documentation_rate"].value == Decimal("75.0")
    assert metrics["average_documentation_time"].value == Decimal("2.5")
    assert metrics["crisis_intervention_rate"] == MetricValue(Decimal("25.0"), 1, 4, "< 5%", "alert")
    assert metrics["supervision_hours"].status == "no_data"
    assert metrics["compliance_rate"] == MetricValue(Decimal("100.0"), 5, 5, "100%", "on_target")


@pytest.mark.parametrize(
    ("statuses", "overdue", "expected"),
    [
        (("on_target", "on_target", "no_data"), 0, "on_track"),
        (("on_target", "watch"), 0, "review"),
        (("watch", "alert"), 0, "urgent"),
        (("on_target", "on_target"), 1, "urgent"),  # a note unsigned 7 days is a Georgia violation
        (("no_data", "no_benchmark"), 0, "on_track"),
    ],
)
def test_performance_status(statuses: tuple[str, ...], overdue: int, expected: str) -> None:
    values = [MetricValue(None, 0, 0, "", s) for s in statuses]
    assert performance_status(values, overdue) == expected


def test_thresholds_follow_the_rule_set_in_force() -> None:
    assert thresholds(GEORGIA_V1) == Thresholds(
        note_overdue_days=7, plan_overdue_days=91, supervision_note_days=7,
        supervision_hours={"LPC": Decimal("2"), "LPC-Associate": Decimal("2"), "LMSW": Decimal("4"),
                           "LMFT-Associate": Decimal("2"), "intern": Decimal("4")},
    )
    plan = GEORGIA_V1.rule("GA-PLAN-REVIEW")
    stricter = plan.with_step("out_of_compliance", at=61).with_step("alert", at=60, until=61).with_step(
        "reminder", at=50, until=60)
    hours = GEORGIA_V1.rule("GA-SUPERVISION-HOURS").with_params(LMSW=Decimal("6"))
    revised = GEORGIA_V1.revise(2, date(2027, 1, 1), stricter, hours)
    assert (stricter.kind, hours.kind) == (PLAN_REVIEW, SUPERVISION_HOURS)
    found = thresholds(revised)
    assert (found.plan_overdue_days, found.supervision_hours["LMSW"]) == (61, Decimal("6"))
    bare = dataclasses.replace(GEORGIA_V1, rules=())
    assert thresholds(bare) == Thresholds()


def test_the_dictionary_holds_both_families_without_changing_the_schedule_metrics() -> None:
    assert set(METRIC_DICTIONARY) == set(METRICS) | set(DOCUMENTATION_METRICS) | set(REVENUE_METRICS)
    assert not set(METRICS) & set(DOCUMENTATION_METRICS)
    assert {m.category for m in DOCUMENTATION_METRICS.values()} == {
        "documentation_compliance", "clinical_quality", "supervision_compliance", "georgia_compliance",
        "risk_management"}
    assert DOCUMENTATION_METRICS["average_documentation_time"].unit == "hours"
    assert DOCUMENTATION_METRICS["treatment_plan_currency"].alert_below == Decimal(95)


def test_month_of() -> None:
    assert month_of(date(2028, 2, 14)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_of(date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))
