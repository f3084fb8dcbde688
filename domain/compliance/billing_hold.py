"""Whether a completed session's charge may be billed (seed 001, Georgia rule 1: billing hold at
day 14 while the note is unsigned). The day comes from the rule set in force, not from code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.compliance.rules import NOTE_SIGNATURE, RuleSet

HOLD_STEP = "billing_hold"


@dataclass(frozen=True)
class BillingHold:
    held: bool
    reason: str | None
    """"note_unsigned" while held; None when billable."""
    hold_from: date | None
    """The local date the hold begins (or began) if the note stays unsigned; None once signed."""
    rule_code: str
    rule_version: int


def billing_hold(ruleset: RuleSet, session_date: date, signed_at: datetime | None, now: datetime,
                 today: date) -> BillingHold:
    """`signed_at`: when the session's note was completely signed (None: not yet). A note signed
    after `now` does not count yet."""
    rule = next(r for r in ruleset.rules if r.kind == NOTE_SIGNATURE)
    step = next(s for s in rule.steps if s.name == HOLD_STEP)
    signed = signed_at is not None and signed_at <= now
    hold_from = None if signed else session_date + timedelta(days=step.at)
    held = hold_from is not None and today >= hold_from
    return BillingHold(held, "note_unsigned" if held else None, hold_from, rule.code, ruleset.version)
