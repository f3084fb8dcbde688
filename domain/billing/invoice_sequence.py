"""A practice's invoice numbers for one year: INV-2026-000001, INV-2026-000002, ...

One aggregate per practice and (practice-local) year, its id derived from both. Issuing a number
is an event on it, saved in the same transaction as the invoice that carries the number: two
writers that read the same last number both try to write the sequence's next version, the event
store lets one of them in and the other retries on the state that won. Invoices are never deleted
(a void keeps its number), so the numbers in use are exactly 1..last, with no gap and no
duplicate (docs/decisions/0010-gapless-invoice-numbers.md).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidCommand
from domain.events import Audited

INVOICE_SEQUENCE_NAMESPACE = UUID("5b0e7d2a-93c4-4f1e-8a6d-1f2e3c4b5a69")
PREFIX = "INV"
DIGITS = 6


def invoice_sequence_id(practice_id: UUID, year: int) -> UUID:
    return uuid5(INVOICE_SEQUENCE_NAMESPACE, f"{practice_id}/{year}")


def format_number(year: int, seq: int) -> str:
    return f"{PREFIX}-{year:04d}-{seq:0{DIGITS}d}"


class InvoiceSequence(Aggregate):
    TOPIC = "careledger/invoice-sequence"

    class Created(Aggregate.Created):
        TOPIC = "careledger/invoice-sequence/created"

    class Started(Created, Audited):
        TOPIC = "careledger/invoice-sequence/started"
        practice_id: UUID
        year: int

    class NumberIssued(Aggregate.Event, Audited):
        TOPIC = "careledger/invoice-sequence/number-issued"
        number: str
        seq: int
        invoice_id: UUID
        at: datetime

    @classmethod
    def start(cls, practice_id: UUID, year: int) -> InvoiceSequence:
        if not isinstance(year, int) or not 2000 <= year <= 9999:
            raise InvalidCommand("An invoice year is between 2000 and 9999.", field="year")
        return cls._create(cls.Started, id=invoice_sequence_id(practice_id, year), practice_id=practice_id, year=year)

    @event(Started)
    def __init__(self, practice_id: UUID, year: int) -> None:
        self.practice_id = practice_id
        self.year = year
        self.last = 0
        self.last_invoice_id: UUID | None = None

    def issue(self, invoice_id: UUID, *, at: datetime) -> str:
        """The next number, for `invoice_id`; save this sequence together with that invoice."""
        seq = self.last + 1
        number = format_number(self.year, seq)
        self._issued(number=number, seq=seq, invoice_id=invoice_id, at=at)
        return number

    @event(NumberIssued)
    def _issued(self, number: str, seq: int, invoice_id: UUID, at: datetime) -> None:
        self.last = seq
        self.last_invoice_id = invoice_id
