"""The Payment aggregate: receiving (methods, check numbers, payers), the two-step application,
unapplying, refunds of unapplied money once per id, and amount = applied + refunded + unapplied
under any sequence of them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from domain.billing.money import ZERO
from domain.billing.payment import Payment, payment_id_for
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from tests.gwt import given, then_events, then_no_new_events

AT = datetime(2026, 3, 10, 15, tzinfo=UTC)
TODAY = date(2026, 3, 10)
D = Decimal


def receive(**overrides: Any) -> Payment:
    fields: dict[str, Any] = {
        "practice_id": uuid4(), "client_id": uuid4(), "payer": None, "method": "cash", "amount": D("100.00"),
        "received_on": TODAY, "received_at": AT, "by": uuid4(), "today": TODAY, **overrides,
    }
    return Payment.receive(**fields)


def test_receiving_records_the_money_unapplied() -> None:
    payment = receive(method="check", check_number=" 1042 ", reference="deposit 7")
    [event] = payment.collect_events()
    assert isinstance(event, Payment.Received)
    assert (event.method, event.source, event.amount, event.check_number, event.reference) == (
        "check", "manual", D("100.00"), "1042", "deposit 7")
    assert (payment.applied, payment.refunded, payment.unapplied) == (ZERO, ZERO, D("100.00"))


@pytest.mark.parametrize(("overrides", "field"), [
    ({"method": "bitcoin"}, "method"),
    ({"method": "check"}, "check_number"),
    ({"method": "insurance", "client_id": None}, "payer"),
    ({"client_id": None}, "client_id"),
    ({"amount": D("0.00")}, "amount"),
    ({"amount": D("1.001")}, "amount"),
    ({"received_on": date(2026, 3, 11)}, "received_on"),
])
def test_receiving_refuses(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidCommand) as e:
        receive(**overrides)
    assert e.value.details["field"] == field


def test_an_insurance_payment_may_be_zero_and_name_no_client() -> None:
    payment = receive(method="insurance", client_id=None, payer="Aetna", amount=D("0.00"))
    assert (payment.client_id, payment.payer, payment.amount) == (None, "Aetna", ZERO)


def test_outside_references_give_stable_ids() -> None:
    practice = uuid4()
    assert payment_id_for(practice, "pi_123") == payment_id_for(practice, "pi_123")
    assert payment_id_for(practice, "pi_123") != payment_id_for(uuid4(), "pi_123")


def test_apply_unapply_and_refund() -> None:
    payment = given(receive())
    first, second, charge = uuid4(), uuid4(), uuid4()
    payment.apply(first, "charge", charge, D("60.00"), at=AT, by=None)
    with pytest.raises(InvalidCommand):
        payment.apply(second, "charge", charge, D("40.01"), at=AT, by=None)
    with pytest.raises(IllegalTransition):
        payment.apply(first, "charge", charge, D("1.00"), at=AT, by=None)
    with pytest.raises(InvalidCommand):
        payment.apply(second, "claim", charge, D("1.00"), at=AT, by=None)
    with pytest.raises(InvalidCommand):
        payment.refund("r1", D("40.01"), "Overpaid", at=AT, by=None)
    assert payment.refund("r1", D("40.00"), "Overpaid", at=AT, by=None) is True
    assert payment.refund("r1", D("40.00"), "Overpaid", at=AT, by=None) is False
    assert then_events(payment) == ["Applied", "Refunded"]
    with pytest.raises(ReasonRequired):
        payment.unapply(first, " ", at=AT, by=None)
    undone = payment.unapply(first, "Wrong charge", at=AT, by=None)
    assert (undone.target, undone.target_id, undone.amount) == ("charge", charge, D("60.00"))
    with pytest.raises(IllegalTransition):
        payment.unapply(first, "Again", at=AT, by=None)
    assert (payment.applied, payment.refunded, payment.unapplied) == (ZERO, D("40.00"), D("60.00"))


def test_a_remittance_payment_is_not_applied_by_hand() -> None:
    payment = given(receive(method="insurance", client_id=None, payer="Aetna", source="remittance"))
    with pytest.raises(IllegalTransition):
        payment.apply(uuid4(), "charge", uuid4(), D("1.00"), at=AT, by=None)
    then_no_new_events(payment)


amounts = st.decimals(min_value=D("0.01"), max_value=D("150.00"), places=2)


@settings(max_examples=200, deadline=None)
@hypothesis_given(total=amounts, ops=st.lists(st.tuples(st.sampled_from(["apply", "unapply", "refund", "repeat"]),
                                                       amounts, st.integers(0, 10)), max_size=25))
def test_amount_is_applied_plus_refunded_plus_unapplied(total: Decimal, ops: list[tuple[str, Decimal, int]]) -> None:
    payment = receive(amount=total)
    active: list[UUID] = []
    for n, (op, amount, pick) in enumerate(ops):
        before = (payment.applied, payment.refunded, payment.unapplied)
        try:
            if op == "apply":
                app = uuid4()
                payment.apply(app, "invoice", uuid4(), amount, at=AT, by=None)
                active.append(app)
            elif op == "unapply" and active:
                payment.unapply(active.pop(pick % len(active)), "Moved", at=AT, by=None)
            elif op == "refund":
                payment.refund(f"r{n}", amount, "Returned", at=AT, by=None)
            elif op == "repeat" and payment.refunds:
                assert payment.refund(next(iter(payment.refunds)), D("0.01"), "Again", at=AT, by=None) is False
                assert (payment.applied, payment.refunded, payment.unapplied) == before
        except InvalidCommand:
            assert (payment.applied, payment.refunded, payment.unapplied) == before
        assert payment.amount == payment.applied + payment.refunded + payment.unapplied
        assert payment.unapplied >= ZERO
