"""One 835 transaction set (ST to SE): header, payer, payee, claims and PLB."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from domain.remittance.era835.claims import ClaimDraft, composite
from domain.remittance.era835.model import (
    Finding,
    FindingCode,
    Location,
    Party,
    Payment,
    ProviderAdjustment,
    ProviderAdjustmentItem,
    Reference,
    Trace,
    TransactionSet,
)
from domain.remittance.era835.tokenizer import Segment
from domain.remittance.era835.values import Notes, parse_count, parse_date

PLB_REASONS = frozenset(
    {
        "50", "51", "72", "90", "AH", "AM", "AP", "B2", "B3", "BD", "BN", "C5", "CR", "CS",
        "CT", "CV", "CW", "DM", "E3", "FB", "FC", "GO", "HM", "IP", "IR", "IS", "J1", "L3",
        "L6", "LE", "LS", "OA", "OB", "PI", "PL", "RA", "RE", "SL", "TL", "WO", "WU",
    }
)  # fmt: skip
KNOWN_SEGMENTS = frozenset(
    {
        "ISA", "IEA", "GS", "GE", "ST", "SE", "BPR", "TRN", "CUR", "REF", "DTM", "N1", "N3",
        "N4", "PER", "RDM", "LX", "TS3", "TS2", "CLP", "CAS", "NM1", "MIA", "MOA", "AMT", "QTY",
        "SVC", "LQ", "PLB",
    }
)  # fmt: skip
_PLB_LAST = 14


class Area(Enum):
    HEADER = "header"
    PAYER = "payer (N1*PR)"
    PAYEE = "payee (N1*PE)"
    DETAIL = "header number (LX)"
    CLAIM = "claim (CLP)"
    SUMMARY = "provider adjustments (PLB)"


@dataclass
class _PartyDraft:
    name: str
    id_qualifier: str
    id: str
    references: list[Reference] = field(default_factory=list)

    def freeze(self) -> Party:
        return Party(self.name, self.id_qualifier, self.id, tuple(self.references))


def read_payment(segment: Segment, notes: Notes) -> Payment:
    position = 16
    if not segment.text(16) and parse_date(segment.text(15)) and not any(segment.text(p) for p in (12, 13, 14)):
        notes.add(FindingCode.SHIFTED_ELEMENT, "BPR is one element short: its date is in BPR15.")
        position = 15
    return Payment(
        handling_code=segment.text(1),
        amount=notes.amount(segment, 2),
        credit_debit=segment.text(3),
        method=segment.text(4),
        effective_date_raw=segment.text(position),
        effective_date=notes.date(segment, position),
    )


def read_provider_adjustment(segment: Segment, notes: Notes) -> ProviderAdjustment:
    items: list[ProviderAdjustmentItem] = []
    for position in range(3, len(segment.elements) + 1, 2):
        if not segment.text(position) and not segment.text(position + 1):
            continue
        if position > _PLB_LAST:
            notes.add(FindingCode.SHIFTED_ELEMENT, "PLB carries more than six adjustments.")
        parts = [*composite(segment, position, notes, PLB_REASONS), "", ""]
        amount = notes.amount(segment, position + 1)
        items.append(ProviderAdjustmentItem(parts[0], parts[1], amount))
    return ProviderAdjustment(
        provider_id=segment.text(1),
        fiscal_period_raw=segment.text(2),
        fiscal_period=notes.date(segment, 2),
        items=tuple(items),
    )


class TransactionDraft:
    def __init__(self, st: Segment, interchange_control_number: str, group_version: str, index: int) -> None:
        self.interchange_control_number = interchange_control_number
        self.control_number = st.text(2)
        self.index = index
        self.version = st.text(3) or group_version
        self.segment_count = 1
        self.area = Area.HEADER
        self.findings: list[Finding] = []
        self.notes = Notes(Location(interchange_control_number, self.control_number, index), self.findings)
        self.payment: Payment | None = None
        self.trace: Trace | None = None
        self.payer: _PartyDraft | None = None
        self.payee: _PartyDraft | None = None
        self.claims: list[ClaimDraft] = []
        self.provider_adjustments: list[ProviderAdjustment] = []
        self.references: list[Reference] = []
        self.production_date: date | None = None

    def add(self, segment: Segment) -> None:
        self.segment_count += 1
        notes = self.notes.at(segment_position=self.segment_count, segment_id=segment.id)
        if segment.id == "CLP":
            if self.area is Area.SUMMARY:
                notes.add(FindingCode.UNEXPECTED_SEGMENT, "CLP after PLB.")
            where = notes.at(claim_index=len(self.claims), claim_id=segment.text(1))
            self.claims.append(ClaimDraft.start(segment, where))
            self.area = Area.CLAIM
        elif segment.id == "PLB":
            self.provider_adjustments.append(read_provider_adjustment(segment, notes))
            self.area = Area.SUMMARY
        elif segment.id in ("LX", "TS3", "TS2") and self.area is not Area.SUMMARY:
            if segment.id != "LX" and self.area is not Area.DETAIL:
                notes.add(FindingCode.UNEXPECTED_SEGMENT, f"{segment.id} outside an LX loop.")
            self.area = Area.DETAIL
        elif not self._add_in_area(segment, notes):
            if segment.id in KNOWN_SEGMENTS:
                message = f"{segment.id} is not expected in the {self.area.value} area."
                notes.add(FindingCode.UNEXPECTED_SEGMENT, message)
            else:
                notes.add(FindingCode.UNKNOWN_SEGMENT, f"{segment.id!r} is not an 835 segment.")

    def _add_in_area(self, segment: Segment, notes: Notes) -> bool:
        if self.area is Area.CLAIM:
            claim = self.claims[-1]
            where = notes.at(claim_index=len(self.claims) - 1, claim_id=claim.claim.patient_control_number)
            return claim.add(segment, where)
        if self.area in (Area.PAYER, Area.PAYEE) and self._add_party_detail(segment):
            return True
        if self.area in (Area.HEADER, Area.PAYER, Area.PAYEE):
            return self._add_header(segment, notes)
        return False

    def _add_header(self, segment: Segment, notes: Notes) -> bool:
        kind = segment.text(1)
        if segment.id == "BPR" and self.payment is None and self.area is Area.HEADER:
            self.payment = read_payment(segment, notes)
        elif segment.id == "TRN" and self.trace is None:
            self.trace = Trace(segment.text(2), segment.text(3), segment.text(4))
        elif segment.id == "REF" and self.area is Area.HEADER:
            self.references.append(Reference(kind, segment.text(2)))
        elif segment.id == "DTM" and self.area is Area.HEADER:
            day = notes.date(segment, 2)
            if kind == "405":
                self.production_date = day
        elif segment.id == "N1" and kind in ("PR", "PE"):
            party = _PartyDraft(segment.text(2), segment.text(3), segment.text(4))
            if kind == "PR":
                self.payer, self.area = party, Area.PAYER
            else:
                self.payee, self.area = party, Area.PAYEE
        else:
            return segment.id in ("CUR", "RDM") and self.area is Area.HEADER
        return True

    def _add_party_detail(self, segment: Segment) -> bool:
        party = self.payer if self.area is Area.PAYER else self.payee
        if party is None or segment.id not in ("N3", "N4", "PER", "REF", "RDM"):
            return False
        if segment.id == "REF":
            party.references.append(Reference(segment.text(1), segment.text(2)))
        return True

    def finish(self, se: Segment | None) -> TransactionSet:
        if se is None:
            self.notes.add(FindingCode.MISSING_SEGMENT, "The transaction set has no SE.")
        else:
            self.segment_count += 1
            notes = self.notes.at(segment_position=self.segment_count, segment_id="SE")
            declared = se.text(1)
            if parse_count(declared) != self.segment_count:
                notes.add(
                    FindingCode.SEGMENT_COUNT,
                    f"SE01 says {declared!r} segments; the transaction set has {self.segment_count}.",
                )
            if se.text(2) != self.control_number:
                notes.add(
                    FindingCode.CONTROL_NUMBER,
                    f"SE02 {se.text(2)!r} does not match ST02 {self.control_number!r}.",
                )
        if self.payment is None:
            self.notes.add(FindingCode.MISSING_SEGMENT, "The transaction set has no BPR.")
        return TransactionSet(
            interchange_control_number=self.interchange_control_number,
            control_number=self.control_number,
            index=self.index,
            version=self.version,
            payment=self.payment,
            trace=self.trace,
            payer=self.payer.freeze() if self.payer else None,
            payee=self.payee.freeze() if self.payee else None,
            claims=tuple(claim.freeze() for claim in self.claims),
            provider_adjustments=tuple(self.provider_adjustments),
            production_date=self.production_date,
            references=tuple(self.references),
            findings=tuple(self.findings),
        )
