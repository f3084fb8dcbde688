"""The compliance history under changing rules: a rebuild from zero equals the incremental
result; a rule version added later recomputes the alert history from its effective date on, while
"were we compliant on date X?" for an earlier date still answers under the old version."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from domain.compliance.rules import GEORGIA_V1, RULESETS
from interfaces.container import Container
from tests.projections.compliance_script import ComplianceScript

# Version 2, in force from 1 April 2026: the supervisor is told at day 5 instead of day 7.
_rule = GEORGIA_V1.rule("GA-NOTE-SIGNATURE")
GEORGIA_V2 = GEORGIA_V1.revise(
    2, date(2026, 4, 1),
    _rule.with_step("reminder", at=3, until=5).with_step("supervisor_alert", at=5),
)


def alert_rows(url: str, practice_id: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT alert_id, rule_code, step, rule_version, status, opened_at, resolved_at, message, since, due "
            "FROM cp_alerts WHERE practice_id = %s ORDER BY opened_at, rule_code, step, alert_id",
            (practice_id,),
        ).fetchall()


def script_month(s: ComplianceScript) -> None:
    """A note signed on day 8 in March and one signed on day 6 in April."""
    supervisor = s.member("supervisor", "LCSW")
    clinician = s.member("clinician", "LCSW", supervisor=supervisor)
    client = s.client(clinician, consent_on=date(2026, 2, 20))
    s.tick(date(2026, 3, 23))
    march = s.note(clinician, client, date(2026, 3, 23), s.visit(clinician, client, date(2026, 3, 23)))
    s.ticks(date(2026, 3, 24), date(2026, 3, 31))
    s.sign(march, clinician, s.at(date(2026, 3, 31), 9))
    s.ticks(date(2026, 4, 1), date(2026, 4, 6))
    april = s.note(clinician, client, date(2026, 4, 6), s.visit(clinician, client, date(2026, 4, 6)))
    s.ticks(date(2026, 4, 7), date(2026, 4, 12))
    s.sign(april, clinician, s.at(date(2026, 4, 12), 10))


def test_rebuild_equals_incremental_and_a_later_rule_version_recomputes_history(
    isolated_container: Any, isolated_database_url: str
) -> None:
    k = isolated_container
    k.migrate()
    s = ComplianceScript(k)
    script_month(s)
    s.settle()
    incremental = alert_rows(isolated_database_url, s.practice_id)
    assert {(r[1], r[2], r[3]) for r in incremental} == {
        ("GA-NOTE-SIGNATURE", "reminder", 1), ("GA-NOTE-SIGNATURE", "supervisor_alert", 1),
        ("ESC-OVERDUE-NOTE", "escalation", 1),
    }
    k.runner("compliance").rebuild()
    assert alert_rows(isolated_database_url, s.practice_id) == incremental

    with s.acting():
        before = k.compliance.as_of(s.practice_id, date(2026, 3, 28))  # March note at day 5
        april = k.compliance.as_of(s.practice_id, date(2026, 4, 11))  # April note at day 5
    assert (before.rule_version, before.compliant) == (1, True)
    assert [(f.rule_code, f.step) for f in before.findings] == [("GA-NOTE-SIGNATURE", "reminder")]
    assert (april.rule_version, april.compliant) == (1, True)

    changed = Container(database_url=isolated_database_url, rulesets=RULESETS.with_version(GEORGIA_V2))
    try:
        changed.runner("compliance").rebuild()
        recomputed = alert_rows(isolated_database_url, s.practice_id)
        with s.acting():
            before = changed.compliance.as_of(s.practice_id, date(2026, 3, 28))
            april = changed.compliance.as_of(s.practice_id, date(2026, 4, 11))
            march_31 = changed.compliance.as_of(s.practice_id, date(2026, 3, 30))
    finally:
        changed.close()
    # The past keeps the rules of the past ...
    assert (before.rule_version, before.compliant) == (1, True)
    assert (march_31.rule_version, [(f.rule_code, f.step) for f in march_31.violations]) == (
        1, [("GA-NOTE-SIGNATURE", "supervisor_alert")])
    # ... and from 1 April the new version judges: day 5 is now a violation.
    assert (april.rule_version, april.ruleset, april.effective_from) == (2, "georgia", date(2026, 4, 1))
    assert [(f.rule_code, f.step, f.since) for f in april.violations] == [
        ("GA-NOTE-SIGNATURE", "supervisor_alert", date(2026, 4, 11))]
    # The March alerts are unchanged; April's note now escalated at day 5 under version 2.
    march_rows = [r for r in recomputed if r[5].date() < date(2026, 4, 1)]
    assert march_rows == [r for r in incremental if r[5].date() < date(2026, 4, 1)]
    april_rows = {(r[1], r[2], r[3], r[5].date()) for r in recomputed if r[5].date() >= date(2026, 4, 1)}
    assert april_rows == {
        ("GA-NOTE-SIGNATURE", "reminder", 2, date(2026, 4, 9)),
        ("GA-NOTE-SIGNATURE", "supervisor_alert", 2, date(2026, 4, 11)),
    }
