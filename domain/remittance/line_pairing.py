"""Pairing an 835 claim's service lines with charges, strictly (levels 1-3, manual) or by score (level 4).

Strict pairing tries, for each line in turn, the level's tests from the strongest down and takes the
best charge passing (same procedure and modifiers first, then the nearest date, then one still
open; for a reversal one already paid). Levels 2 and 3 give up on a line when two different charges
fit equally. Afterwards come bundles (a line whose charge is the sum of two or three charges), splits
(two or three lines summing to one charge of their procedure), level 1's pairing by order, and
zero-charge lines (unbundled services), which follow a line with the same procedure, else the line
before them. The submitted procedure in SVC06 counts as the line's procedure as well as SVC01's.

Scored pairing (level 4) is per client: every line against every charge, the weighted mean of name
similarity, date closeness (0 at the rules' window), amount closeness and procedure fit, paired
greedily from the highest score; the claim scores the mean over its lines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import combinations

from domain.remittance.candidates import ChargeCandidate, Patient, normalise_reference
from domain.remittance.era835.model import Claim
from domain.remittance.matching_rules import MatchingRules

Paired = tuple[tuple[ChargeCandidate, ...], str, float]
Test = Callable[["Line", ChargeCandidate], bool]
_MAX_COMBINATION_POOL = 12
_CPT_SCORE = (1.0, 0.9, 0.8, 0.0)
_NAMES: dict[int | str, str] = {1: "claim control number", 2: "client + service date + amount",
                                3: "client + procedure + amount"}


@dataclass(frozen=True, slots=True)
class Line:
    """A service line as matching sees it: procedure codes (SVC06 first), billed modifiers, |SVC02|."""

    index: int
    codes: tuple[str, ...]
    modifiers: frozenset[str]
    amount: Decimal
    day: date | None
    ref: str

    @classmethod
    def all_of(cls, claim: Claim) -> tuple[Line, ...]:
        lines = []
        for index, line in enumerate(claim.lines):
            original = line.original_procedure
            billed = original if original is not None and original.code else line.procedure
            codes = tuple(dict.fromkeys(c.upper() for c in (billed.code, line.procedure.code) if c))
            day = line.service_from or line.service_to or claim.statement_from
            modifiers = frozenset(m.upper() for m in billed.modifiers)
            lines.append(cls(index, codes, modifiers, abs(line.charge), day, normalise_reference(line.control_number)))
        return tuple(lines)

    def fit(self, charge: ChargeCandidate) -> int:
        """0 same procedure and modifiers, 1 modifiers dropped by the payer, 2 others, 3 another procedure."""
        if charge.cpt.upper() not in self.codes:
            return 3
        theirs = frozenset(m.upper() for m in charge.modifiers)
        return 0 if theirs == self.modifiers else 1 if self.modifiers < theirs else 2

    def days(self, charge: ChargeCandidate) -> int | None:
        return None if self.day is None else abs((self.day - charge.service_date).days)


@dataclass
class Subject:
    """One 835 claim being matched. `shared`: a reversal, or a claim a reversal in the file undoes;
    neither claims its charges for itself."""

    key: str
    claim: Claim
    lines: tuple[Line, ...]
    patient: Patient
    reversal: bool
    shared: bool
    amount: Decimal
    period: tuple[date, date] | None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, key: str, claim: Claim, superseded: bool) -> Subject:
        lines = Line.all_of(claim)
        days = [d for d in (claim.statement_from, claim.statement_to) if d] or [ln.day for ln in lines if ln.day]
        period = (min(days), max(days)) if days else None
        return cls(key, claim, lines, Patient.of(claim), claim.is_reversal, claim.is_reversal or superseded,
                   abs(claim.charge), period)


@dataclass(frozen=True, slots=True)
class Pairing:
    lines: Mapping[int, Paired]
    charges: tuple[ChargeCandidate, ...]
    confidence: float
    how: str
    notes: tuple[str, ...] = ()
    ambiguous: bool = False

    @classmethod
    def of_lines(cls, lines: dict[int, Paired], how: str, notes: Sequence[str] = ()) -> Pairing:
        """Charges in line order; the confidence of the weakest line."""
        charges = {c.charge_id: c for index in sorted(lines) for c in lines[index][0]}
        confidence = min((conf for _, _, conf in lines.values()), default=0.0)
        return cls(lines, tuple(charges.values()), confidence, how, tuple(notes))

    def complete(self, subject: Subject) -> bool:
        return bool(self.charges) and all(line.index in self.lines for line in subject.lines)

    def scaled(self, factor: float) -> Pairing:
        return dataclasses.replace(self, confidence=self.confidence * factor)


_BY_REF = "line item control number"


def _tests(level: int | str, rules: MatchingRules) -> list[tuple[str, Test, float]]:
    tolerance, window = rules.amount_tolerance, rules.service_date_window_days

    def amount(line: Line, c: ChargeCandidate) -> bool:
        return abs(line.amount - c.amount) <= tolerance

    def same_day(line: Line, c: ChargeCandidate) -> bool:
        return line.day is not None and line.day == c.service_date

    tests: list[tuple[str, Test, float]] = [
        (_BY_REF, lambda ln, c: bool(ln.ref) and ln.ref == normalise_reference(c.line_ref), 1.0)
    ]
    if level == 2:
        return [*tests, ("service date + amount", lambda ln, c: same_day(ln, c) and amount(ln, c), 1.0)]
    if level == 3:
        near: Test = lambda ln, c: (ln.days(c) or 0) <= window  # noqa: E731
        return [*tests, ("procedure + amount", lambda ln, c: ln.fit(c) < 3 and amount(ln, c) and near(ln, c), 1.0)]
    return [
        *tests,
        ("procedure + modifiers + amount", lambda ln, c: ln.fit(c) == 0 and amount(ln, c), 1.0),
        ("procedure + amount, modifiers dropped", lambda ln, c: ln.fit(c) == 1 and amount(ln, c), 0.97),
        ("procedure + amount, modifiers differ", lambda ln, c: ln.fit(c) == 2 and amount(ln, c), 0.93),
        ("service date + amount", lambda ln, c: same_day(ln, c) and amount(ln, c), 0.9),
    ]


def _rank(line: Line, charge: ChargeCandidate, reversal: bool) -> tuple[int, int, int, date, str, str]:
    settled = charge.balance >= charge.amount if reversal else charge.balance <= 0
    return (line.fit(charge), line.days(charge) or 0, int(settled), charge.service_date, charge.line_ref,
            str(charge.charge_id))


def _same_service(a: ChargeCandidate, b: ChargeCandidate) -> bool:
    return (a.client_id, a.service_date, a.cpt, frozenset(a.modifiers), a.amount) == (
        b.client_id, b.service_date, b.cpt, frozenset(b.modifiers), b.amount)


class _Pairer:
    def __init__(self, subject: Subject, pool: Sequence[ChargeCandidate], level: int | str, rules: MatchingRules):
        self.subject, self.pool, self.level, self.rules = subject, pool, level, rules
        self.used: set[object] = set()
        self.out: dict[int, Paired] = {}
        self.notes: list[str] = []

    def free(self) -> list[ChargeCandidate]:
        return [c for c in self.pool if c.charge_id not in self.used]

    def open_lines(self) -> list[Line]:
        return [ln for ln in self.subject.lines if ln.index not in self.out and ln.amount > 0]

    def put(self, lines: Sequence[Line], charges: Sequence[ChargeCandidate], how: str, confidence: float) -> None:
        for line in lines:
            self.out[line.index] = (tuple(charges), how, confidence)
        self.used.update(c.charge_id for c in charges)

    def near(self, line: Line, charge: ChargeCandidate) -> bool:
        days = line.days(charge)
        if self.level == 3:
            return days is None or days <= self.rules.service_date_window_days
        return days == 0 or (days is None and self.level != 2)

    def run(self) -> Pairing:
        reversal, strict = self.subject.reversal, self.level in (2, 3)
        for how, test, confidence in _tests(self.level, self.rules):
            for line in self.subject.lines:
                if line.index in self.out:
                    continue
                options = sorted((c for c in self.free() if test(line, c)), key=lambda c: _rank(line, c, reversal))
                if not options:
                    continue
                if strict and len(options) > 1 and _rank(line, options[0], reversal)[:3] == _rank(
                        line, options[1], reversal)[:3] and not _same_service(options[0], options[1]):
                    self.notes.append(f"line {line.index}: {len(options)} charges fit equally")
                    continue
                rest = self.bundled_with(line, options[0]) if how == _BY_REF else []
                if rest:
                    self.put([line], [options[0], *rest], f"{how}, bundled", confidence)
                else:
                    self.put([line], options[:1], how, confidence)
        if self.open_lines():
            self.bundles()
            self.splits()
            if self.level in (1, "manual"):
                self.by_order()
        self.zero_charge()
        if self.level == "manual":
            self.leftovers()
        return Pairing.of_lines(self.out, _NAMES.get(self.level, str(self.level)), self.notes)

    def bundled_with(self, line: Line, charge: ChargeCandidate) -> list[ChargeCandidate]:
        """When the charge a line's REF*6R names is short of SVC02, the charges the payer folded into
        the line: one or two more of the same client (and claim number, where the charge has one)
        within the date window, no other line's REF*6R, together making up SVC02. The fit with the
        line's procedures (SVC06 is the folded one), then the nearest dates decide; a tie finds none."""
        tolerance, window = self.rules.amount_tolerance, self.rules.service_date_window_days
        missing = line.amount - charge.amount
        if missing <= tolerance:
            return []
        claimed = {ln.ref for ln in self.subject.lines if ln.index != line.index and ln.ref}
        number = normalise_reference(charge.claim_number)
        pool = [c for c in self.free() if c.charge_id != charge.charge_id and c.client_id == charge.client_id
                and (not number or normalise_reference(c.claim_number) == number)
                and abs((c.service_date - charge.service_date).days) <= window
                and normalise_reference(c.line_ref) not in claimed]
        if len(pool) > _MAX_COMBINATION_POOL:
            return []
        found = [combo for k in (1, 2) for combo in combinations(pool, k)
                 if abs(sum(c.amount for c in combo) - missing) <= tolerance]
        if not found:
            return []

        def rank(combo: tuple[ChargeCandidate, ...]) -> tuple[int, int, int]:
            return (sum(line.fit(c) == 3 for c in combo), len(combo),
                    sum(abs((c.service_date - charge.service_date).days) for c in combo))

        found.sort(key=rank)
        if len(found) > 1 and rank(found[0]) == rank(found[1]):
            self.notes.append(f"line {line.index}: {len(found)} charges could complete the bundle")
            return []
        return list(found[0])

    def bundles(self) -> None:
        tolerance = self.rules.amount_tolerance
        for line in self.open_lines():
            pool = [c for c in self.free() if self.near(line, c)]
            if len(pool) > _MAX_COMBINATION_POOL:
                continue
            found = [combo for k in (2, 3) for combo in combinations(pool, k)
                     if abs(sum(c.amount for c in combo) - line.amount) <= tolerance
                     and (self.level != 3 or any(line.fit(c) < 3 for c in combo))]
            if len(found) == 1:
                self.put([line], found[0], "bundled", 0.9)
            elif found:
                self.notes.append(f"line {line.index}: {len(found)} bundles fit")

    def splits(self) -> None:
        tolerance = self.rules.amount_tolerance
        for charge in self.free():
            lines = [ln for ln in self.open_lines() if ln.fit(charge) < 3 and self.near(ln, charge)]
            if len(lines) > _MAX_COMBINATION_POOL:
                continue
            found = next((group for k in (2, 3) for group in combinations(lines, k)
                          if abs(sum(ln.amount for ln in group) - charge.amount) <= tolerance), None)
            if found:
                self.put(found, [charge], "split", 0.9)

    def by_order(self) -> None:
        lines, charges = self.open_lines(), self.free()
        if lines and len(lines) == len(charges):
            for line, charge in zip(lines, charges, strict=True):
                self.put([line], [charge], "order", 0.8)

    def zero_charge(self) -> None:
        attach_zero_charge(self.subject, self.out)

    def leftovers(self) -> None:
        for line in self.subject.lines:
            if line.index not in self.out and self.pool:
                same = [c for c in self.pool if line.fit(c) < 3] or list(self.pool)
                self.out[line.index] = ((same[0],), "manual", 1.0)


