"""Remittance matching rules as versioned data.

A run of matching records the version it used, so a stored file re-matched later under the same
version gives the same result, and a newer version can be tried without rewriting history. Versions
are never edited once released; a change is a new version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from domain.errors import InvalidCommand


@dataclass(frozen=True, slots=True)
class MatchingRules:
    """Thresholds and weights; scores and confidences are 0..1.

    - `fuzzy_threshold`: the least fuzzy score (level 4) matched without a person.
    - `fuzzy_margin`: how far the best fuzzy client must lead the next one to be matched.
    - `auto_post_min_confidence`: the least confidence of any automatic match (levels 1-4); a
      weaker one goes to the review queue, with itself as the first suggestion.
    - `amount_tolerance`: billed amounts this close count as equal.
    - `service_date_window_days`: how far apart dates may be at level 3, and where the fuzzy date
      score reaches 0.
    - `patient_min_similarity`: at level 1, a charge under the claim control number whose patient
      is less similar than this to the 835's (and has another member id) is not this claim's.
    - `suggestion_floor` / `max_suggestions`: what the review queue offers.
    - weights: the fuzzy score is their weighted mean of name, date, amount and procedure scores.
    - `member_id_conflicts`: when the 835 and a client both carry member ids that differ (beyond a
      person code the payer appends), the client is not matched at levels 2-3 and its fuzzy score
      is capped at `member_id_conflict_max_score` (below any automatic match): review decides.
    """

    version: int
    effective: date
    fuzzy_threshold: Decimal
    fuzzy_margin: Decimal
    auto_post_min_confidence: Decimal
    amount_tolerance: Decimal
    service_date_window_days: int
    patient_min_similarity: Decimal
    suggestion_floor: Decimal
    max_suggestions: int
    name_weight: Decimal
    date_weight: Decimal
    amount_weight: Decimal
    cpt_weight: Decimal
    member_id_conflicts: bool = False
    member_id_conflict_max_score: Decimal = Decimal("0.75")


_V1 = MatchingRules(
    version=1,
    effective=date(2024, 1, 1),
    fuzzy_threshold=Decimal("0.90"),
    fuzzy_margin=Decimal("0.05"),
    auto_post_min_confidence=Decimal("0.80"),
    amount_tolerance=Decimal("0.00"),
    service_date_window_days=7,
    patient_min_similarity=Decimal("0.60"),
    suggestion_floor=Decimal("0.40"),
    max_suggestions=3,
    name_weight=Decimal("0.40"),
    date_weight=Decimal("0.20"),
    amount_weight=Decimal("0.20"),
    cpt_weight=Decimal("0.20"),
)

# Version 2 auto-matches fuzzier claims (0.85 instead of 0.90) and looks two weeks around a date.
_V2 = replace(_V1, version=2, effective=date(2025, 1, 1), fuzzy_threshold=Decimal("0.85"), service_date_window_days=14)

# Version 3 stops matching a claim to another client of the same (or a similar) name when the member
# ids conflict: the claim goes to review with that client as a suggestion.
_V3 = replace(_V2, version=3, effective=date(2026, 1, 1), member_id_conflicts=True)

MATCHING_RULES: dict[int, MatchingRules] = {rules.version: rules for rules in (_V1, _V2, _V3)}
LATEST: MatchingRules = MATCHING_RULES[max(MATCHING_RULES)]


def rules_for(version: int) -> MatchingRules:
    rules = MATCHING_RULES.get(version)
    if rules is None:
        raise InvalidCommand(
            "Unknown matching rules version.", field="rules_version", allowed=sorted(MATCHING_RULES)
        )
    return rules


def rules_in_effect(on: date) -> MatchingRules:
    """The newest version effective on `on` (the oldest one before any took effect)."""
    effective = [r for r in MATCHING_RULES.values() if r.effective <= on]
    return max(effective, key=lambda r: r.version) if effective else MATCHING_RULES[min(MATCHING_RULES)]
