"""Matching the claims of an 835 to billed charges: the five levels of seed 001.

Every claim is tried at level 1 first (all claims, in file order), then the ones left at 2, then 3:

1. claim control number: CLP01 is a charge's claim number (or a line's REF*6R its line reference),
   unless the 835's patient is plainly someone else (shared account numbers, recycled placeholders);
2. client (NM1*QC name or member id) + service date + amount;
3. client + CPT + amount, the nearest date within the rules' window;
4. a fuzzy score (name, date, amount, procedure), matched only above `fuzzy_threshold`; else
5. the review queue, with the best suggestions and their scores, until a person resolves it
   (`resolutions`: claim key -> the charges chosen; an empty tuple dismisses the claim).

Lines pair with charges by REF*6R, procedure + amount (SVC06, the submitted procedure, counts too,
and dropped modifiers are tolerated), then bundles (one line paying several charges), splits and
zero-charge unbundled lines, and at level 1 finally by order. A claim matches only when all its
lines do; a claim without lines matches at claim level.

A charge belongs to one claim of a file, except that a reversal (CLP02 22, negated amounts) and
the claim it reverses share it with the correction that follows. A reversal whose original is in
the same file (same CLP07, else same CLP01 and negated charge) gets the original's match.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Final, Literal
from uuid import UUID

from domain.remittance.candidates import (
    ChargeCandidate,
    Patient,
    name_similarity,
    normalise_name,
    normalise_reference,
)
from domain.remittance.era835.model import Claim, EraFile, TransactionSet
from domain.remittance.line_pairing import Pairing, Subject, fuzzy_claim, fuzzy_lines, pair_lines
from domain.remittance.matching_rules import MatchingRules

Level = Literal[1, 2, 3, 4, 5, "manual"]
REVIEW: Final = 5
MANUAL: Final = "manual"
_NO_RESOLUTIONS: Mapping[str, tuple[UUID, ...]] = MappingProxyType({})
_STRICT_LEVELS: tuple[Literal[1, 2, 3], ...] = (1, 2, 3)
_LEVEL_CONFIDENCE = {1: 1.0, 2: 0.95, 3: 0.9}


def claim_key(ts: TransactionSet, claim_index: int) -> str:
    """`ISA13/ST02/transaction set position/claim position`: the same for the same stored bytes.

    The positions keep it unique where payers repeat control numbers (one file of the corpus holds
    156 interchanges with one ISA13). It is unique within a file only: scope it by the stored file.
    """
    return f"{ts.interchange_control_number}/{ts.control_number}/{ts.index}/{claim_index}"


@dataclass(frozen=True, slots=True)
class ClaimRef:
    key: str
    transaction_set: TransactionSet
    index: int
    claim: Claim


def claims_of(era: EraFile) -> tuple[ClaimRef, ...]:
    return tuple(
        ClaimRef(claim_key(ts, i), ts, i, claim) for ts in era.transaction_sets for i, claim in enumerate(ts.claims)
    )


@dataclass(frozen=True, slots=True)
class MatchedCharge:
    charge_id: UUID
    client_id: UUID
    amount: Decimal
    service_date: date


@dataclass(frozen=True, slots=True)
class LineMatch:
    """Service line `line_index` (0-based, as in `Claim.lines`) pays `charge_ids`; `how` says why."""

    line_index: int
    charge_ids: tuple[UUID, ...]
    how: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    client_id: UUID
    charge_ids: tuple[UUID, ...]
    score: Decimal
    how: str


@dataclass(frozen=True, slots=True)
class ClaimMatch:
    """The outcome for one 835 claim. Levels 1-4 and "manual" post; 5 waits in the review queue."""

    claim_key: str
    level: Level
    confidence: Decimal
    charges: tuple[MatchedCharge, ...] = ()
    lines: tuple[LineMatch, ...] = ()
    is_reversal: bool = False
    reverses: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def charge_ids(self) -> tuple[UUID, ...]:
        return tuple(c.charge_id for c in self.charges)

    @property
    def client_id(self) -> UUID | None:
        return self.charges[0].client_id if self.charges else None

    @property
    def line_charges(self) -> dict[int, tuple[UUID, ...]]:
        return {line.line_index: line.charge_ids for line in self.lines}

    @property
    def matched(self) -> bool:
        return self.level != REVIEW and bool(self.charges)

    @property
    def automatic(self) -> bool:
        return self.level in (1, 2, 3, 4)


def _confidence(value: float) -> Decimal:
    return Decimal(f"{min(max(value, 0.0), 1.0):.3f}")


def _match(subject: Subject, level: Level, pairing: Pairing, reasons: Sequence[str] = ()) -> ClaimMatch:
    charges = {c.charge_id: c for c in pairing.charges}
    return ClaimMatch(
        claim_key=subject.key,
        level=level,
        confidence=_confidence(pairing.confidence),
        charges=tuple(MatchedCharge(c.charge_id, c.client_id, c.amount, c.service_date) for c in charges.values()),
        lines=tuple(
            LineMatch(index, tuple(c.charge_id for c in found), how)
            for index, (found, how, _) in sorted(pairing.lines.items())
        ),
        is_reversal=subject.reversal,
        reasons=(*subject.notes, *pairing.notes, *reasons),
    )


def _suggestion(pairing: Pairing) -> Suggestion:
    return Suggestion(pairing.charges[0].client_id, tuple(dict.fromkeys(c.charge_id for c in pairing.charges)),
                      _confidence(pairing.confidence), pairing.how)


_Person = tuple[str, str, str]


def _person(charge: ChargeCandidate) -> _Person:
    """What name similarity looks at in a charge: member id, last and first name, normalised."""
    return (normalise_reference(charge.member_id), normalise_name(charge.patient_last),
            normalise_name(charge.patient_first))


_LETTERS = string.ascii_uppercase + string.digits + " "


def _letters(name: str) -> tuple[int, ...]:
    """How often each character a normalised name can hold occurs in it."""
    return tuple(name.count(ch) for ch in _LETTERS)


class _Names:
    """`Patient.similarity` against every person among the charges, computed once per person. A
    name whose characters could not reach `floor` (difflib's `quick_ratio`, the same for either
    order of the names) gets 0 without building a SequenceMatcher, as `name_similarity` would."""

    def __init__(self, people: Sequence[_Person]) -> None:
        self.people = [(person, f"{person[1]} {person[2]}".strip()) for person in people]
        self.letters = [_letters(full) for _, full in self.people]

    def of(self, patient: Patient, floor: float) -> dict[_Person, float]:
        mine = patient.full_name
        counts = _letters(mine)
        out: dict[_Person, float] = {}
        for (person, full), letters in zip(self.people, self.letters, strict=True):
            member, last, first = person
            if member and member in patient.ids:
                out[person] = 1.0
            elif not patient.last:
                out[person] = 0.0
            else:
                total = len(mine) + len(full)
                bound = 2.0 * sum(map(min, counts, letters)) / total if total else 1.0
                out[person] = 0.0 if bound < floor else name_similarity(mine, last, first, floor)
        return out


def _surname(name: str) -> str:
    return "last:" + normalise_name(name).replace(" ", "") if name else ""


def _link_reversals(refs: Sequence[ClaimRef]) -> dict[str, ClaimRef]:
    """Reversal key -> the claim in the same file it reverses: the latest earlier non-reversal with
    the same CLP07 and negated charge, else the same CLP07, else the same CLP01 and negated charge."""
    links: dict[str, ClaimRef] = {}
    for position, ref in enumerate(refs):
        claim = ref.claim
        if not claim.is_reversal:
            continue
        linked = {r.key for r in links.values()}
        earlier = [o for o in refs[:position] if not o.claim.is_reversal and o.key not in linked]
        icn = claim.payer_claim_control_number
        number = normalise_reference(claim.patient_control_number)
        same_icn = [o for o in earlier if icn and o.claim.payer_claim_control_number == icn]
        groups = (
            [o for o in same_icn if o.claim.charge == -claim.charge],
            same_icn,
            [o for o in earlier if number and normalise_reference(o.claim.patient_control_number) == number
             and o.claim.charge == -claim.charge],
        )
        found = next((group for group in groups if group), None)
        if found:
            links[ref.key] = found[-1]
    return links


class _Matcher:
    def __init__(self, candidates: Sequence[ChargeCandidate], rules: MatchingRules) -> None:
        self.rules = rules
        unique = {c.charge_id: c for c in reversed(candidates)}
        self.candidates = sorted(unique.values(), key=lambda c: (c.service_date, c.line_ref, str(c.charge_id)))
        self.by_id = {c.charge_id: c for c in self.candidates}
        self.by_claim: dict[str, list[ChargeCandidate]] = {}
        self.by_ref: dict[str, ChargeCandidate] = {}
        self.by_client: dict[UUID, list[ChargeCandidate]] = {}
        self.by_identity: dict[str, set[UUID]] = {}
        self.person: dict[UUID, _Person] = {}
        self.by_person: dict[_Person, set[UUID]] = {}
        for c in self.candidates:
            if c.claim_number and normalise_reference(c.claim_number):
                self.by_claim.setdefault(normalise_reference(c.claim_number), []).append(c)
            if normalise_reference(c.line_ref):
                self.by_ref.setdefault(normalise_reference(c.line_ref), c)
            self.by_client.setdefault(c.client_id, []).append(c)
            self.by_identity.setdefault(_surname(c.patient_last), set()).add(c.client_id)
            if c.member_id:
                self.by_identity.setdefault(normalise_reference(c.member_id), set()).add(c.client_id)
            self.person[c.charge_id] = person = _person(c)
            self.by_person.setdefault(person, set()).add(c.client_id)
        self.names = _Names(list(self.by_person))
        self.taken: dict[UUID, str] = {}

    def free(self, subject: Subject, charges: Sequence[ChargeCandidate]) -> list[ChargeCandidate]:
        return [c for c in charges if subject.shared or c.charge_id not in self.taken]

    def take(self, subject: Subject, match: ClaimMatch) -> None:
        if not subject.shared:
            self.taken.update({c: subject.key for c in match.charge_ids})

    def level_1(self, subject: Subject) -> Pairing | None:
        number = normalise_reference(subject.claim.patient_control_number)
        pool = list(self.by_claim.get(number, ())) if number else []
        pool += [self.by_ref[line.ref] for line in subject.lines if line.ref in self.by_ref]
        pool = self.free(subject, list({c.charge_id: c for c in pool}.values()))
        patient = subject.patient
        if patient.named or patient.ids:
            exact = [c for c in pool if patient.is_client(c)]
            floor = float(self.rules.patient_min_similarity)
            kept = exact or [c for c in pool if not patient.named or patient.similarity(c, floor) >= floor]
            if len(kept) < len(pool):
                subject.notes.append(f"{len(pool) - len(kept)} charge(s) under CLP01 {number!r} are another patient's")
            pool = kept
        if not pool:
            return None
        if not subject.lines:
            return Pairing({}, tuple(pool), 1.0, "claim control number, claim level")
        return pair_lines(subject, pool, 1, self.rules)

    def by_patient(self, subject: Subject, level: int) -> Pairing | None:
        """Levels 2 and 3: the pairing that works for exactly one of the patient's clients."""
        if not subject.patient.named and not subject.patient.ids:
            return None
        found: list[Pairing] = []
        patient = subject.patient
        keys = {_surname(patient.last), *patient.ids} - {""}
        clients = sorted({client for key in keys for client in self.by_identity.get(key, ())}, key=str)
        for client in clients:
            charges = self.by_client[client]
            if not any(patient.is_client(c, self.rules.member_id_conflicts) for c in charges):
                continue
            pool = self.free(subject, charges)
            pairing = pair_lines(subject, pool, level, self.rules) if subject.lines else self.claim_level(subject, pool)
            if pairing is not None and pairing.complete(subject):
                found.append(pairing)
        if len(found) > 1:
            subject.notes.append(f"level {level}: {len(found)} clients fit equally")
        return found[0] if len(found) == 1 else None

    def claim_level(self, subject: Subject, pool: Sequence[ChargeCandidate]) -> Pairing | None:
        """Level 2 for a claim without lines: the client's charges in the statement period."""
        if subject.period is None:
            return None
        start, end = subject.period
        inside = [c for c in pool if start <= c.service_date <= end]
        tolerance = self.rules.amount_tolerance
        if inside and abs(sum(c.amount for c in inside) - subject.amount) <= tolerance:
            return Pairing({}, tuple(inside), 1.0, "client + statement period + amount")
        single = [c for c in inside if abs(c.amount - subject.amount) <= tolerance]
        return Pairing({}, tuple(single), 1.0, "client + service date + amount") if len(single) == 1 else None

    def fuzzy(self, subject: Subject, weak: list[Pairing]) -> ClaimMatch:
        rules = self.rules
        same_person = float(rules.patient_min_similarity)
        patient = subject.patient
        similarity = self.names.of(patient, same_person)
        if patient.named:
            clients = {client for person, sim in similarity.items() if sim >= same_person
                       for client in self.by_person[person]}
        else:
            clients = set(self.by_client)
        options: list[Pairing] = []
        for client in clients:
            pool = self.free(subject, self.by_client[client])
            if not pool:
                continue
            name = max(similarity[self.person[c.charge_id]] for c in pool)
            if patient.named and name < same_person:
                continue
            score = fuzzy_lines if subject.lines else fuzzy_claim
            pairing = score(subject, pool, name, rules)
            if pairing is not None:
                options.append(self.capped(subject, pairing))
        options.sort(key=lambda p: (-p.confidence, str(p.charges[0].client_id)))
        best = options[0] if options else None
        runner_up = options[1].confidence if len(options) > 1 else 0.0
        if (best is not None and best.complete(subject) and not best.ambiguous
                and best.confidence >= float(rules.fuzzy_threshold)
                and best.confidence - runner_up >= float(rules.fuzzy_margin)
                and best.confidence >= float(rules.auto_post_min_confidence)):
            return _match(subject, 4, best)
        floor = float(rules.suggestion_floor)
        offered = [*weak, *(p for p in options if p.confidence >= floor)][: rules.max_suggestions]
        return ClaimMatch(
            claim_key=subject.key, level=REVIEW, confidence=_confidence(best.confidence if best else 0.0),
            is_reversal=subject.reversal, suggestions=tuple(_suggestion(p) for p in offered),
            reasons=(*subject.notes, *(best.notes if best else ()), "no automatic match: review"),
        )

    def capped(self, subject: Subject, pairing: Pairing) -> Pairing:
        """Under rules with `member_id_conflicts`, a client whose member id conflicts with the 835's
        scores at most `member_id_conflict_max_score`."""
        cap = float(self.rules.member_id_conflict_max_score)
        if (not self.rules.member_id_conflicts or pairing.confidence <= cap
                or not any(subject.patient.member_conflict(c) for c in pairing.charges)):
            return pairing
        return dataclasses.replace(pairing, confidence=cap,
                                   notes=(*pairing.notes, "the member id differs from the 835's"))

    def resolve(self, subject: Subject, chosen: tuple[UUID, ...]) -> ClaimMatch:
        if not chosen:
            return ClaimMatch(subject.key, MANUAL, Decimal(1), is_reversal=subject.reversal,
                              reasons=("dismissed by a person: pays none of our charges",))
        known = [self.by_id[c] for c in dict.fromkeys(chosen) if c in self.by_id]
        notes = [f"resolution names unknown charge {c}" for c in chosen if c not in self.by_id]
        if not known:
            return ClaimMatch(subject.key, REVIEW, Decimal(0), is_reversal=subject.reversal, reasons=tuple(notes))
        paired = pair_lines(subject, known, MANUAL, self.rules) if subject.lines else None
        pairing = Pairing(paired.lines if paired else {}, tuple(known), 1.0, "manual", paired.notes if paired else ())
        return _match(subject, MANUAL, pairing, (*notes, "resolved by a person"))


