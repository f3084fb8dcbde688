"""The Charge aggregate: priced entry, edits while unbilled, billing (and the billing hold), ledger
entries that happen once per id, the ledger identity under any sequence of money movements, and
void refused while money is on the charge. Given events, when a command, then events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from domain.billing.charge import Charge, OnBillingHold, line_ref_for
from domain.billing.money import ZERO
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from tests.gwt import given, then_events, then_no_new_events

AT = datetime(2026, 3, 10, 15, tzinfo=UTC)
TODAY = date(2026, 3, 10)
D = Decimal
BY = uuid4()


def enter(**overrides: Any) -> Charge:
    fields: dict[str, Any] = {
        "practice_id": uuid4(), "client_id": uuid4(), "clinician_id": uuid4(), "appointment_id": None,
        "service_date": date(2026, 3, 9), "cpt": "90837", "charge_modifiers": ["95"], "charge_units": D(1),
        "diagnosis_codes": ["F32.1", "f41.1"], "diagnosis_pointers": [1, 2], "unit_fee": D("150.00"),
        "payer": " Aetna ", "entered_at": AT, "by": BY, "today": TODAY, **overrides,
    }
    return Charge.enter(**fields)


def replayed(charge: Charge, events: list[Any]) -> Charge:
    """The charge folded again from its events (what the event store does on load)."""
    aggregate: Aggregate | None = None
    for e in events:
        aggregate = e.mutate(aggregate)
    assert isinstance(aggregate, Charge)
    return aggregate


def test_entering_prices_units_times_the_unit_fee_and_keeps_diagnoses_as_phi() -> None:
    charge = enter(charge_units=D("1.5"), unit_fee=D("100.00"))
    [event] = charge.collect_events()
    assert isinstance(event, Charge.Entered)
    assert event.TOPIC == "careledger/charge/entered"
    assert (event.cpt, event.modifiers, event.units, event.unit_fee, event.amount, event.payer) == (
        "90837", ["95"], D("1.5"), D("100.00"), D("150.00"), "Aetna")
    assert event.diagnosis_codes == ["F32.1", "F41.1"]
    assert event.phi_fields == ("diagnosis_codes",) and event.subject_field == "client_id"
    assert event.line_ref == line_ref_for(charge.id) and charge.line_ref.startswith("L")
    assert (charge.status, charge.balance, charge.paid, charge.adjusted, charge.transferred) == (
        "unbilled", D("150.00"), ZERO, ZERO, ZERO)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"service_date": date(2026, 3, 11)}, "service_date"),
    ({"cpt": "9083"}, "cpt"),
    ({"charge_modifiers": ["95", "GT", "HO", "U1", "U2"]}, "modifiers"),
    ({"charge_modifiers": ["95", "95"]}, "modifiers"),
    ({"charge_units": D(0)}, "units"),
    ({"diagnosis_codes": []}, "diagnosis_codes"),
    ({"diagnosis_codes": ["NOTACODE"]}, "diagnosis_codes"),
    ({"diagnosis_pointers": [3]}, "diagnosis_pointers"),
    ({"diagnosis_pointers": [1, 1]}, "diagnosis_pointers"),
    ({"unit_fee": D("0.00")}, "unit_fee"),
    ({"unit_fee": D("10.005")}, "unit_fee"),
])
def test_entering_refuses_bad_fields(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidCommand) as e:
        enter(**overrides)
    assert e.value.details["field"] == field


def test_edits_only_while_unbilled_and_without_money() -> None:
    charge = given(enter())
    charge.edit(charge_units=D(2), at=AT, by=BY)
    assert then_events(charge) == ["Edited"]
    assert (charge.amount, charge.balance) == (D("300.00"), D("300.00"))
    charge.bill("C1", payer=None, hold_reason=None, at=AT, by=BY)
    charge.collect_events()
    with pytest.raises(IllegalTransition):
        charge.edit(charge_units=D(1), at=AT, by=BY)
    then_no_new_events(charge)


def test_billing_records_the_claim_once_and_is_refused_on_hold() -> None:
    charge = given(enter())
    with pytest.raises(OnBillingHold) as held:
        charge.bill("C1", payer=None, hold_reason="note_unsigned", at=AT, by=BY)
    assert held.value.kind == "conflict" and held.value.code == "billing_hold"
    then_no_new_events(charge)
    assert charge.status == "unbilled"

    charge.bill("C1", payer="Cigna", hold_reason=None, at=AT, by=BY)
    assert then_events(charge) == ["Billed"]
    assert (charge.claim_number, charge.payer, charge.status, charge.billed_at) == ("C1", "Cigna", "billed", AT)
    charge.bill("C1", payer=None, hold_reason=None, at=AT, by=BY)  # the same claim again: nothing
    then_no_new_events(charge)
    with pytest.raises(IllegalTransition):
        charge.bill("C2", payer=None, hold_reason=None, at=AT, by=BY)
    with pytest.raises(InvalidCommand):
        given(enter()).bill("bad*number", payer=None, hold_reason=None, at=AT, by=BY)


def test_entries_happen_once_per_id() -> None:
    charge = given(enter())
    payment = uuid4()
    assert charge.apply_payment("a1", payment, D("40.00"), source="manual", at=AT) is True
    assert charge.apply_payment("a1", payment, D("40.00"), source="manual", at=AT) is False
    assert charge.adjust("j1", kind="adjustment", group="CO", reason="45", amount=D("10.00"), at=AT, by=BY,
                         note="Contractual") is True
    assert charge.adjust("j1", kind="adjustment", group="CO", reason="45", amount=D("10.00"), at=AT, by=BY,
                         note="Contractual") is False
    assert then_events(charge) == ["PaymentApplied", "Adjusted"]
    assert (charge.paid, charge.adjusted, charge.balance, charge.status) == (
        D("40.00"), D("10.00"), D("100.00"), "partially_paid")


def test_status_follows_the_money() -> None:
    charge = given(enter())
    charge.apply_payment("a1", uuid4(), D("150.00"), source="card", at=AT)
    assert (charge.status, charge.balance) == ("paid", ZERO)
    charge.unapply_payment("a1", at=AT)
    assert (charge.status, charge.balance) == ("unbilled", D("150.00"))
    charge.adjust("w1", kind="write_off", group="PR", reason="1", amount=D("150.00"), at=AT, by=BY, note="Waived")
    assert charge.status == "adjusted"
    with pytest.raises(InvalidCommand):
        charge.adjust("w2", kind="write_off", group="PR", reason="1", amount=D("0.01"), at=AT, by=BY, note="x")


def test_manual_adjustments_need_a_note_and_valid_codes() -> None:
    charge = given(enter())
    with pytest.raises(ReasonRequired):
        charge.adjust("j", kind="adjustment", group="CO", reason="45", amount=D(1), at=AT, by=BY, note=" ")
    with pytest.raises(InvalidCommand):
        charge.adjust("j", kind="adjustment", group="XX", reason="45", amount=D(1), at=AT, by=BY, note="n")
    with pytest.raises(InvalidCommand):
        charge.adjust("j", kind="adjustment", group="CO", reason="45!", amount=D(1), at=AT, by=BY, note="n")
    with pytest.raises(InvalidCommand):
        charge.adjust("j", kind="adjustment", group="CO", reason="45", amount=D(-1), at=AT, by=BY, note="n")
    then_no_new_events(charge)


def test_void_is_refused_with_money_on_the_charge() -> None:
    charge = given(enter())
    charge.apply_payment("a1", uuid4(), D("20.00"), source="manual", at=AT)
    charge.collect_events()
    with pytest.raises(IllegalTransition):
        charge.void("Entered twice", at=AT, by=BY)
    then_no_new_events(charge)
    charge.unapply_payment("a1", at=AT)
    charge.void("Entered twice", at=AT, by=BY)
    assert then_events(charge) == ["PaymentUnapplied", "Voided"]
    assert (charge.status, charge.voided) == ("void", True)
    with pytest.raises(IllegalTransition):
        charge.apply_payment("a2", uuid4(), D("1.00"), source="manual", at=AT)
    with pytest.raises(IllegalTransition):
        charge.bill("C1", payer=None, hold_reason=None, at=AT, by=BY)
    with pytest.raises(ReasonRequired):
        given(enter()).void("  ", at=AT, by=BY)


def test_a_transfer_moves_the_open_balance_to_an_invoice_and_back() -> None:
    charge = given(enter())
    charge.apply_payment("a1", uuid4(), D("50.00"), source="manual", at=AT)
    invoice = uuid4()
    assert charge.transfer_to_invoice(invoice, at=AT) == D("100.00")
    assert (charge.transferred, charge.balance, charge.invoice_id) == (D("100.00"), ZERO, invoice)
    with pytest.raises(IllegalTransition):
        charge.transfer_to_invoice(uuid4(), at=AT)
    charge.release_from_invoice(invoice, at=AT)
    assert (charge.transferred, charge.balance, charge.invoice_id) == (ZERO, D("100.00"), None)


# --- the ledger identity ----------------------------------------------------------------------

amounts = st.decimals(min_value=D("0.01"), max_value=D("400.00"), places=2)
operations = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.sampled_from(["manual", "card"]), amounts),
    st.tuples(st.just("remit"), st.just("remittance"), st.decimals(min_value=D("-200.00"), max_value=D("400.00"),
                                                                   places=2)),
    st.tuples(st.just("adjust"), st.sampled_from(["adjustment", "write_off"]), amounts),
    st.tuples(st.just("unapply"), st.just(""), st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("transfer"), st.just(""), st.just(D(0))),
    st.tuples(st.just("release"), st.just(""), st.just(D(0))),
    st.tuples(st.just("repeat"), st.just(""), st.integers(min_value=0, max_value=20)),
), max_size=25)


@settings(max_examples=200, deadline=None)
@hypothesis_given(fee=amounts, ops=operations)
def test_any_sequence_keeps_the_ledger_identity_and_replays_the_same(fee: Decimal, ops: list[Any]) -> None:
    """Payments, remittance postings (also reversals), adjustments, write-offs, unapplies,
    transfers, releases and repeated entry ids: amount = paid + adjusted + transferred + balance
    after every step, a repeated entry id changes nothing, and replaying the events gives the
    same charge."""
    charge = enter(unit_fee=fee)
    events = list(charge.collect_events())
    applied: list[str] = []
    invoice: UUID | None = None
    for n, (op, kind, value) in enumerate(ops):
        entry = f"e{n}"
        before = (charge.paid, charge.adjusted, charge.transferred, charge.balance, charge.status)
        try:
            if op in {"pay", "remit"}:
                if value == 0 and op == "remit":
                    continue
                charge.apply_payment(entry, uuid4(), value, source=kind, at=AT)
                if op == "pay":
                    applied.append(entry)
            elif op == "adjust":
                charge.adjust(entry, kind=kind, group="CO", reason="45", amount=value, at=AT, by=BY, note="n")
            elif op == "unapply" and applied:
                charge.unapply_payment(applied.pop(value % len(applied)), at=AT)
            elif op == "transfer":
                invoice = uuid4()
                charge.transfer_to_invoice(invoice, at=AT)
            elif op == "release" and invoice is not None:
                charge.release_from_invoice(invoice, at=AT)
                invoice = None
            elif op == "repeat" and charge.entries:
                old = list(charge.entries.values())[value % len(charge.entries)]
                if old.kind == "payment":
                    assert charge.apply_payment(old.entry_id, uuid4(), D("1.00"), source="remittance", at=AT) is False
                elif old.kind != "transfer":
                    assert charge.adjust(old.entry_id, kind="adjustment", group="CO", reason="45", amount=D("1.00"),
                                         at=AT, by=BY, note="n") is False
                assert (charge.paid, charge.adjusted, charge.transferred, charge.balance, charge.status) == before
        except (InvalidCommand, IllegalTransition):
            assert (charge.paid, charge.adjusted, charge.transferred, charge.balance, charge.status) == before
        assert charge.amount == charge.paid + charge.adjusted + charge.transferred + charge.balance
        events += charge.collect_events()
    again = replayed(charge, events)
    assert (again.paid, again.adjusted, again.transferred, again.balance, again.status, again.entries) == (
        charge.paid, charge.adjusted, charge.transferred, charge.balance, charge.status, charge.entries)


def test_a_later_service_date_than_today_is_refused_at_the_edge_of_midnight() -> None:
    with pytest.raises(InvalidCommand):
        enter(service_date=TODAY + timedelta(days=1))
    assert enter(service_date=TODAY).service_date == TODAY
