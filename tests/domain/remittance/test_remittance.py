"""The Remittance aggregate: identity from practice and bytes, runs recorded only when something
changed, every posting key and payment once, resolutions of known claims that are not posted yet,
a duplicate check once per transaction set."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.errors import IllegalTransition, InvalidCommand
from domain.remittance.remittance import Remittance, claim_key_of, clean_filename, remittance_id_for
from tests.gwt import given, then_events, then_no_new_events

AT = datetime(2026, 3, 20, 15, tzinfo=UTC)
PRACTICE, BY = uuid4(), uuid4()
SHA = "ab" * 32
SUMMARY: dict[str, Any] = {"claims": 2, "transaction_sets": [], "totals": {}, "findings": []}


def result(key: str, level: str = "1", charge_ids: list[str] | None = None) -> dict[str, Any]:
    return {"claim_key": key, "level": level, "charge_ids": charge_ids or [], "confidence": "1.000"}


def uploaded(matched: bool = True) -> Remittance:
    r = Remittance.upload(practice_id=PRACTICE, filename="/tmp/in\x00box/acme.835", sha256=SHA, size=10,
                          object_key=f"remittances/{PRACTICE}/{SHA}.835", uploaded_at=AT, by=BY)
    r.record_read(SUMMARY, at=AT)
    if matched:
        r.record_match(2, [result("I/1/0/0"), result("I/1/0/1", "5")], {"unmatched": 1}, at=AT, by=BY)
    return given(r)


def test_identity_comes_from_practice_and_bytes() -> None:
    r = uploaded(matched=False)
    assert r.id == remittance_id_for(PRACTICE, SHA) != remittance_id_for(uuid4(), SHA)
    assert (r.filename, r.status, r.run) == ("acme.835", "uploaded", 0)
    with pytest.raises(InvalidCommand):
        Remittance.upload(practice_id=PRACTICE, filename="a.835", sha256="XYZ", size=1, object_key="k",
                          uploaded_at=AT, by=BY)
    with pytest.raises(InvalidCommand):
        clean_filename(" / ")
    assert claim_key_of("ISA/ST/0/3/1/adjustment/0/1") == "ISA/ST/0/3"


def test_a_run_is_recorded_only_when_something_changed() -> None:
    r = uploaded()
    assert r.record_match(2, [result("I/1/0/0"), result("I/1/0/1", "5")], {"unmatched": 1}, at=AT, by=BY) is False
    then_no_new_events(r)
    assert r.record_match(2, [result("I/1/0/0"), result("I/1/0/1", "3")], {"unmatched": 0}, at=AT, by=BY)
    [matched] = r.collect_events()
    assert (matched.run, [x["claim_key"] for x in matched.results]) == (2, ["I/1/0/1"])  # type: ignore[attr-defined]
    assert r.record_match(1, [result("I/1/0/0"), result("I/1/0/1", "3")], {"unmatched": 0}, at=AT, by=BY)
    assert (r.run, r.rules_version, r.status) == (3, 1, "processed")


def test_postings_and_payments_are_recorded_once() -> None:
    r = uploaded()
    charge, payment = uuid4(), uuid4()
    r.record_posted(keys=["I/1/0/0/0/payment/0/0"], charge_ids=[charge], kinds=["payment"], amounts=[Decimal("80.00")],
                    payment_ids=[payment], at=AT)
    assert then_events(r) == ["Posted"]
    with pytest.raises(IllegalTransition):
        r.record_posted(keys=["I/1/0/0/0/payment/0/0"], charge_ids=[charge], kinds=["payment"],
                        amounts=[Decimal("1.00")], payment_ids=[], at=AT)
    with pytest.raises(IllegalTransition):
        r.record_posted(keys=[], charge_ids=[], kinds=[], amounts=[], payment_ids=[payment], at=AT)
    r.record_posted(keys=[], charge_ids=[], kinds=[], amounts=[], payment_ids=[], at=AT)
    then_no_new_events(r)
    assert (r.posted_on(), r.posted_for("I/1/0/0"), r.written) == (
        {charge: Decimal("80.00")}, ["I/1/0/0/0/payment/0/0"], {1: 1})


def test_resolutions_name_known_claims_without_postings() -> None:
    r = uploaded()
    charge = uuid4()
    assert r.resolve("I/1/0/1", [charge, charge], by=BY, at=AT)
    assert r.resolutions == {"I/1/0/1": (charge,)}
    assert r.resolve("I/1/0/1", [charge], by=BY, at=AT) is False
    assert then_events(r) == ["ClaimResolved"]
    with pytest.raises(InvalidCommand):
        r.resolve("I/9/9/9", [], by=BY, at=AT)
    r.record_posted(keys=["I/1/0/0/claim/payment/0/0"], charge_ids=[charge], kinds=["payment"],
                    amounts=[Decimal("5.00")], payment_ids=[], at=AT)
    with pytest.raises(IllegalTransition):
        r.resolve("I/1/0/0", [], by=BY, at=AT)


def test_a_duplicate_check_is_recorded_once_per_transaction_set() -> None:
    r = uploaded()
    other, payment = uuid4(), uuid4()
    assert r.found_duplicate(transaction_set=0, trace="T1", payer_id="99999", payment_id=payment,
                             other_remittance_id=other, at=AT)
    assert r.found_duplicate(transaction_set=0, trace="T1", payer_id="99999", payment_id=payment,
                             other_remittance_id=None, at=AT) is False
    assert then_events(r) == ["DuplicatePaymentFound"]
    assert r.duplicates[0]["other_remittance_id"] == other
    own = UUID(int=5)
    r.record_posted(keys=[], charge_ids=[], kinds=[], amounts=[], payment_ids=[own], at=AT)
    with pytest.raises(IllegalTransition):
        r.found_duplicate(transaction_set=1, trace="T2", payer_id="9", payment_id=own, other_remittance_id=None,
                          at=AT)
