"""The claim loop (CLP) and its service lines (SVC), built one segment at a time."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from domain.remittance.era835.model import (
    Adjustment,
    Claim,
    FindingCode,
    Person,
    Procedure,
    Reference,
    ServiceLine,
)
from domain.remittance.era835.tokenizer import Segment
from domain.remittance.era835.values import Notes, element_name, parse_decimal

PROCEDURE_QUALIFIERS = frozenset({"AD", "ER", "HC", "HP", "IV", "N4", "NU", "WK", "ZZ"})
ADJUSTMENT_GROUPS = frozenset({"CO", "PR", "OA", "PI", "CR"})
_FOREIGN_COMPONENT = re.compile(r"([A-Z0-9]{2})([^A-Za-z0-9\s\-./&#,])(.*)", re.DOTALL)
_CLAIM_DATES = frozenset({"232", "233", "050", "036", "037", "009"})
_CLAIM_DATE_FIELDS = {"232": "statement_from", "233": "statement_to", "050": "received"}
_MIA_REMARKS = (5, 20, 21, 22, 23)
_MOA_REMARKS = (3, 4, 5, 6, 7)
_CAS_LAST = 19
_SVC_LAST = 7


def composite(segment: Segment, position: int, notes: Notes, qualifiers: frozenset[str]) -> list[str]:
    """Split a composite element, tolerating a separator other than the declared ISA16."""
    raw = segment.text(position)
    if not raw:
        return []
    declared = segment.separators.component
    if declared in raw:
        return [part.strip() for part in raw.split(declared)]
    foreign = _FOREIGN_COMPONENT.fullmatch(raw)
    if foreign and foreign.group(1) in qualifiers:
        notes.add(
            FindingCode.COMPONENT_SEPARATOR,
            f"{element_name(segment, position)} {raw!r} separates components with "
            f"{foreign.group(2)!r}, not the declared {declared!r}.",
        )
        return [part.strip() for part in raw.split(foreign.group(2))]
    return [raw]


def read_procedure(segment: Segment, position: int, notes: Notes) -> Procedure | None:
    parts = composite(segment, position, notes, PROCEDURE_QUALIFIERS)
    if not parts:
        return None
    parts += [""] * (7 - len(parts))
    if not parts[1]:
        notes.add(
            FindingCode.MALFORMED_ELEMENT,
            f"{element_name(segment, position)} {segment.text(position)!r} has no procedure code.",
        )
    modifiers = tuple(m for m in parts[2:6] if m)
    return Procedure(parts[0], parts[1], modifiers, parts[6])


def read_adjustments(segment: Segment, notes: Notes) -> list[Adjustment]:
    group = segment.text(1)
    if group not in ADJUSTMENT_GROUPS:
        notes.add(FindingCode.MALFORMED_ELEMENT, f"CAS01 {group!r} is not an adjustment group.")
    adjustments: list[Adjustment] = []
    last = max(len(segment.elements), 4)
    for position in range(2, last + 1, 3):
        if not any(segment.text(p) for p in range(position, position + 3)):
            continue
        if position > _CAS_LAST:
            notes.add(FindingCode.SHIFTED_ELEMENT, "CAS carries more than six adjustments.")
        amount = notes.amount(segment, position + 1)
        quantity = notes.optional_amount(segment, position + 2)
        adjustments.append(Adjustment(group, segment.text(position), amount, quantity))
    return adjustments


def _person(segment: Segment) -> Person:
    return Person(
        last_name=segment.text(3),
        first_name=segment.text(4),
        middle_name=segment.text(5),
        id_qualifier=segment.text(8),
        id=segment.text(9),
    )


@dataclass
class LineDraft:
    line: ServiceLine
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    updates: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, segment: Segment, notes: Notes) -> LineDraft:
        procedure = read_procedure(segment, 1, notes)
        if procedure is None:
            notes.add(FindingCode.MALFORMED_ELEMENT, "SVC01 has no procedure.")
            procedure = Procedure("", "")
        revenue_code = segment.text(4)
        if "." in revenue_code and parse_decimal(revenue_code) is not None:
            notes.add(
                FindingCode.SHIFTED_ELEMENT,
                f"SVC04 {revenue_code!r} looks like an amount, not a revenue code.",
            )
        extra = [
            f"{element_name(segment, p)} {segment.text(p)!r}"
            for p in range(_SVC_LAST + 1, len(segment.elements) + 1)
            if segment.text(p)
        ]
        if extra:
            notes.add(FindingCode.SHIFTED_ELEMENT, f"SVC has data past SVC07: {', '.join(extra)}.")
        line = ServiceLine(
            procedure=procedure,
            charge=notes.amount(segment, 2),
            paid=notes.amount(segment, 3),
            revenue_code=revenue_code,
            units=notes.optional_amount(segment, 5),
            original_procedure=read_procedure(segment, 6, notes),
            original_units=notes.optional_amount(segment, 7),
        )
        return cls(line)

    def add(self, segment: Segment, notes: Notes) -> bool:
        """Take a segment of the 2110 loop; False when it is not one."""
        kind = segment.text(1)
        if segment.id == "DTM":
            if kind.zfill(3) in _CLAIM_DATES:
                return False
            day = notes.date(segment, 2)
            if kind in ("472", "150"):
                self.updates["service_from"] = day
            if kind in ("472", "151"):
                self.updates["service_to"] = day
        elif segment.id == "CAS":
            self.adjustments += read_adjustments(segment, notes)
        elif segment.id == "REF":
            if kind == "6R":
                self.updates["control_number"] = segment.text(2)
        elif segment.id == "AMT":
            if kind == "B6":
                self.updates["allowed"] = notes.optional_amount(segment, 2)
        elif segment.id == "LQ":
            if segment.text(2):
                self.remarks.append(segment.text(2))
        elif segment.id != "QTY":
            return False
        return True

    def freeze(self) -> ServiceLine:
        return dataclasses.replace(
            self.line,
            adjustments=tuple(self.adjustments),
            remark_codes=tuple(self.remarks),
            **self.updates,
        )


@dataclass
class ClaimDraft:
    claim: Claim
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    lines: list[LineDraft] = field(default_factory=list)
    updates: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, segment: Segment, notes: Notes) -> ClaimDraft:
        claim = Claim(
            patient_control_number=segment.text(1),
            status=segment.text(2),
            charge=notes.amount(segment, 3),
            paid=notes.amount(segment, 4),
            patient_responsibility=notes.optional_amount(segment, 5),
            filing_indicator=segment.text(6),
            payer_claim_control_number=segment.text(7),
            facility_type=segment.text(8),
            frequency=segment.text(9),
        )
        return cls(claim)

    def add(self, segment: Segment, notes: Notes) -> bool:
        """Take a segment of the 2100 loop or of its current service line."""
        if segment.id == "SVC":
            self.lines.append(LineDraft.start(segment, notes.at(line_index=len(self.lines))))
            return True
        if self.lines and self.lines[-1].add(segment, notes.at(line_index=len(self.lines) - 1)):
            return True
        if not self._add_claim_level(segment, notes):
            return False
        if self.lines:
            notes.add(FindingCode.UNEXPECTED_SEGMENT, f"Claim-level {segment.id} after SVC.")
        return True

    def _add_claim_level(self, segment: Segment, notes: Notes) -> bool:
        kind = segment.text(1)
        if segment.id == "CAS":
            self.adjustments += read_adjustments(segment, notes)
        elif segment.id == "NM1":
            if kind == "QC":
                self.updates["patient"] = _person(segment)
            elif kind == "IL":
                self.updates["insured"] = _person(segment)
        elif segment.id in ("MIA", "MOA"):
            positions = _MIA_REMARKS if segment.id == "MIA" else _MOA_REMARKS
            self.remarks += [segment.text(p) for p in positions if segment.text(p)]
        elif segment.id == "REF":
            self.references.append(Reference(kind, segment.text(2)))
        elif segment.id == "DTM":
            name = _CLAIM_DATE_FIELDS.get(kind.zfill(3))
            day = notes.date(segment, 2)
            if name:
                self.updates[name] = day
        elif segment.id not in ("PER", "AMT", "QTY"):
            return False
        return True

    def freeze(self) -> Claim:
        return dataclasses.replace(
            self.claim,
            adjustments=tuple(self.adjustments),
            remark_codes=tuple(self.remarks),
            references=tuple(self.references),
            lines=tuple(line.freeze() for line in self.lines),
            **self.updates,
        )
