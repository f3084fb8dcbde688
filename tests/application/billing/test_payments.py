"""PaymentService against the real event store: receiving, the two-step application to charges
and invoices (both aggregates change in one transaction, or neither), unapplying, refunds, retries
that change nothing, concurrent clerks, and record scope."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.billing.payments import PaymentFilter
from application.errors import Forbidden, NotFound
from domain.billing.charge import Charge
from domain.billing.invoice import Invoice
from domain.billing.payment import Payment
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from tests.application.billing.support import NOW, Desk, make_desk

D = Decimal


@pytest.fixture
def desk(container: Any) -> Desk:
    d = make_desk(container)
    d.price()
    return d


def load(desk: Desk, aggregate_id: UUID, cls: type[Any]) -> Any:
    with desk.system():
        return desk.k.store.load(aggregate_id, cls)


def receive(desk: Desk, amount: str = "100.00", client: UUID | str | None = "insured", **kw: Any) -> UUID:
    kw.setdefault("method", "cash")
    client_id = desk.insured if client == "insured" else client
    assert client_id is None or isinstance(client_id, UUID)
    with desk.as_():
        return desk.payments.receive(desk.id, amount=D(amount), client_id=client_id, **kw).id


def invoice(desk: Desk, amount: str = "80.00", client: UUID | None = None) -> UUID:
    inv = Invoice.draft(invoice_id=uuid4(), practice_id=desk.id, client_id=client or desk.insured,
                        number=f"INV-2026-{uuid4().int % 1_000_000:06d}", issued_on=date(2026, 3, 10),
                        due_on=date(2026, 4, 10), discount=None, tax_rate=D(0), notes=None, at=NOW, by=None)
    inv.add_service_line(description="Personal care", service_date=date(2026, 3, 9), hours=D(1), rate=D(amount),
                         taxable=False, at=NOW)
    inv.send(emailed=False, mail_id=None, at=NOW, by=None)
    desk.s.save(inv)
    return inv.id


def test_receiving(desk: Desk) -> None:
    check = receive(desk, "120.00", method="check", check_number="1042", reference="batch 7")
    payment: Payment = load(desk, check, Payment)
    assert (payment.method, payment.amount, payment.check_number, payment.received_on, payment.received_at,
            payment.client_id, payment.source) == ("check", D("120.00"), "1042", date(2026, 3, 20), NOW,
                                                   desk.insured, "manual")
    insurer = receive(desk, "0.00", client=None, method="insurance", payer="Aetna")
    assert load(desk, insurer, Payment).client_id is None
    elsewhere = make_desk(desk.k)
    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"method": "check"}, InvalidCommand),
        ({"method": "wire"}, InvalidCommand),
        ({"received_on": date(2026, 3, 21)}, InvalidCommand),
        ({"amount": D("-1.00")}, InvalidCommand),
        ({"client_id": elsewhere.insured}, NotFound),
    ]
    for kw, error in cases:
        args: dict[str, Any] = {"method": "cash", "amount": D("10.00"), "client_id": desk.insured, **kw}
        with desk.as_(), pytest.raises(error):
            desk.payments.receive(desk.id, **args)
    with desk.as_(desk.clinician, "clinician"), pytest.raises(Forbidden):
        desk.payments.receive(desk.id, method="cash", amount=D("10.00"), client_id=desk.insured)


def test_apply_to_a_charge_changes_both_in_one_transaction(desk: Desk) -> None:
    payment_id = receive(desk)
    charge_id = desk.enter()
    with desk.as_():
        saved = desk.payments.apply(desk.id, payment_id, target="charge", target_id=charge_id, amount=D("60.00"))
    payment: Payment = load(desk, payment_id, Payment)
    charge: Charge = load(desk, charge_id, Charge)
    assert (payment.applied, payment.unapplied) == (D("60.00"), D("40.00"))
    assert (charge.paid, charge.balance, charge.status) == (D("60.00"), D("90.00"), "partially_paid")
    entry = charge.entries[str(saved.id)]
    assert (entry.kind, entry.amount, entry.source, entry.reference_id) == ("payment", D("60.00"), "manual", payment_id)
    # One transaction: both events were stored by the same save, next to each other in the log.
    applied = [n for n in desk.k.store.recorder.select_notifications(start=saved.position - 1, limit=2)]
    assert {n.originator_id for n in applied} == {payment_id, charge_id}

    with desk.as_():  # a retry of the same request changes nothing
        again = desk.payments.apply(desk.id, payment_id, target="charge", target_id=charge_id, amount=D("60.00"),
                                    application_id=saved.id)
    assert (again.id, again.position) == (saved.id, 0)
    assert load(desk, payment_id, Payment).version == payment.version

    with desk.as_():
        with pytest.raises(ReasonRequired):
            desk.payments.unapply(desk.id, payment_id, saved.id, " ")
        desk.payments.unapply(desk.id, payment_id, saved.id, "Applied to the wrong visit")
        with pytest.raises(IllegalTransition):
            desk.payments.unapply(desk.id, payment_id, saved.id, "Again")
    payment, charge = load(desk, payment_id, Payment), load(desk, charge_id, Charge)
    assert (payment.applied, payment.unapplied, charge.paid, charge.balance, charge.status) == (
        D("0.00"), D("100.00"), D("0.00"), D("150.00"), "unbilled")


def test_a_refused_application_changes_nothing(desk: Desk) -> None:
    payment_id = receive(desk, "200.00")
    charge_id = desk.enter()
    theirs = desk.enter(desk.self_pay)
    elsewhere = make_desk(desk.k)
    elsewhere.price()
    foreign = elsewhere.enter()
    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"target_id": charge_id, "amount": D("150.01")}, InvalidCommand),  # more than the charge's balance
        ({"target_id": theirs, "amount": D("10.00")}, InvalidCommand),  # another client's charge
        ({"target_id": foreign, "amount": D("10.00")}, NotFound),  # another practice's
        ({"target_id": uuid4(), "amount": D("10.00")}, NotFound),
        ({"target": "invoice", "target_id": charge_id, "amount": D("10.00")}, NotFound),
        ({"target": "claim", "target_id": charge_id, "amount": D("10.00")}, InvalidCommand),
        ({"target_id": charge_id, "amount": D("0.001")}, InvalidCommand),
    ]
    for kw, error in cases:
        args: dict[str, Any] = {"target": "charge", **kw}
        with desk.as_(), pytest.raises(error):
            desk.payments.apply(desk.id, payment_id, **args)
    with desk.as_():
        desk.charges.void(desk.id, theirs, "Entered twice")
        voided = desk.enter(service_date=date(2026, 3, 3))
        desk.charges.void(desk.id, voided, "Entered twice")
        with pytest.raises(IllegalTransition):  # a void charge takes no payment
            desk.payments.apply(desk.id, payment_id, target="charge", target_id=voided, amount=D("1.00"))
    assert load(desk, payment_id, Payment).version == 1
    assert load(desk, charge_id, Charge).version == 1


def test_apply_to_an_invoice_and_back(desk: Desk) -> None:
    payment_id = receive(desk, "100.00")
    invoice_id = invoice(desk, "80.00")
    with desk.as_():
        with pytest.raises(InvalidCommand):
            desk.payments.apply(desk.id, payment_id, target="invoice", target_id=invoice_id, amount=D("80.01"))
        saved = desk.payments.apply(desk.id, payment_id, target="invoice", target_id=invoice_id, amount=D("80.00"))
    inv: Invoice = load(desk, invoice_id, Invoice)
    assert (inv.paid, inv.balance, inv.status) == (D("80.00"), D("0.00"), "paid")
    with desk.as_():
        desk.payments.unapply(desk.id, payment_id, saved.id, "Posted twice")
    inv, payment = load(desk, invoice_id, Invoice), load(desk, payment_id, Payment)
    assert (inv.paid, inv.balance, payment.unapplied) == (D("0.00"), D("80.00"), D("100.00"))
    theirs = invoice(desk, "10.00", client=desk.self_pay)
    with desk.as_(), pytest.raises(InvalidCommand):
        desk.payments.apply(desk.id, payment_id, target="invoice", target_id=theirs, amount=D("5.00"))


def test_refunds_only_unapplied_money_once_per_id(desk: Desk) -> None:
    payment_id = receive(desk, "100.00")
    charge_id = desk.enter()
    with desk.as_():
        desk.payments.apply(desk.id, payment_id, target="charge", target_id=charge_id, amount=D("70.00"))
        with pytest.raises(InvalidCommand):
            desk.payments.refund(desk.id, payment_id, amount=D("30.01"), reason="Overpaid")
        desk.payments.refund(desk.id, payment_id, amount=D("30.00"), reason="Overpaid", refund_id="r-1",
                             reference="check 88")
        desk.payments.refund(desk.id, payment_id, amount=D("30.00"), reason="Overpaid", refund_id="r-1")
    payment: Payment = load(desk, payment_id, Payment)
    assert (payment.applied, payment.refunded, payment.unapplied, payment.refunds) == (
        D("70.00"), D("30.00"), D("0.00"), {"r-1": D("30.00")})


def test_two_clerks_cannot_spend_the_same_money_twice(desk: Desk) -> None:
    payment_id = receive(desk, "100.00")
    charges = [desk.enter(service_date=date(2026, 3, d)) for d in (2, 3, 4, 5)]
    outcomes: list[str] = []

    def apply(charge_id: UUID) -> None:
        try:
            with desk.as_():
                desk.payments.apply(desk.id, payment_id, target="charge", target_id=charge_id, amount=D("60.00"))
            outcomes.append("applied")
        except InvalidCommand:
            outcomes.append("refused")

    threads = [threading.Thread(target=apply, args=(c,)) for c in charges]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied", "refused", "refused", "refused"]
    payment: Payment = load(desk, payment_id, Payment)
    paid = [load(desk, c, Charge).paid for c in charges]
    assert (payment.applied, sorted(paid)) == (D("60.00"), [D("0.00")] * 3 + [D("60.00")])


def test_lists_and_scope(desk: Desk) -> None:
    mine = receive(desk, "10.00")
    theirs = receive(desk, "20.00", client=desk.self_pay, method="card")
    desk.clock.advance(timedelta(minutes=1))
    insurer = receive(desk, "30.00", client=None, method="insurance", payer="Aetna")
    desk.settle()

    def listed(f: PaymentFilter, **who: Any) -> list[UUID]:
        with desk.as_(**who):
            return [r.payment_id for r in desk.payments.list(desk.id, f).items]

    everything = listed(PaymentFilter())
    assert everything[0] == insurer and set(everything) == {insurer, theirs, mine}  # newest first
    assert listed(PaymentFilter(method="card")) == [theirs]
    assert listed(PaymentFilter(client_id=desk.insured)) == [mine]
    assert listed(PaymentFilter(unapplied_only=True, first=date(2026, 3, 20), last=date(2026, 3, 20))) != []
    portal: dict[str, Any] = {"member": uuid4(), "role": "family_member", "clients": frozenset({desk.self_pay})}
    assert listed(PaymentFilter(), **portal) == [theirs]
    with desk.as_(**portal), pytest.raises(NotFound):
        desk.payments.get(desk.id, mine)
    with desk.as_(**portal), pytest.raises(NotFound):
        desk.payments.get(desk.id, insurer)
    with desk.as_(**portal):
        assert desk.payments.get(desk.id, theirs).amount == D("20.00")
    with desk.as_(), pytest.raises(InvalidCommand):
        desk.payments.list(desk.id, PaymentFilter(method="wire"))
    elsewhere = make_desk(desk.k)
    with elsewhere.as_(), pytest.raises(NotFound):
        elsewhere.payments.get(elsewhere.id, mine)
    with elsewhere.as_(), pytest.raises(NotFound):
        elsewhere.payments.refund(elsewhere.id, mine, amount=D("1.00"), reason="Not ours")
    with elsewhere.as_():
        assert elsewhere.payments.list(elsewhere.id, PaymentFilter()).items == []