def attach_zero_charge(subject: Subject, out: dict[int, Paired]) -> None:
    for line in subject.lines:
        if line.index in out or line.amount != 0:
            continue
        paired = [ln for ln in subject.lines if ln.index in out and ln.amount > 0]
        same = [ln for ln in paired if set(ln.codes) & set(line.codes)]
        before = [ln for ln in paired if ln.index < line.index]
        targets = same or before[-1:] or paired[:1]
        if targets:
            out[line.index] = (out[targets[0].index][0], "zero-charge line", 0.95)


def pair_lines(subject: Subject, pool: Sequence[ChargeCandidate], level: int | str, rules: MatchingRules) -> Pairing:
    return _Pairer(subject, pool, level, rules).run()


def _weights(rules: MatchingRules) -> tuple[float, float, float, float]:
    return float(rules.name_weight), float(rules.date_weight), float(rules.amount_weight), float(rules.cpt_weight)


def _closeness(a: Decimal, b: Decimal, rules: MatchingRules) -> float:
    if abs(a - b) <= rules.amount_tolerance:
        return 1.0
    return max(0.0, 1.0 - float(abs(a - b) / max(abs(a), abs(b))))


def _date_score(days: int | None, rules: MatchingRules) -> float:
    return 0.5 if days is None else max(0.0, 1.0 - days / (rules.service_date_window_days + 1))


