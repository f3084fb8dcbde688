"""What remittance matching compares an 835 claim against: a billed charge, and the patient the
835 names (NM1*QC, else NM1*IL), with the normalisers used on both sides so that `José O'Brien`
in our records meets `JOSE OBRIEN` from a payer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from difflib import SequenceMatcher
from functools import lru_cache
from uuid import UUID

from domain.remittance.era835.model import Claim

_DROPPED = re.compile(r"['\u2019`.]")
_SEPARATORS = re.compile(r"[^A-Z0-9]+")


@lru_cache(maxsize=65536)
def normalise_name(value: str) -> str:
    """Upper case without accents; apostrophes and dots dropped (O'Brien -> OBRIEN), any other
    punctuation a single space (Smith-Jones -> SMITH JONES)."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    return _SEPARATORS.sub(" ", _DROPPED.sub("", plain)).strip()


def normalise_reference(value: str | None) -> str:
    """Claim numbers, member ids and line references, compared without case, spaces or punctuation."""
    return normalise_name(value or "").replace(" ", "")


@dataclass(frozen=True, slots=True)
class ChargeCandidate:
    """A billed charge the 835 could be paying.

    `claim_number` is the claim control number we sent (CLP01 comes back with it); `line_ref` the
    line item control number sent with the line (REF*6R comes back with it); `amount` is billed.
    """

    charge_id: UUID
    client_id: UUID
    claim_number: str | None
    line_ref: str
    patient_last: str
    patient_first: str
    member_id: str | None
    service_date: date
    cpt: str
    modifiers: tuple[str, ...]
    units: Decimal
    amount: Decimal
    balance: Decimal

    @property
    def full_name(self) -> str:
        return _full(normalise_name(self.patient_last), normalise_name(self.patient_first))


def _full(last: str, first: str) -> str:
    return f"{last} {first}".strip()


def _first_token(name: str) -> str:
    return name.split(" ", 1)[0] if name else ""


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient an 835 claim names, normalised: NM1*QC, else the insured (NM1*IL); ids from both."""

    last: str
    first: str
    ids: frozenset[str]

    @classmethod
    def of(cls, claim: Claim) -> Patient:
        person = claim.patient or claim.insured
        ids = frozenset(normalise_reference(p.id) for p in (claim.patient, claim.insured) if p and p.id)
        if person is None:
            return cls("", "", ids)
        return cls(normalise_name(person.last_name), normalise_name(person.first_name), ids)

    @property
    def named(self) -> bool:
        return bool(self.last)

    @property
    def full_name(self) -> str:
        return _full(self.last, self.first)

    def same_member(self, candidate: ChargeCandidate) -> bool:
        return bool(candidate.member_id) and normalise_reference(candidate.member_id) in self.ids

    def same_name(self, candidate: ChargeCandidate) -> bool:
        """Last names equal (ignoring spaces); first names equal in their first word, or an initial."""
        last = normalise_name(candidate.patient_last)
        if not self.last or self.last.replace(" ", "") != last.replace(" ", ""):
            return False
        mine, theirs = _first_token(self.first), _first_token(normalise_name(candidate.patient_first))
        if mine == theirs:
            return True
        short, long = sorted((mine, theirs), key=len)
        return len(short) == 1 and long.startswith(short)

    def member_conflict(self, candidate: ChargeCandidate) -> bool:
        """Both sides carry a member id and none of the 835's is the candidate's, allowing for a
        person code the payer appends (`MEM100` meets `MEM10001` and `MEM100*01`)."""
        theirs = normalise_reference(candidate.member_id)
        mine = [i for i in self.ids if i]
        return bool(theirs) and bool(mine) and not any(_same_id(i, theirs) for i in mine)

    def is_client(self, candidate: ChargeCandidate, strict_member: bool = False) -> bool:
        """The same person: the same name, or the same member id and last name; with `strict_member`
        never when the member ids conflict."""
        if strict_member and self.member_conflict(candidate):
            return False
        if self.same_name(candidate):
            return True
        last = normalise_name(candidate.patient_last).replace(" ", "")
        return self.same_member(candidate) and (not self.last or self.last.replace(" ", "") == last)

    def similarity(self, candidate: ChargeCandidate, floor: float = 0.0) -> float:
        """0..1: 1 for the same member id, else difflib's ratio of the full names (either order);
        0 when that is surely below `floor` (difflib's quick upper bounds say so)."""
        if self.same_member(candidate):
            return 1.0
        if not self.last:
            return 0.0
        return name_similarity(self.full_name, normalise_name(candidate.patient_last),
                           normalise_name(candidate.patient_first), floor)


_MAX_PERSON_CODE = 3
_MIN_MEMBER_ID = 4


def _same_id(a: str, b: str) -> bool:
    """Equal, or one is the other followed by a short numeric person code."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    extra = long[len(short):]
    return (len(short) >= _MIN_MEMBER_ID and long.startswith(short)
            and len(extra) <= _MAX_PERSON_CODE and extra.isdigit())


@lru_cache(maxsize=65536)
def name_similarity(mine: str, last: str, first: str, floor: float) -> float:
    """`mine` (a normalised full name) against `last first` and `first last`, as in `similarity`."""
    best = 0.0
    for name in (_full(last, first), _full(first, last)):
        matcher = SequenceMatcher(None, mine, name)
        if matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor:
            best = max(best, matcher.ratio())
    return best if best >= floor else 0.0