def _inherit(subject: Subject, original: ClaimMatch, original_claim: Claim) -> ClaimMatch:
    reverses = f"reverses {original.claim_key}"
    if not original.matched:
        return ClaimMatch(subject.key, original.level, original.confidence, is_reversal=True,
                          reverses=original.claim_key, suggestions=original.suggestions,
                          reasons=(f"{reverses}, which is not matched",))
    same_shape = len(subject.claim.lines) == len(original_claim.lines) and bool(original.lines)
    lines = tuple(LineMatch(m.line_index, m.charge_ids, "reversal") for m in original.lines) if same_shape else ()
    return ClaimMatch(subject.key, original.level, original.confidence, original.charges, lines, True,
                      original.claim_key, reasons=(reverses,))


def match_claims(
    era: EraFile,
    candidates: Sequence[ChargeCandidate],
    rules: MatchingRules,
    resolutions: Mapping[str, tuple[UUID, ...]] = _NO_RESOLUTIONS,
) -> tuple[ClaimMatch, ...]:
    """One `ClaimMatch` per claim of `era`, in file order. `candidates` should hold every charge
    the file could pay, paid ones too (reversals and corrections pay them again)."""
    refs = claims_of(era)
    links = _link_reversals(refs)
    superseded = {ref.key for ref in links.values()}
    subjects = [Subject.of(ref.key, ref.claim, ref.key in superseded) for ref in refs]
    matcher = _Matcher(candidates, rules)
    results: dict[str, ClaimMatch] = {}
    for subject in subjects:
        if subject.key in resolutions:
            results[subject.key] = match = matcher.resolve(subject, tuple(resolutions[subject.key]))
            matcher.take(subject, match)
    pending = [s for s in subjects if s.key not in results and s.key not in links]
    weak: dict[str, list[Pairing]] = {s.key: [] for s in pending}
    for level in _STRICT_LEVELS:
        for subject in pending:
            if subject.key in results:
                continue
            pairing = matcher.level_1(subject) if level == 1 else matcher.by_patient(subject, level)
            if pairing is None or not pairing.charges:
                continue
            complete = pairing.complete(subject)
            share = 1.0 if complete else sum(ln.index in pairing.lines for ln in subject.lines) / len(subject.lines)
            pairing = pairing.scaled(_LEVEL_CONFIDENCE[level] * share)
            if not complete or pairing.confidence < float(rules.auto_post_min_confidence):
                weak[subject.key].append(pairing)
                continue
            results[subject.key] = match = _match(subject, level, pairing)
            matcher.take(subject, match)
    for subject in pending:
        if subject.key not in results:
            results[subject.key] = match = matcher.fuzzy(subject, weak[subject.key])
            if match.matched:
                matcher.take(subject, match)
    for subject in subjects:
        original = links.get(subject.key)
        if subject.key not in results and original is not None:
            results[subject.key] = _inherit(subject, results[original.key], original.claim)
    return tuple(results[ref.key] for ref in refs)