def line_score(line: Line, charge: ChargeCandidate, name: float, rules: MatchingRules) -> float:
    wn, wd, wa, wc = _weights(rules)
    parts = wn * name + wd * _date_score(line.days(charge), rules) + wa * _closeness(line.amount, charge.amount, rules)
    return (parts + wc * _CPT_SCORE[line.fit(charge)]) / (wn + wd + wa + wc)


def fuzzy_lines(subject: Subject, pool: Sequence[ChargeCandidate], name: float, rules: MatchingRules) -> Pairing | None:
    """One client's best pairing by score, greedily; the claim's score is the mean over its lines.
    It is `ambiguous` when a line's best charge leads another service by less than `fuzzy_margin`."""
    lines = [ln for ln in subject.lines if ln.amount > 0]
    scored = sorted(((line_score(ln, c, name, rules), ln.index, _rank(ln, c, subject.reversal), ln, c)
                     for ln in lines for c in pool), key=lambda s: (-s[0], s[1], s[2]))
    out: dict[int, Paired] = {}
    used: set[object] = set()
    ambiguous = False
    for score, _, _, line, charge in scored:
        if line.index in out or charge.charge_id in used:
            continue
        close = [c for s, _, _, ln, c in scored if ln.index == line.index and c.charge_id not in used
                 and score - s < float(rules.fuzzy_margin) and not _same_service(c, charge)]
        ambiguous = ambiguous or bool(close)
        out[line.index] = ((charge,), "fuzzy", score)
        used.add(charge.charge_id)
    if not out:
        return None
    mean = sum(paired[2] for paired in out.values()) / len(lines)
    attach_zero_charge(subject, out)
    notes = ("two charges of the client fit about equally",) if ambiguous else ()
    return dataclasses.replace(Pairing.of_lines(out, "fuzzy", notes), confidence=mean, ambiguous=ambiguous)


