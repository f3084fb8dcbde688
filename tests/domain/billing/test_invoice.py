"""The Invoice aggregate: lines, totals and rounding, the draft -> sent -> paid lifecycle, overdue,
void, payments, write-offs and online payment attempts. Given events, when a command, then events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from domain.billing.invoice import Discount, Invoice, InvoiceEvent
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from domain.events import Audited
from tests.gwt import given, then_events, then_no_new_events

AT = datetime(2026, 3, 2, 15, tzinfo=UTC)
ISSUED = date(2026, 3, 2)
DUE = date(2026, 4, 1)
D = Decimal


def draft(discount: Discount | None = None, tax_rate: str = "0", notes: str | None = None, **extra: Any) -> Invoice:
    fields: dict[str, Any] = {
        "invoice_id": uuid4(), "practice_id": uuid4(), "client_id": uuid4(), "number": "INV-2026-000001",
        "issued_on": ISSUED, "due_on": DUE, "discount": discount, "tax_rate": D(tax_rate), "notes": notes,
        "at": AT, "by": uuid4(), **extra,
    }
    return Invoice.draft(**fields)


def service(inv: Invoice, hours: str, rate: str, taxable: bool = False, text: str = "Personal care") -> Any:
    return inv.add_service_line(description=text, service_date=date(2026, 2, 27), hours=D(hours), rate=D(rate),
                                taxable=taxable, at=AT)


def charge_line(inv: Invoice, amount: str = "150.00", charge_id: UUID | None = None) -> Any:
    return inv.add_charge_line(
        charge_id=charge_id or uuid4(), description="Psychotherapy, 60 minutes", service_date=date(2026, 2, 20),
        cpt="90837", charge_modifiers=["95"], charge_units=D(1), unit_fee=D("180.00"), amount=D(amount), at=AT,
    )


def sent(*lines: tuple[str, str], total_charge: str | None = None) -> Invoice:
    inv = draft()
    for hours, rate in lines:
        service(inv, hours, rate)
    if total_charge:
        charge_line(inv, total_charge)
    inv.send(emailed=False, mail_id=None, at=AT, by=None)
    return given(inv)


def test_a_draft_with_service_and_charge_lines_adds_up() -> None:
    inv = draft(Discount.checked("percent", D(10)), tax_rate="8.25", notes="Thanks for choosing us")
    first = service(inv, "3.5", "28.00", taxable=True, text="Companion care")
    second = service(inv, "2.25", "33.33")
    third = charge_line(inv, "150.00")
    assert (first.line_no, second.line_no, third.line_no) == (1, 2, 3)
    assert first.amount == D("98.00") and second.amount == D("74.99")  # 74.9925
    assert (third.kind, third.taxable, third.cpt, third.modifiers, third.quantity, third.unit_price) == (
        "charge", False, "90837", ("95",), D(1), D("180.00"))
    t = inv.totals
    assert (t.subtotal, t.taxable_subtotal, t.discount) == (D("322.99"), D("98.00"), D("32.30"))
    # 8.25% of 98.00 less its share of the discount (98.00 x 290.69 / 322.99 = 88.1995...) = 7.2764... -> 7.28
    assert (t.tax, t.total) == (D("7.28"), D("297.97"))
    assert (inv.total, inv.balance, inv.paid, inv.written_off, inv.status) == (
        D("297.97"), D("297.97"), D(0), D(0), "draft")
    assert [type(e).__name__ for e in inv.collect_events()] == ["Drafted", "LineAdded", "LineAdded", "LineAdded"]


def test_amounts_round_half_up_to_the_cent() -> None:
    inv = draft()
    assert service(inv, "0.50", "0.01").amount == D("0.01")  # 0.005: half-even would give 0.00
    assert service(inv, "0.25", "0.10").amount == D("0.03")  # 0.025
    inv2 = draft(tax_rate="5")
    service(inv2, "1", "0.10", taxable=True)  # tax 0.005
    assert inv2.totals.tax == D("0.01")
    inv3 = draft(Discount.checked("percent", D("12.5")))
    service(inv3, "1", "0.20")  # discount 0.025
    assert inv3.totals.discount == D("0.03")


def test_a_discount_amount_is_capped_at_the_subtotal() -> None:
    inv = draft(Discount.checked("amount", D("500.00")), tax_rate="10")
    service(inv, "2", "50.00", taxable=True)
    t = inv.totals
    assert (t.subtotal, t.discount, t.tax, t.total) == (D("100.00"), D("100.00"), D("0.00"), D("0.00"))


def test_charge_lines_are_never_taxed() -> None:
    inv = draft(tax_rate="7")
    charge_line(inv, "100.00")
    assert (inv.totals.tax, inv.total) == (D("0.00"), D("100.00"))


@pytest.mark.parametrize(("kind", "value"), [("amount", "0"), ("amount", "1.001"), ("percent", "101"),
                                             ("percent", "0"), ("fixed", "5"), ("amount", "-3")])
def test_bad_discounts_are_refused(kind: str, value: str) -> None:
    with pytest.raises(InvalidCommand):
        Discount.checked(kind, D(value))


@pytest.mark.parametrize("rate", ["-1", "100.5", "8.8751", "NaN"])
def test_bad_tax_rates_are_refused(rate: str) -> None:
    with pytest.raises(InvalidCommand):
        draft(tax_rate=rate)


def test_a_due_date_before_the_issue_date_is_refused() -> None:
    with pytest.raises(InvalidCommand):
        draft(due_on=ISSUED - timedelta(days=1))


@pytest.mark.parametrize(("hours", "rate"), [("0", "10.00"), ("745", "10.00"), ("1.005", "10.00"), ("1", "0"),
                                             ("1", "10.001"), ("0.01", "0.01")])
def test_bad_service_lines_are_refused(hours: str, rate: str) -> None:
    inv = given(draft())
    with pytest.raises(InvalidCommand):
        service(inv, hours, rate)
    then_no_new_events(inv)


def test_a_charge_is_on_an_invoice_once() -> None:
    inv = draft()
    cid = uuid4()
    charge_line(inv, charge_id=cid)
    given(inv)
    with pytest.raises(IllegalTransition):
        charge_line(inv, charge_id=cid)
    then_no_new_events(inv)


def test_the_draft_is_edited_and_lines_removed() -> None:
    inv = draft()
    service(inv, "1", "40.00")
    cid = uuid4()
    charge_line(inv, "60.00", charge_id=cid)
    given(inv)
    removed = inv.remove_line(2, at=AT)
    assert removed.charge_id == cid
    assert inv.change_terms(due_on=DUE + timedelta(days=5), discount=Discount.checked("amount", D(5)),
                            tax_rate=D(0), notes="Net 35", at=AT, by=None)
    assert not inv.change_terms(due_on=DUE + timedelta(days=5), discount=Discount("amount", D("5.00")),
                                tax_rate=D(0), notes="Net 35", at=AT, by=None)
    assert then_events(inv) == ["LineRemoved", "TermsChanged"]
    assert (inv.total, inv.due_on, inv.notes, inv.charge_ids) == (D("35.00"), DUE + timedelta(days=5), "Net 35", [])
    assert service(inv, "1", "1.00").line_no == 3  # line numbers are never reused
    with pytest.raises(InvalidCommand):
        inv.remove_line(2, at=AT)


def test_a_sent_invoice_is_fixed() -> None:
    inv = sent(("1", "40.00"))
    with pytest.raises(IllegalTransition):
        service(inv, "1", "1.00")
    with pytest.raises(IllegalTransition):
        inv.remove_line(1, at=AT)
    with pytest.raises(IllegalTransition):
        inv.change_terms(due_on=DUE, discount=None, tax_rate=D(5), notes=None, at=AT, by=None)
    with pytest.raises(IllegalTransition):
        inv.send(emailed=False, mail_id=None, at=AT, by=None)
    then_no_new_events(inv)


def test_an_invoice_without_lines_is_not_sent() -> None:
    inv = given(draft())
    with pytest.raises(IllegalTransition):
        inv.send(emailed=True, mail_id="m1", at=AT, by=None)
    then_no_new_events(inv)


def test_send_records_the_totals() -> None:
    inv = draft()
    service(inv, "2", "50.00")
    given(inv)
    inv.send(emailed=True, mail_id="mail-1", at=AT, by=None)
    (event,) = inv.collect_events()
    assert isinstance(event, Invoice.Sent)
    assert (event.total, event.subtotal, event.emailed, event.mail_id) == (D("100.00"), D("100.00"), True, "mail-1")
    assert (inv.status, inv.sent_at) == ("sent", AT)


def test_payments_move_the_status_and_keep_the_identity() -> None:
    inv = sent(("2", "50.00"))
    a1, a2, pay = uuid4(), uuid4(), uuid4()
    inv.apply_payment(a1, pay, D("30.00"), at=AT)
    assert (inv.status, inv.paid, inv.balance) == ("partially_paid", D("30.00"), D("70.00"))
    with pytest.raises(InvalidCommand):
        inv.apply_payment(a2, pay, D("70.01"), at=AT)
    with pytest.raises(IllegalTransition):
        inv.apply_payment(a1, pay, D("1.00"), at=AT)
    inv.apply_payment(a2, pay, D("70.00"), at=AT)
    assert (inv.status, inv.balance) == ("paid", D("0.00"))
    assert inv.unapply_payment(a2, at=AT) == D("70.00")
    assert (inv.status, inv.balance) == ("partially_paid", D("70.00"))
    with pytest.raises(IllegalTransition):
        inv.unapply_payment(a2, at=AT)
    assert inv.write_off("wo-1", D("70.00"), "Hardship", at=AT, by=None)
    assert not inv.write_off("wo-1", D("70.00"), "Hardship", at=AT, by=None)
    assert (inv.status, inv.written_off, inv.balance) == ("paid", D("70.00"), D("0.00"))
    assert inv.total == inv.paid + inv.written_off + inv.balance
    assert then_events(inv) == ["PaymentApplied", "PaymentApplied", "PaymentUnapplied", "WrittenOff"]


def test_money_is_refused_on_a_draft_and_a_void_invoice() -> None:
    inv = draft()
    service(inv, "1", "10.00")
    given(inv)
    with pytest.raises(IllegalTransition):
        inv.apply_payment(uuid4(), uuid4(), D(5), at=AT)
    with pytest.raises(IllegalTransition):
        inv.write_off("w", D(5), "Hardship", at=AT, by=None)
    with pytest.raises(IllegalTransition):
        inv.record_payment_intent("pi_1", D(5), at=AT)
    inv.void("Entered twice", at=AT, by=None)
    given(inv)
    with pytest.raises(IllegalTransition):
        inv.apply_payment(uuid4(), uuid4(), D(5), at=AT)
    then_no_new_events(inv)


def test_a_write_off_is_at_most_the_balance_and_needs_a_reason() -> None:
    inv = sent(("1", "10.00"))
    with pytest.raises(InvalidCommand):
        inv.write_off("w", D("10.01"), "Hardship", at=AT, by=None)
    with pytest.raises(ReasonRequired):
        inv.write_off("w", D("1.00"), "  ", at=AT, by=None)
    then_no_new_events(inv)


def test_void_keeps_the_number_and_is_refused_while_paid() -> None:
    inv = sent(("1", "10.00"))
    app = uuid4()
    inv.apply_payment(app, uuid4(), D("4.00"), at=AT)
    given(inv)
    with pytest.raises(IllegalTransition):
        inv.void("Wrong client", at=AT, by=None)
    then_no_new_events(inv)
    inv.unapply_payment(app, at=AT)
    with pytest.raises(ReasonRequired):
        inv.void("", at=AT, by=None)
    inv.void("Wrong client", at=AT, by=None)
    assert (inv.status, inv.number, inv.void_reason) == ("void", "INV-2026-000001", "Wrong client")
    with pytest.raises(IllegalTransition):
        inv.void("Again", at=AT, by=None)
    assert then_events(inv) == ["PaymentUnapplied", "Voided"]


def test_overdue_from_the_day_after_the_due_date_until_paid() -> None:
    inv = sent(("1", "100.00"))
    assert not inv.mark_overdue(DUE, at=AT)
    assert inv.mark_overdue(DUE + timedelta(days=1), at=AT)
    assert not inv.mark_overdue(DUE + timedelta(days=2), at=AT)
    (event,) = inv.collect_events()
    assert isinstance(event, Invoice.BecameOverdue)
    assert (event.since, event.balance) == (DUE + timedelta(days=1), D("100.00"))
    assert (inv.status, inv.overdue_since) == ("overdue", DUE + timedelta(days=1))
    inv.apply_payment(uuid4(), uuid4(), D("60.00"), at=AT)
    assert inv.status == "overdue"
    inv.apply_payment(uuid4(), uuid4(), D("40.00"), at=AT)
    assert inv.status == "paid"


def test_drafts_paid_and_void_invoices_never_become_overdue() -> None:
    later = DUE + timedelta(days=30)
    d = draft()
    service(d, "1", "1.00")
    assert not d.mark_overdue(later, at=AT)
    paid = sent(("1", "10.00"))
    paid.apply_payment(uuid4(), uuid4(), D("10.00"), at=AT)
    assert not paid.mark_overdue(later, at=AT)
    void = sent(("1", "10.00"))
    void.void("Duplicate", at=AT, by=None)
    assert not void.mark_overdue(later, at=AT)


def test_payment_intents_and_failures() -> None:
    inv = sent(("1", "80.00"))
    assert inv.record_payment_intent("pi_123", D("80.00"), at=AT)
    assert not inv.record_payment_intent("pi_123", D("80.00"), at=AT)
    with pytest.raises(InvalidCommand):
        inv.record_payment_intent("pi_456", D("80.01"), at=AT)
    assert inv.record_payment_failure("pi_123", "Your card was declined.", at=AT)
    assert not inv.record_payment_failure("pi_123", "Your card was declined.", at=AT)
    assert then_events(inv) == ["PaymentIntentCreated", "PaymentFailed"]
    assert inv.payment_intents["pi_123"].failure == "Your card was declined."
    assert inv.balance == D("80.00")


def test_every_event_is_about_the_client_and_notes_are_phi() -> None:
    inv = draft(notes="Respite care for mother")
    service(inv, "1", "10.00")
    events: list[Any] = list(inv.collect_events())
    assert [type(e).__name__ for e in events] == ["Drafted", "LineAdded"]
    assert all(isinstance(e, Audited) and isinstance(e, InvoiceEvent) and e.client_id == inv.client_id
               for e in events)
    assert Invoice.Drafted.phi_fields == ("notes",) and Invoice.TermsChanged.phi_fields == ("notes",)
    assert Invoice.Drafted.subject_field == "client_id"


def test_replay_gives_the_same_invoice() -> None:
    inv = draft(Discount.checked("percent", D(5)), tax_rate="6.5")
    service(inv, "1.75", "42.00", taxable=True)
    charge_line(inv)
    inv.send(emailed=True, mail_id="m", at=AT, by=None)
    inv.apply_payment(uuid4(), uuid4(), D("20.00"), at=AT)
    inv.write_off("w1", D("1.00"), "Small balance", at=AT, by=None)
    inv.mark_overdue(DUE + timedelta(days=3), at=AT)
    replayed: Any = None
    for e in inv.collect_events():
        replayed = e.mutate(replayed)
    assert isinstance(replayed, Invoice)
    assert (replayed.total, replayed.paid, replayed.written_off, replayed.balance, replayed.status,
            replayed.line_list) == (inv.total, inv.paid, inv.written_off, inv.balance, inv.status, inv.line_list)


# --- properties ----------------------------------------------------------------------------------

def _half_up(x: Fraction) -> Decimal:
    scaled = x * 100
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(whole) / 100


hours = st.decimals(min_value=D("0.01"), max_value=D(200), places=2)
rates = st.decimals(min_value=D("0.01"), max_value=D(500), places=2)
lines = st.lists(st.tuples(hours, rates, st.booleans()).filter(lambda t: t[0] * t[1] >= D("0.005")),
                 min_size=1, max_size=8)
discounts = st.one_of(
    st.none(),
    st.builds(lambda v: Discount("amount", v), st.decimals(min_value=D("0.01"), max_value=D(50000), places=2)),
    st.builds(lambda v: Discount("percent", v), st.decimals(min_value=D("0.01"), max_value=D(100), places=2)),
)
tax_rates = st.decimals(min_value=D(0), max_value=D(100), places=3)


@settings(max_examples=300, deadline=None)
@hypothesis_given(lines=lines, discount=discounts, tax_rate=tax_rates)
def test_totals_are_cents_rounded_once_half_up(lines: list[tuple[Decimal, Decimal, bool]], discount: Discount | None,
                                               tax_rate: Decimal) -> None:
    inv = draft(discount, tax_rate=str(tax_rate))
    for h, r, tx in lines:
        service(inv, str(h), str(r), taxable=tx)
    t = inv.totals
    amounts = [_half_up(Fraction(h) * Fraction(r)) for h, r, _ in lines]
    subtotal = sum(amounts, Decimal(0))
    taxable = sum((a for a, (_, _, tx) in zip(amounts, lines, strict=True) if tx), Decimal(0))
    off = Decimal(0) if discount is None else (
        min(discount.value, subtotal) if discount.kind == "amount" else _half_up(Fraction(subtotal) * Fraction(discount.value) / 100))
    exact_tax = Fraction(taxable) * (Fraction(subtotal) - Fraction(off)) / Fraction(subtotal) * Fraction(tax_rate) / 100
    assert (t.subtotal, t.taxable_subtotal, t.discount, t.tax) == (subtotal, taxable, off, _half_up(exact_tax))
    assert t.total == t.subtotal - t.discount + t.tax
    for figure in (t.subtotal, t.discount, t.tax, t.total):
        assert figure == figure.quantize(Decimal("0.01")) and figure >= 0
    assert t.discount <= t.subtotal and t.tax <= t.taxable_subtotal


money_steps = st.lists(
    st.tuples(st.sampled_from(["pay", "unapply", "write_off"]), st.decimals(min_value=D("0.01"), max_value=D(900),
                                                                          places=2)),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@hypothesis_given(lines=lines, discount=discounts, tax_rate=tax_rates, steps=money_steps)
def test_total_is_paid_plus_written_off_plus_balance(lines: list[tuple[Decimal, Decimal, bool]],
                                                     discount: Discount | None, tax_rate: Decimal,
                                                     steps: list[tuple[str, Decimal]]) -> None:
    inv = draft(discount, tax_rate=str(tax_rate))
    for h, r, taxable in lines:
        service(inv, str(h), str(r), taxable=taxable)
    inv.send(emailed=False, mail_id=None, at=AT, by=None)
    total = inv.total
    for n, (step, amount) in enumerate(steps):
        try:
            if step == "pay":
                inv.apply_payment(uuid4(), uuid4(), amount, at=AT)
            elif step == "write_off":
                inv.write_off(f"w{n}", amount, "Uncollectable", at=AT, by=None)
            elif inv.active_payments():
                inv.unapply_payment(inv.active_payments()[0].application_id, at=AT)
        except InvalidCommand:
            assert amount > inv.balance  # only ever refused for exceeding the balance
        assert inv.total == total == inv.paid + inv.written_off + inv.balance
        assert inv.balance >= 0
        assert inv.status == ("paid" if inv.balance == 0 else "partially_paid" if inv.paid or inv.written_off
                              else "sent")
