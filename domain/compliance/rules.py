"""Compliance rules as versioned data (seed 001, Module 7: Georgia-specific compliance rules,
alerts and nudges, supervisor and administrator escalations).

A `RuleSet` is one dated version of a practice's rules; `RULESETS` holds every version and
`in_force(on)` answers "which rules applied on that date", so a question about the past is
judged by the rules of the past. To change a rule, add a version (`RuleSet.revise`) with a later
`effective_from`; never edit a published one.

A `Rule` is interpreted by the evaluator registered for its `kind` (domain.compliance.evaluation).
Its `steps` are an escalation ladder: a step holds from `at` (inclusive) until `until`
(exclusive; None = for as long as the condition lasts), in the rule's `unit`:

- "days_since": calendar days in the practice's time zone after the anchor date (session date,
  last plan review, date flagged high-risk). Day N is the local date anchor + N days, and a step
  with at=N holds from 00:00 local time on that date. A note from Monday 1 January is at day 5 on
  Saturday 6 January, so its reminder is shown from 6 January 00:00 on.
- "days_to_expiry": days relative to the first local date on which the thing is no longer valid
  (-30 = 30 days before it, 0 = on that date).
- "days_to_month_end": days relative to the first day of the next month (-7 = the last seven
  days of the month, 0 = the month is over and its total is final).
- "condition": escalations and coverage gaps; one step at 0 holds while the condition does,
  with the thresholds in `params`.

`params` carry the other thresholds as data (hours per license type, percentages, counts).
Message templates are `str.format` templates over the names each evaluator documents; they
name dates, counts and rates, never a client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Literal

from domain.errors import DomainError, InvalidCommand

Severity = Literal["info", "warning", "critical"]
Target = Literal["clinician", "supervisor", "admin"]
"""Who is told. For staff rules (HIPAA training, supervision hours) "clinician" is the staff
member concerned; "supervisor" is the subject's supervisor; "admin" the practice administrators."""
Unit = Literal["days_since", "days_to_expiry", "days_to_month_end", "condition"]

NOTE_SIGNATURE = "note_signature"
PLAN_REVIEW = "treatment_plan_review"
INFORMED_CONSENT = "informed_consent_expiry"
SUPERVISION_HOURS = "supervision_hours"
SUPERVISION_NOTE = "supervision_note_signature"
MINOR_CONSENT = "minor_consent_coverage"
TELEHEALTH_CONSENT = "telehealth_consent_coverage"
SAFETY_PLAN = "safety_plan_coverage"
HIPAA_TRAINING = "hipaa_training_expiry"
ESC_UNSIGNED_BACKLOG = "escalation_unsigned_backlog"
ESC_OVERDUE_NOTE = "escalation_overdue_note"
ESC_LOW_KVR = "escalation_low_kvr"
ESC_NO_SHOW = "escalation_no_show_rate"
ESC_PRACTICE_KVR = "escalation_practice_kvr_drop"
ESC_VIOLATION_SPREAD = "escalation_violation_spread"
DQ_NOTE_LINK = "data_quality_note_link"
DQ_DEMOGRAPHICS = "data_quality_demographics"

KINDS = frozenset({
    NOTE_SIGNATURE, PLAN_REVIEW, INFORMED_CONSENT, SUPERVISION_HOURS, SUPERVISION_NOTE, MINOR_CONSENT,
    TELEHEALTH_CONSENT, SAFETY_PLAN, HIPAA_TRAINING, ESC_UNSIGNED_BACKLOG, ESC_OVERDUE_NOTE, ESC_LOW_KVR,
    ESC_NO_SHOW, ESC_PRACTICE_KVR, ESC_VIOLATION_SPREAD, DQ_NOTE_LINK, DQ_DEMOGRAPHICS,
})


class NoRuleSetInForce(DomainError):
    code = "no_ruleset_in_force"
    kind = "not_found"