def fuzzy_claim(subject: Subject, pool: Sequence[ChargeCandidate], name: float, rules: MatchingRules) -> Pairing | None:
    """A claim without lines: the client's charges in the statement period (widened by the window),
    or any single charge, whichever scores best on name, date and amount; `ambiguous` as above."""
    wn, wd, wa, _ = _weights(rules)
    window = rules.service_date_window_days

    def distance(c: ChargeCandidate) -> int | None:
        if subject.period is None:
            return None
        start, end = subject.period
        return 0 if start <= c.service_date <= end else min(abs((c.service_date - d).days) for d in (start, end))

    def score(charges: Sequence[ChargeCandidate]) -> float:
        dates = sum(_date_score(distance(c), rules) for c in charges) / len(charges)
        amount = _closeness(subject.amount, sum((c.amount for c in charges), Decimal(0)), rules)
        return (wn * name + wd * dates + wa * amount) / (wn + wd + wa)

    inside = [c for c in pool if (distance(c) or 0) <= window] if subject.period else []
    options = [[c] for c in pool] + ([inside] if len(inside) > 1 else [])
    options.sort(key=score, reverse=True)
    if not options:
        return None
    best, *others = options
    ambiguous = any(score(best) - score(o) < float(rules.fuzzy_margin) and not (
        len(o) == len(best) == 1 and _same_service(o[0], best[0])) for o in others)
    notes = ("two sets of the client's charges fit about equally",) if ambiguous else ()
    return Pairing({}, tuple(best), score(best), "fuzzy, claim level", notes, ambiguous)
