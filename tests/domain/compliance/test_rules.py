from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.compliance.rules import (
    GEORGIA_V1,
    NOTE_SIGNATURE,
    RULESETS,
    NoRuleSetInForce,
    Rule,
    RuleSet,
    RuleSetVersions,
    Step,
)
from domain.errors import InvalidCommand


def ladder(code: str) -> list[tuple[str, int, int | None, str, str]]:
    return [(s.name, s.at, s.until, s.severity, s.target) for s in GEORGIA_V1.rule(code).steps]


def test_georgia_v1_note_signature_ladder() -> None:
    assert ladder("GA-NOTE-SIGNATURE") == [
        ("reminder", 5, 7, "warning", "clinician"),
        ("supervisor_alert", 7, None, "critical", "supervisor"),
        ("billing_hold", 14, None, "critical", "admin"),
    ]


def test_georgia_v1_plan_consent_and_training_ladders() -> None:
    assert [(n, at) for n, at, *_ in ladder("GA-PLAN-REVIEW")] == [
        ("reminder", 80), ("alert", 90), ("out_of_compliance", 91)
    ]
    assert [(n, at) for n, at, *_ in ladder("GA-INFORMED-CONSENT")] == [("reminder", -30), ("alert", 0)]
    assert [(n, at) for n, at, *_ in ladder("GA-HIPAA-TRAINING")] == [("reminder", -30), ("alert", 0)]


def test_thresholds_are_data() -> None:
    assert GEORGIA_V1.rule("GA-SUPERVISION-HOURS").params == {
        "LPC": Decimal(2), "LPC-Associate": Decimal(2), "LMSW": Decimal(4), "LMFT-Associate": Decimal(2),
        "intern": Decimal(4),
    }
    assert GEORGIA_V1.rule("ESC-UNSIGNED-BACKLOG").param("max_unsigned") == 5
    assert GEORGIA_V1.rule("ESC-LOW-KVR").params == {"floor_percent": Decimal(70), "weeks": Decimal(2)}
    assert GEORGIA_V1.rule("ESC-NO-SHOW").param("max_percent") == 20
    assert GEORGIA_V1.rule("ESC-PRACTICE-KVR").param("max_drop_points") == 5
    assert GEORGIA_V1.rule("ESC-VIOLATION-SPREAD").param("max_clinicians") == 2
    with pytest.raises(InvalidCommand):
        GEORGIA_V1.rule("ESC-NO-SHOW").param("nope")


def test_every_seed_rule_is_present() -> None:
    assert {r.code for r in GEORGIA_V1.rules} == {
        "GA-NOTE-SIGNATURE", "GA-PLAN-REVIEW", "GA-INFORMED-CONSENT", "GA-SUPERVISION-HOURS",
        "GA-SUPERVISION-NOTE", "GA-MINOR-CONSENT", "GA-TELEHEALTH-CONSENT", "GA-SAFETY-PLAN",
        "GA-HIPAA-TRAINING", "ESC-UNSIGNED-BACKLOG", "ESC-OVERDUE-NOTE", "ESC-LOW-KVR", "ESC-NO-SHOW",
        "ESC-PRACTICE-KVR", "ESC-VIOLATION-SPREAD", "DQ-NOTE-LINK", "DQ-DEMOGRAPHICS",
    }


def v2() -> RuleSet:
    note = GEORGIA_V1.rule("GA-NOTE-SIGNATURE").with_step("reminder", at=3, until=5).with_step("supervisor_alert", at=5)
    return GEORGIA_V1.revise(2, date(2024, 3, 1), note)


def test_in_force_picks_the_version_effective_on_the_date() -> None:
    versions = RULESETS.with_version(v2())
    assert versions.in_force(date(2024, 2, 29)).version == 1
    assert versions.in_force(date(2024, 3, 1)).version == 2
    assert versions.in_force(date(2030, 1, 1)).version == 2
    assert RULESETS.in_force(date(2030, 1, 1)) is GEORGIA_V1
    with pytest.raises(NoRuleSetInForce):
        RULESETS.in_force(date(2019, 12, 31))


def test_revise_replaces_only_the_changed_rules() -> None:
    new = v2()
    assert new.rule("GA-NOTE-SIGNATURE").steps[0].at == 3
    assert new.rule("GA-PLAN-REVIEW") is GEORGIA_V1.rule("GA-PLAN-REVIEW")
    assert [r.code for r in new.rules] == [r.code for r in GEORGIA_V1.rules]
    assert GEORGIA_V1.rule("GA-NOTE-SIGNATURE").steps[0].at == 5
    assert "GA-SAFETY-PLAN" not in {r.code for r in GEORGIA_V1.revise(3, date(2025, 1, 1), removed=["GA-SAFETY-PLAN"]).rules}


def test_versions_must_take_effect_in_order() -> None:
    with pytest.raises(InvalidCommand):
        RULESETS.with_version(GEORGIA_V1.revise(2, GEORGIA_V1.effective_from))
    with pytest.raises(InvalidCommand):
        RULESETS.with_version(GEORGIA_V1.revise(1, date(2025, 1, 1)))
    with pytest.raises(InvalidCommand):
        RuleSetVersions(())


def test_malformed_rules_are_rejected() -> None:
    step = Step("s", 1, "info", "clinician", "m", "a")
    with pytest.raises(InvalidCommand):
        Rule("X", "no_such_kind", "condition", (step,))
    with pytest.raises(InvalidCommand):
        Rule("X", NOTE_SIGNATURE, "days_since", ())
    with pytest.raises(InvalidCommand):
        Rule("X", NOTE_SIGNATURE, "days_since", (step, step))
    with pytest.raises(InvalidCommand):
        Rule("X", NOTE_SIGNATURE, "days_since", (Step("s", 5, "info", "clinician", "m", "a", until=5),))
    with pytest.raises(InvalidCommand):
        GEORGIA_V1.rule("GA-NOTE-SIGNATURE").with_step("nope", at=1)
    rule = Rule("X", NOTE_SIGNATURE, "days_since", (step,))
    with pytest.raises(InvalidCommand):
        RuleSet("georgia", 9, date(2024, 1, 1), (rule, rule))
