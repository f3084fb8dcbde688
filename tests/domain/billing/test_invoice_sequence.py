"""The invoice sequence: one per practice and year, numbers 1, 2, 3 ... formatted INV-YYYY-NNNNNN."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate

from domain.billing.invoice_sequence import InvoiceSequence, format_number, invoice_sequence_id
from domain.errors import InvalidCommand
from tests.gwt import given, then_events

AT = datetime(2026, 3, 2, 15, tzinfo=UTC)


def test_numbers_count_up_from_one_per_practice_and_year() -> None:
    practice = uuid4()
    seq = given(InvoiceSequence.start(practice, 2026))
    assert seq.id == invoice_sequence_id(practice, 2026)
    first, second = uuid4(), uuid4()
    assert seq.issue(first, at=AT) == "INV-2026-000001"
    assert seq.issue(second, at=AT) == "INV-2026-000002"
    assert then_events(seq) == ["NumberIssued", "NumberIssued"]
    assert (seq.last, seq.last_invoice_id) == (2, second)


def test_the_id_depends_on_practice_and_year_only() -> None:
    a, b = uuid4(), uuid4()
    assert invoice_sequence_id(a, 2026) == invoice_sequence_id(a, 2026)
    assert len({invoice_sequence_id(a, 2026), invoice_sequence_id(a, 2027), invoice_sequence_id(b, 2026)}) == 3


def test_the_sequence_replays_to_the_same_last_number() -> None:
    seq = InvoiceSequence.start(uuid4(), 2027)
    for _ in range(5):
        seq.issue(uuid4(), at=AT)
    events = seq.collect_events()
    replayed: Aggregate | None = None
    for e in events:
        replayed = e.mutate(replayed)
    assert isinstance(replayed, InvoiceSequence)
    assert replayed.last == 5 and replayed.version == 6
    assert replayed.issue(uuid4(), at=AT) == "INV-2027-000006"


def test_number_format() -> None:
    assert format_number(2026, 123) == "INV-2026-000123"
    assert format_number(2026, 1_234_567) == "INV-2026-1234567"


def test_an_absurd_year_is_refused() -> None:
    with pytest.raises(InvalidCommand):
        InvoiceSequence.start(uuid4(), 26)