@dataclass(frozen=True)
class Step:
    name: str
    at: int
    severity: Severity
    target: Target
    message: str
    action: str
    until: int | None = None
    violation: bool = False
    """A violation (not a nudge): counted by the violation-spread escalation and as-of answers."""


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    unit: Unit
    steps: tuple[Step, ...]
    description: str = ""
    params: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidCommand(f"unknown rule kind {self.kind!r}", rule=self.code)
        if not self.steps:
            raise InvalidCommand("a rule needs at least one step", rule=self.code)
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise InvalidCommand("step names repeat", rule=self.code)
        for s in self.steps:
            if s.until is not None and s.until <= s.at:
                raise InvalidCommand(f"step {s.name!r} ends before it starts", rule=self.code)

    def param(self, key: str) -> Decimal:
        try:
            return self.params[key]
        except KeyError:
            raise InvalidCommand(f"rule {self.code!r} has no parameter {key!r}", rule=self.code) from None

    def with_step(self, name: str, **changes: object) -> Rule:
        """This rule with one step's fields changed (for writing a new version)."""
        if name not in {s.name for s in self.steps}:
            raise InvalidCommand(f"rule {self.code!r} has no step {name!r}", rule=self.code)
        steps = tuple(dataclasses.replace(s, **changes) if s.name == name else s for s in self.steps)  # type: ignore[arg-type]
        return dataclasses.replace(self, steps=steps)

    def with_params(self, **params: Decimal) -> Rule:
        return dataclasses.replace(self, params={**self.params, **params})


@dataclass(frozen=True)
class RuleSet:
    name: str
    version: int
    effective_from: date
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        codes = [r.code for r in self.rules]
        if len(set(codes)) != len(codes):
            raise InvalidCommand("rule codes repeat", ruleset=self.name, version=self.version)

    def rule(self, code: str) -> Rule:
        for r in self.rules:
            if r.code == code:
                return r
        raise InvalidCommand(f"no rule {code!r} in {self.name} v{self.version}", rule=code)

    def revise(self, version: int, effective_from: date, *changed: Rule, removed: Iterable[str] = ()) -> RuleSet:
        """The next version: rules in `changed` replace (or join) those with the same code."""
        by_code = {r.code: r for r in self.rules}
        for code in removed:
            by_code.pop(code, None)
        for r in changed:
            by_code[r.code] = r
        return RuleSet(self.name, version, effective_from, tuple(by_code.values()))


class RuleSetVersions:
    """Every version of one rule set, ordered by version and effective date."""

    def __init__(self, versions: Iterable[RuleSet]) -> None:
        ordered = sorted(versions, key=lambda rs: rs.version)
        if not ordered:
            raise InvalidCommand("a rule set needs at least one version")
        for prev, cur in pairwise(ordered):
            if cur.name != prev.name:
                raise InvalidCommand("versions of different rule sets", names=(prev.name, cur.name))
            if cur.version == prev.version or cur.effective_from <= prev.effective_from:
                raise InvalidCommand(
                    "versions must be numbered and take effect in order", version=cur.version
                )
        self.versions: tuple[RuleSet, ...] = tuple(ordered)

    @property
    def name(self) -> str:
        return self.versions[0].name

    def with_version(self, ruleset: RuleSet) -> RuleSetVersions:
        return RuleSetVersions((*self.versions, ruleset))

    def in_force(self, on: date) -> RuleSet:
        """The latest version whose effective_from is on or before `on`."""
        current = [rs for rs in self.versions if rs.effective_from <= on]
        if not current:
            raise NoRuleSetInForce(f"no {self.name} rules in force on {on.isoformat()}", on=on.isoformat())
        return current[-1]


def _d(value: str) -> Decimal:
    return Decimal(value)


