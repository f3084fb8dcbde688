"""Reading 835 text into the model: envelopes here, the transaction set in `transaction`."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.remittance.era835.errors import EraReadError
from domain.remittance.era835.model import (
    EraFile,
    Finding,
    FindingCode,
    Interchange,
    Location,
    TransactionSet,
)
from domain.remittance.era835.tokenizer import Segment, Separators, tokenize
from domain.remittance.era835.transaction import TransactionDraft
from domain.remittance.era835.values import Notes, parse_count


def read_era(data: bytes | str) -> EraFile:
    """Read every 835 transaction set in `data`.

    Raises EraReadError only when the input is not an 835 at all; everything else a payer
    gets wrong is recorded as a finding on the model.
    """
    segments = tokenize(data)
    types = {segment.text(1) for segment in segments if segment.id == "ST"}
    if "835" not in types:
        if types:
            found = ", ".join(repr(t) for t in sorted(types))
            raise EraReadError(f"The input holds transaction set type {found}, not 835.")
        raise EraReadError("The input has no ST segment, so it holds no 835 transaction set.")
    return _Reader().read(segments)


@dataclass
class _InterchangeDraft:
    isa: Segment | None
    separators: Separators
    transaction_sets: list[TransactionSet] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    group_count: int = 0
    group_transaction_count: int = 0
    group_version: str = ""

    @property
    def control_number(self) -> str:
        return self.isa.text(13) if self.isa else ""

    @property
    def notes(self) -> Notes:
        return Notes(Location(interchange=self.control_number), self.findings)

    def freeze(self) -> Interchange:
        isa = self.isa
        return Interchange(
            control_number=self.control_number,
            sender_qualifier=isa.text(5) if isa else "",
            sender_id=isa.text(6) if isa else "",
            receiver_qualifier=isa.text(7) if isa else "",
            receiver_id=isa.text(8) if isa else "",
            version=isa.text(12) if isa else "",
            usage=isa.text(15) if isa else "",
            separators=self.separators,
            synthetic=isa is None,
            transaction_sets=tuple(self.transaction_sets),
            findings=tuple(self.findings),
        )


class _Reader:
    def __init__(self) -> None:
        self.interchanges: list[Interchange] = []
        self.file_notes = Notes(Location())
        self.interchange: _InterchangeDraft | None = None
        self.transaction: TransactionDraft | None = None
        self.owner: _InterchangeDraft | None = None
        self.skipping = False
        self.transaction_count = 0

    def read(self, segments: list[Segment]) -> EraFile:
        for segment in segments:
            self._route(segment)
        self._close_interchange(None)
        return EraFile(tuple(self.interchanges), tuple(self.file_notes.findings))

    def _route(self, segment: Segment) -> None:
        if segment.id == "ISA":
            self._close_interchange(None)
            self.interchange = _InterchangeDraft(segment, segment.separators)
        elif segment.id == "IEA":
            self._close_interchange(segment)
        elif segment.id == "GS":
            self._close_transaction(None)
            interchange = self._open_interchange(segment)
            interchange.group_count += 1
            interchange.group_transaction_count = 0
            interchange.group_version = segment.text(8)
        elif segment.id == "GE":
            self._close_transaction(None)
            if self.interchange:
                counted = self.interchange.group_transaction_count
                self._check_count(segment, "GE01", "transaction sets", counted)
        elif segment.id == "ST":
            self._open_transaction(segment)
        elif segment.id == "SE" and (self.transaction or self.skipping):
            self._close_transaction(segment)
        elif self.transaction:
            self.transaction.add(segment)
        elif not self.skipping:
            notes = self.interchange.notes if self.interchange else self.file_notes
            notes.add(FindingCode.UNEXPECTED_SEGMENT, f"{segment.id!r} is outside any transaction set.")

    def _open_interchange(self, segment: Segment) -> _InterchangeDraft:
        if self.interchange is None:
            self.interchange = _InterchangeDraft(None, segment.separators)
        return self.interchange

    def _open_transaction(self, st: Segment) -> None:
        self._close_transaction(None)
        interchange = self._open_interchange(st)
        interchange.group_transaction_count += 1
        if st.text(1) == "835":
            self.transaction = TransactionDraft(
                st, interchange.control_number, interchange.group_version, self.transaction_count
            )
            self.transaction_count += 1
            self.owner = interchange
        else:
            self.skipping = True
            interchange.notes.add(
                FindingCode.OTHER_TRANSACTION_TYPE,
                f"Transaction set {st.text(2)!r} is a {st.text(1)!r}, not an 835; skipped.",
            )

    def _close_transaction(self, se: Segment | None) -> None:
        self.skipping = False
        if self.transaction is None or self.owner is None:
            return
        self.owner.transaction_sets.append(self.transaction.finish(se))
        self.transaction = self.owner = None

    def _close_interchange(self, iea: Segment | None) -> None:
        self._close_transaction(None)
        interchange = self.interchange
        if interchange is None:
            if iea is not None:
                self.file_notes.add(FindingCode.UNEXPECTED_SEGMENT, "IEA without ISA.")
            return
        if iea is None and interchange.isa is not None:
            interchange.notes.add(FindingCode.MISSING_SEGMENT, "The interchange has no IEA.")
        if iea is not None:
            self._check_count(iea, "IEA01", "functional groups", interchange.group_count)
            if iea.text(2) != interchange.control_number:
                interchange.notes.add(
                    FindingCode.CONTROL_NUMBER,
                    f"IEA02 {iea.text(2)!r} does not match ISA13 {interchange.control_number!r}.",
                )
        self.interchanges.append(interchange.freeze())
        self.interchange = None

    def _check_count(self, segment: Segment, name: str, what: str, counted: int) -> None:
        declared = segment.text(1)
        if self.interchange and parse_count(declared) != counted:
            self.interchange.notes.add(
                FindingCode.SEGMENT_COUNT, f"{name} says {declared!r} {what}; there are {counted}."
            )