GEORGIA_V1 = RuleSet(
    name="georgia",
    version=1,
    effective_from=date(2020, 1, 1),
    rules=(
        Rule(
            code="GA-NOTE-SIGNATURE",
            kind=NOTE_SIGNATURE,
            unit="days_since",
            description="Session notes are signed within 7 days; unsigned at day 14 the charge is held.",
            steps=(
                Step("reminder", 5, "warning", "clinician", "Note for the session on {session_date} is unsigned "
                     "(day {days}); sign it before {deadline}.", "sign_note", until=7),
                Step("supervisor_alert", 7, "critical", "supervisor", "Note for the session on {session_date} is "
                     "unsigned after {days} days (Georgia 7-day rule).", "sign_note", violation=True),
                Step("billing_hold", 14, "critical", "admin", "Charge for the session on {session_date} is on "
                     "billing hold: note unsigned after {days} days.", "sign_note_to_release_billing",
                     violation=True),
            ),
        ),
        Rule(
            code="GA-PLAN-REVIEW",
            kind=PLAN_REVIEW,
            unit="days_since",
            description="Treatment plans are reviewed every 90 days.",
            steps=(
                Step("reminder", 80, "info", "clinician", "Treatment plan last reviewed on {reviewed_on} is due "
                     "for review by {deadline} (day {days}).", "review_treatment_plan", until=90),
                Step("alert", 90, "warning", "clinician", "Treatment plan review is due today (last reviewed "
                     "{reviewed_on}).", "review_treatment_plan", until=91),
                Step("out_of_compliance", 91, "critical", "supervisor", "Treatment plan out of compliance: not "
                     "reviewed for {days} days (last {reviewed_on}).", "review_treatment_plan", violation=True),
            ),
        ),
        Rule(
            code="GA-INFORMED-CONSENT",
            kind=INFORMED_CONSENT,
            unit="days_to_expiry",
            description="Informed consent is renewed yearly; booking is blocked once it lapses.",
            steps=(
                Step("reminder", -30, "info", "clinician", "Informed consent expires on {expires_on} "
                     "({days_left} days).", "renew_informed_consent", until=0),
                Step("alert", 0, "critical", "clinician", "Informed consent lapsed on {expires_on}; booking is "
                     "blocked until it is renewed.", "renew_informed_consent", violation=True),
            ),
        ),
        Rule(
            code="GA-SUPERVISION-HOURS",
            kind=SUPERVISION_HOURS,
            unit="days_to_month_end",
            description="Monthly supervision hours by license type (hours per month in params; a practice's "
            "own figure for a license type, set as practice data, replaces the param).",
            params={"LPC": _d("2"), "LPC-Associate": _d("2"), "LMSW": _d("4"), "LMFT-Associate": _d("2"),
                    "intern": _d("4")},
            steps=(
                Step("reminder", -7, "warning", "clinician", "{hours} of {required} supervision hours logged for "
                     "{month}; the month ends on {month_end}.", "schedule_supervision", until=0),
                Step("shortfall", 0, "critical", "supervisor", "Supervision for {month}: {hours} of {required} "
                     "hours required for {license_type}.", "log_supervision_hours", violation=True),
            ),
        ),
        Rule(
            code="GA-SUPERVISION-NOTE",
            kind=SUPERVISION_NOTE,
            unit="days_since",
            description="Supervision notes are signed within 7 days.",
            steps=(
                Step("reminder", 5, "info", "supervisor", "Supervision note for {session_date} is unsigned "
                     "(day {days}); sign it before {deadline}.", "sign_supervision_note", until=7),
                Step("overdue", 7, "critical", "supervisor", "Supervision note for {session_date} is unsigned "
                     "after {days} days.", "sign_supervision_note", violation=True),
            ),
        ),
        Rule(
            code="GA-MINOR-CONSENT",
            kind=MINOR_CONSENT,
            unit="condition",
            description="Clients under 18 (not emancipated) need a guardian's consent on file.",
            steps=(
                Step("missing", 0, "critical", "clinician", "Minor client without a current guardian consent "
                     "since {since}.", "obtain_guardian_consent", violation=True),
            ),
        ),
        Rule(
            code="GA-TELEHEALTH-CONSENT",
            kind=TELEHEALTH_CONSENT,
            unit="condition",
            description="Telehealth clients need a separate telehealth consent.",
            steps=(
                Step("missing", 0, "critical", "clinician", "Telehealth client without a telehealth consent "
                     "since {since}.", "obtain_telehealth_consent", violation=True),
            ),
        ),
        Rule(
            code="GA-SAFETY-PLAN",
            kind=SAFETY_PLAN,
            unit="days_since",
            description="Every client flagged high-risk has a safety plan made since the flag.",
            steps=(
                Step("missing", 0, "critical", "clinician", "High-risk client (flagged {since}) has no safety "
                     "plan.", "write_safety_plan", violation=True),
            ),
        ),
        Rule(
            code="GA-HIPAA-TRAINING",
            kind=HIPAA_TRAINING,
            unit="days_to_expiry",
            description="HIPAA training is renewed yearly; access is suspended once it lapses.",
            steps=(
                Step("reminder", -30, "info", "clinician", "HIPAA training expires on {expires_on} "
                     "({days_left} days).", "complete_hipaa_training", until=0),
                Step("alert", 0, "critical", "admin", "HIPAA training lapsed on {expires_on}.",
                     "complete_hipaa_training", violation=True),
            ),
        ),
        Rule(
            code="ESC-UNSIGNED-BACKLOG",
            kind=ESC_UNSIGNED_BACKLOG,
            unit="condition",
            description="A clinician with more than max_unsigned unsigned notes escalates to the supervisor.",
            params={"max_unsigned": _d("5")},
            steps=(
                Step("escalation", 0, "warning", "supervisor", "{count} unsigned notes (more than {max_unsigned}).",
                     "review_documentation_backlog"),
            ),
        ),
        Rule(
            code="ESC-OVERDUE-NOTE",
            kind=ESC_OVERDUE_NOTE,
            unit="condition",
            description="A clinician with any note unsigned at day overdue_days escalates to the supervisor.",
            params={"overdue_days": _d("7")},
            steps=(
                Step("escalation", 0, "critical", "supervisor", "{count} notes unsigned for {overdue_days} days or "
                     "more (oldest from {oldest}).", "review_documentation_backlog"),
            ),
        ),
        Rule(
            code="ESC-LOW-KVR",
            kind=ESC_LOW_KVR,
            unit="condition",
            description="KVR below floor_percent for `weeks` completed weeks running escalates to the supervisor.",
            params={"floor_percent": _d("70"), "weeks": _d("2")},
            steps=(
                Step("escalation", 0, "warning", "supervisor", "KVR below {floor_percent}% for {weeks} weeks "
                     "running (latest {kvr}%).", "schedule_coaching"),
            ),
        ),
        Rule(
            code="ESC-NO-SHOW",
            kind=ESC_NO_SHOW,
            unit="condition",
            description="A no-show rate above max_percent in the last completed week escalates to the supervisor.",
            params={"max_percent": _d("20")},
            steps=(
                Step("escalation", 0, "warning", "supervisor", "No-show rate {rate}% in the week of {week} "
                     "(above {max_percent}%).", "review_client_engagement"),
            ),
        ),
        Rule(
            code="ESC-PRACTICE-KVR",
            kind=ESC_PRACTICE_KVR,
            unit="condition",
            description="Practice KVR down more than max_drop_points percentage points month over month "
            "escalates to the admin.",
            params={"max_drop_points": _d("5")},
            steps=(
                Step("escalation", 0, "warning", "admin", "Practice KVR fell from {previous}% in {previous_month} to "
                     "{latest}% in {latest_month}.", "review_practice_performance"),
            ),
        ),
        Rule(
            code="ESC-VIOLATION-SPREAD",
            kind=ESC_VIOLATION_SPREAD,
            unit="condition",
            description="Compliance violations affecting more than max_clinicians clinicians escalate to the admin.",
            params={"max_clinicians": _d("2")},
            steps=(
                Step("escalation", 0, "critical", "admin", "Compliance violations affect {count} clinicians "
                     "(more than {max_clinicians}).", "review_practice_compliance"),
            ),
        ),
        Rule(
            code="DQ-NOTE-LINK",
            kind=DQ_NOTE_LINK,
            unit="condition",
            description="Seed 001 data-quality rule 2: every session note links to its appointment.",
            steps=(
                Step("missing", 0, "warning", "clinician", "A session note dated {session_date} is not linked to "
                     "an appointment.", "link_note_to_appointment"),
            ),
        ),
        Rule(
            code="DQ-DEMOGRAPHICS",
            kind=DQ_DEMOGRAPHICS,
            unit="condition",
            description="Seed 001 data-quality rule 4: active clients have name, date of birth, address, phone, "
            "emergency contact and insurance (or self-pay) on file.",
            steps=(
                Step("incomplete", 0, "info", "admin", "Client record is missing {missing}.",
                     "complete_demographics"),
            ),
        ),
    ),
)

RULESETS = RuleSetVersions((GEORGIA_V1,))
