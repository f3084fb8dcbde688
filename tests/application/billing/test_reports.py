"""The scripted month: one practice's March 2026 of charges, payments (cash, check, card, an
insurer's check, two 835s imported, matched and posted by the remittance service: one paying with
CO-45 and a patient share, one a denial), CO-45 adjustments, write-offs, a refund, an
unapplied-and-moved payment, a copay the insurer then overpays, a voided charge and three invoices
(one partly paid with a service line, tax and discount; one overdue and partly written off; one
still a draft). Every report must reconcile to the cent: aging by client and by payer, revenue by
each dimension, the reconciliation, each client's statement and the revenue metrics, as of the
month's end and as of dates inside and after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from pypdf import PdfReader

from adapters.aggregate_batches import BatchLoader
from adapters.object_store import LocalObjectStore
from application.billing.documents import AgingBuckets, StatementDocument
from application.billing.invoices import InvoiceService, ServiceLine
from application.billing.reports import BillingReportService, PracticeReportsOnly
from application.clients import Read
from application.errors import NotFound
from application.remittance import ClientPatients, RemittanceService
from domain.billing.charge import Charge
from domain.billing.invoice import Discount, Invoice
from domain.errors import InvalidCommand
from projections.billing_reports import ClientDirectoryNames
from tests.application.billing.support import Desk, make_desk
from tests.application.remittance.support import claim, era, line
from tests.projections.compliance_script import NEW_YORK

D = Decimal
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), NEW_YORK)


@dataclass
class Month:
    desk: Desk
    reports: BillingReportService
    invoices: InvoiceService
    a: UUID  # Aetna
    b: UUID  # Cigna
    c: UUID  # self-pay
    e: UUID  # self-pay, invoiced
    c1: UUID
    c2: UUID
    charges: dict[str, UUID]
    inv: dict[str, UUID]

    def settle(self) -> None:
        for name in ("billing_ledger", "invoices", "billing_reports", "clients", "remittances"):
            self.desk.k.runner(name).catch_up()


def play_march(k: Any, objects: Path) -> Month:
    desk = make_desk(k, at(date(2026, 3, 1)))
    desk.price()  # 90837 at 150.00, therapy_session mapped to it
    s, pid = desk.s, desk.id
    c1, c2 = desk.clinician, desk.other_clinician
    a, c = desk.insured, desk.self_pay
    b = s.client(c1, consent_on=date(2026, 2, 1), insurance_primary={"payer": "Cigna", "member_id": "C9"})
    e = s.client(c1, consent_on=date(2026, 2, 1), insurance_primary=None)
    invoices = InvoiceService(k.store, desk.clock, k.mailer, k.document_renderer, k.invoices_view)
    reports = BillingReportService(k.store, desk.clock, k.billing_reports_view, k.document_renderer,
                                   ClientDirectoryNames(k.client_directory))
    loader = BatchLoader(k.store)
    remittances = RemittanceService(k.store, desk.clock, LocalObjectStore(objects), k.billing_ledger,
                                    ClientPatients(loader), aggregates=loader, view=k.remittances_view)
    ch: dict[str, UUID] = {}
    inv: dict[str, UUID] = {}

    def on(day: int, month: int = 3, hour: int = 10) -> None:
        desk.clock.set(at(date(2026, month, day), hour))

    def enter(name: str, client: UUID, clinician: UUID, service: date, cpt: str, fee: str, **kw: Any) -> None:
        with desk.as_():
            ch[name] = desk.charges.enter(pid, client, clinician_id=clinician, service_date=service, cpt=cpt,
                                          diagnosis_codes=["F32.1"], unit_fee=D(fee), **kw).id

    def receive(client: UUID | None, method: str, amount: str, **kw: Any) -> UUID:
        with desk.as_():
            return desk.payments.receive(pid, method=method, amount=D(amount), client_id=client, **kw).id

    def apply(payment: UUID, target: str, target_id: UUID, amount: str) -> UUID:
        with desk.as_():
            return desk.payments.apply(pid, payment, target=target, target_id=target_id, amount=D(amount)).id

    def adjust(name: str, kind: str, group: str, reason: str, amount: str) -> None:
        with desk.as_():
            desk.charges.adjust(pid, ch[name], kind=kind, group=group, reason_code=reason, amount=D(amount),
                                note="Per contract" if kind == "adjustment" else "Uncollectable")

    def remit(name: str, data: bytes) -> None:
        """An 835 through the remittance service: read, matched to the billed charges, posted."""
        for projection in ("billing_ledger", "remittances"):
            k.runner(projection).catch_up()
        with desk.as_():
            report = remittances.import_file(pid, name, data)
        assert (report.unmatched, report.refused) == (0, ()), report

    def billed(name: str) -> tuple[str, str]:
        with desk.system():
            charge: Charge = k.store.load(ch[name], Charge)
        assert charge.claim_number is not None
        return charge.claim_number, charge.line_ref

    on(2)
    v1 = desk.visit(date(2026, 3, 2), a, c1)
    enter("ch1", a, c1, date(2026, 3, 2), "90837", "150.00", appointment_id=v1)
    with desk.as_():
        inv["inv2"] = invoices.create(pid, e, due_on=date(2026, 3, 12), service_lines=[
            ServiceLine("Personal care", date(2026, 3, 1), D("3"), D("50.00"))]).id
        invoices.send(pid, inv["inv2"], email=False)
    on(3)
    enter("ch3", b, c1, date(2026, 1, 20), "90837", "150.00")
    on(4)
    enter("ch4", b, c2, date(2025, 12, 15), "90791", "200.00")
    on(5)
    enter("ch5", c, c1, date(2025, 11, 1), "90837", "150.00")
    on(6)
    enter("ch10", c, c2, date(2026, 2, 20), "90834", "120.00")
    p3 = receive(c, "cash", "200.00")
    apply(p3, "charge", ch["ch5"], "140.00")
    on(7)
    with desk.as_():
        desk.payments.refund(pid, p3, amount=D("30.00"), reason="Overpaid; returned in cash")
    on(9)
    v2 = desk.visit(date(2026, 3, 9), a, c2)
    on(10)
    enter("ch2", a, c2, date(2026, 3, 9), "90834", "120.00", appointment_id=v2)
    on(11)
    enter("ch3b", b, c2, date(2026, 3, 11), "90832", "80.00")
    on(12)
    enter("ch6", a, c1, date(2026, 3, 12), "90837", "100.00")
    p6 = receive(a, "card", "30.00", reference="copay")
    apply(p6, "charge", ch["ch6"], "30.00")
    desk.settle()
    s.settle()  # the compliance engine answers the billing hold of the visits' charges
    with desk.as_():
        for name in ("ch1", "ch2", "ch3", "ch3b", "ch6"):
            desk.charges.bill(pid, [ch[name]])
    on(13, hour=9)
    with desk.system():
        overdue: Invoice = k.store.load(inv["inv2"], Invoice)
        assert overdue.mark_overdue(date(2026, 3, 13), at=desk.clock.now())
        k.store.save(overdue)
    on(16)
    p1 = receive(None, "insurance", "100.00", payer="Aetna", check_number="88001")
    apply(p1, "charge", ch["ch1"], "100.00")
    adjust("ch1", "adjustment", "CO", "45", "30.00")
    enter("ch7", c, c2, date(2026, 3, 16), "90837", "150.00")
    on(17)
    with desk.as_():
        inv["inv1"] = invoices.create(
            pid, c, charge_ids=[ch["ch7"]], discount=Discount("percent", D("10")), tax_rate=D("8.875"),
            service_lines=[ServiceLine("Personal care", date(2026, 3, 16), D("2.5"), D("40.00"), taxable=True)]).id
        invoices.send(pid, inv["inv1"], email=False)
    on(18)
    enter("ch8", a, c1, date(2026, 3, 18), "90837", "150.00")
    on(19)
    with desk.as_():
        desk.charges.void(pid, ch["ch8"], "Entered for the wrong client")
    on(20)
    p2 = receive(a, "card", "20.00", reference="terminal 4")
    apply(p2, "charge", ch["ch1"], "20.00")
    p4 = receive(c, "check", "100.00", check_number="1042")
    apply(p4, "invoice", inv["inv1"], "100.00")
    on(23)
    (clm2, ref2), (clm6, ref6), (clm3b, ref3b) = billed("ch2"), billed("ch6"), billed("ch3b")
    remit("aetna.835", era(  # ch2: 90.00 paid, CO-45 10.00, the patient's 20.00 stays open; ch6: the full 80.00
        claim(clm2, "1", "120", "90", "20", "ICNA1", "DOE", "PAT", "W123",
              *line("90834", "120", "90", "20260309", ref2, "CAS*CO*45*10", "CAS*PR*2*20")),
        claim(clm6, "1", "100", "80", "0", "ICNA2", "DOE", "PAT", "W123",
              *line("90837", "100", "80", "20260312", ref6, "CAS*CO*45*20")),
        trace="TRNA1", payer="Aetna", payer_id="60054", paid_on="20260323"))
    p5 = receive(b, "cash", "40.00")
    wrong = apply(p5, "charge", ch["ch3"], "40.00")
    on(24)
    remit("cigna.835", era(  # denied: CO-50 takes the whole charge off
        claim(clm3b, "4", "80", "0", "0", "ICNC1", "DOE", "PAT", "C9",
              *line("90832", "80", "0", "20260311", ref3b, "CAS*CO*50*80")),
        trace="TRNC1", payer="Cigna", payer_id="62308", paid_on="20260324", control=2))
    with desk.as_():
        desk.payments.unapply(pid, p5, wrong, "Meant for the intake")
    apply(p5, "charge", ch["ch4"], "40.00")
    on(25)
    adjust("ch4", "write_off", "OA", "23", "50.00")
    with desk.as_():
        invoices.write_off(pid, inv["inv2"], amount=D("15.00"), reason="Courtesy")
    desk.visit(date(2026, 3, 25), b, c1)  # completed, never charged
    on(26)
    enter("ch9", e, c1, date(2026, 3, 26), "90837", "150.00")
    on(27)
    with desk.as_():
        inv["inv3"] = invoices.create(pid, e, charge_ids=[ch["ch9"]]).id  # a draft: the charge still owes
    on(1, month=4)
    month = Month(desk, reports, invoices, a, b, c, e, c1, c2, ch, inv)
    month.settle()
    return month


@pytest.fixture(scope="module")
def march(container: Any, tmp_path_factory: pytest.TempPathFactory) -> Month:
    return play_march(container, tmp_path_factory.mktemp("era"))


def buckets(*values: str) -> AgingBuckets:
    return AgingBuckets(*(D(v) for v in values))


def aging(m: Month, as_of: date, by: str = "client", names: bool = False) -> Any:
    with m.desk.as_():
        return m.reports.ar_aging(m.desk.id, as_of, by, read=Read("test.aging", "payment") if names else None)


def reconcile(m: Month, first: date, last: date) -> Any:
    with m.desk.as_():
        return m.reports.reconciliation(m.desk.id, first, last)


def statement(m: Month, client: UUID, first: date = MARCH[0], last: date = MARCH[1]) -> StatementDocument:
    with m.desk.as_():
        return m.reports.statement(m.desk.id, client, first, last)


def test_aging_at_the_end_of_the_month_by_client_and_by_payer(march: Month) -> None:
    m = march
    by_client = aging(m, MARCH[1])
    rows = {r.client_id: r for r in by_client.rows}
    assert set(rows) == {m.a, m.b, m.c, m.e}
    assert rows[m.a].buckets == buckets("20.00", "0", "0", "0", "0")  # ch2's patient share
    assert rows[m.a].credit_balances == D("30.00")  # ch6: the copay, then the insurer paid in full; not netted
    assert rows[m.a].balance == D("-10.00")
    assert rows[m.b].buckets == buckets("0", "0", "150.00", "110.00", "0")  # ch3 70 days, ch4 106 days
    assert rows[m.c].buckets == buckets("132.99", "120.00", "0", "0", "10.00")  # inv1, ch10 39 days, ch5 150 days
    assert rows[m.c].unapplied_payments == D("30.00")  # the cash left after the refund
    assert rows[m.e].buckets == buckets("285.00", "0", "0", "0", "0")  # inv2 135.00 (29 days) + ch9 (draft)
    t = by_client.totals
    assert t.buckets == buckets("437.99", "120.00", "150.00", "110.00", "10.00")
    assert (t.total, t.credit_balances, t.unapplied_payments, t.credits, t.balance) == (
        D("827.99"), D("30.00"), D("30.00"), D("60.00"), D("797.99"))
    assert t.items == 9  # ch6's credit balance included

    by_payer = aging(m, MARCH[1], "payer")
    payers = {r.payer: r for r in by_payer.rows}
    assert set(payers) == {"Aetna", "Cigna", "self-pay"}
    assert payers["Aetna"].buckets.total == D("20.00") and payers["Aetna"].credit_balances == D("30.00")
    assert payers["Cigna"].buckets.total == D("260.00")
    assert payers["self-pay"].buckets.total == D("547.99")
    assert payers["self-pay"].unapplied_payments == D("30.00")
    assert by_payer.totals.buckets == t.buckets
    assert (by_payer.totals.balance, by_payer.totals.credits) == (t.balance, t.credits)


def test_ages_move_with_the_as_of_date(march: Month) -> None:
    m = march
    mid = aging(m, date(2026, 3, 15))  # before the insurer paid, before inv1, ch7, ch8, ch9
    assert mid.totals.buckets == buckets("690.00", "150.00", "200.00", "0", "10.00")
    assert (mid.totals.credit_balances, mid.totals.unapplied_payments) == (D("0.00"), D("30.00"))
    assert aging(m, date(2026, 3, 1)).rows == ()
    b = {r.client_id: r for r in aging(m, date(2026, 3, 23)).rows}[m.b]  # the cash still on ch3, no denial yet
    assert b.buckets == buckets("80.00", "0", "110.00", "200.00", "0")
    b = {r.client_id: r for r in aging(m, date(2026, 3, 24)).rows}[m.b]  # moved to ch4; ch3b adjusted off
    assert b.buckets == buckets("0", "0", "150.00", "160.00", "0")
    e = {r.client_id: r for r in aging(m, date(2026, 3, 24)).rows}[m.e]  # inv2 before its write-off
    assert e.buckets == buckets("150.00", "0", "0", "0", "0")
    m.desk.clock.set(at(date(2026, 5, 5)))
    try:
        later = aging(m, date(2026, 5, 5))
    finally:
        m.desk.clock.set(at(date(2026, 4, 1)))
    assert later.totals.buckets == buckets("0", "302.99", "255.00", "150.00", "120.00")
    assert later.totals.balance == D("797.99")
    with pytest.raises(InvalidCommand):
        aging(m, date(2026, 4, 2))  # after today


def test_the_month_reconciles_to_the_cent(march: Month) -> None:
    r = reconcile(march, *MARCH)
    assert (r.opening_balance, r.charges, r.voided_charges) == (D("0.00"), D("1520.00"), D("150.00"))
    assert (r.invoice_service_lines, r.invoice_tax, r.invoice_discount) == (D("250.00"), D("7.99"), D("25.00"))
    assert (r.payments_applied, r.adjustments, r.write_offs) == (D("600.00"), D("140.00"), D("65.00"))
    assert r.closing_balance == D("797.99")
    assert r.billed == r.settled == D("1602.99")
    assert r.balanced and r.difference == 0
    assert r.ledger_balance is None  # the range ends before today
    assert r.closing_balance == aging(march, MARCH[1]).totals.balance == aging(march, MARCH[1], "payer").totals.balance
    to_today = reconcile(march, MARCH[0], date(2026, 4, 1))
    assert to_today.ledger_balance == to_today.closing_balance == D("797.99")  # the read models' running totals
    assert to_today.balanced


def test_running_totals_and_history_agree(march: Month) -> None:
    """As of today the reports read the ledger's running totals; from the dated history they must
    come out the same, item by item."""
    m, view = march, march.desk.k.billing_reports_view
    end = at(date(2026, 4, 2), 0)
    assert view.settled(m.desk.id, end) and not view.settled(m.desk.id, at(date(2026, 3, 27), 0))
    for by in ("client", "payer"):
        assert view.aging(m.desk.id, end, date(2026, 4, 1), by) == view.aging(
            m.desk.id, end, date(2026, 4, 1), by, from_history=True)
    for client in (m.a, m.b, m.c, m.e, None):
        assert view.open_balance(m.desk.id, end, client) == view.open_balance(m.desk.id, end, client, True)
    assert view.ledger_balance(m.desk.id) == D("797.99")


def test_halves_of_the_month_chain(march: Month) -> None:
    first = reconcile(march, date(2026, 3, 1), date(2026, 3, 15))
    second = reconcile(march, date(2026, 3, 16), date(2026, 3, 31))
    assert first.balanced and second.balanced
    assert (first.charges, first.invoice_service_lines, first.payments_applied) == (
        D("1070.00"), D("150.00"), D("170.00"))
    assert first.closing_balance == second.opening_balance == D("1050.00")
    assert first.closing_balance == aging(march, date(2026, 3, 15)).totals.balance
    assert first.charges + second.charges == D("1520.00")
    assert first.payments_applied + second.payments_applied == D("600.00")


def revenue(m: Month, by: str, first: date = MARCH[0], last: date = MARCH[1]) -> Any:
    with m.desk.as_():
        return m.reports.revenue(m.desk.id, first, last, by)


def test_revenue_by_every_dimension_adds_up_to_the_same_totals(march: Month) -> None:
    reports = {by: revenue(march, by) for by in ("clinician", "cpt", "payer", "method")}
    for report in reports.values():
        t = report.totals
        assert (t.charges, t.voided, t.invoiced, t.payments, t.adjustments, t.write_offs) == (
            D("1520.00"), D("150.00"), D("232.99"), D("600.00"), D("140.00"), D("65.00"))
        assert (t.received, t.refunds, t.net_collections, t.net_charges) == (
            D("660.00"), D("30.00"), D("630.00"), D("1602.99"))
        for field in ("charges", "voided", "invoiced", "payments", "adjustments", "write_offs", "received", "refunds"):
            assert sum((getattr(r, field) for r in report.rows), D(0)) == getattr(t, field), (report.by, field)
    by_payer = {r.key: r for r in reports["payer"].rows}
    assert set(by_payer) == {"Aetna", "Cigna", "self-pay"}
    aetna, cigna, own = by_payer["Aetna"], by_payer["Cigna"], by_payer["self-pay"]
    assert (aetna.charges, aetna.voided, aetna.payments, aetna.adjustments, aetna.received) == (
        D("520.00"), D("150.00"), D("320.00"), D("60.00"), D("270.00"))
    assert (cigna.charges, cigna.payments, cigna.adjustments, cigna.write_offs, cigna.received) == (
        D("430.00"), D("40.00"), D("80.00"), D("50.00"), D("0.00"))
    assert (own.charges, own.invoiced, own.payments, own.write_offs, own.received, own.refunds) == (
        D("570.00"), D("232.99"), D("240.00"), D("15.00"), D("390.00"), D("30.00"))
    by_method = {r.key: r for r in reports["method"].rows}
    assert {k: r.payments for k, r in by_method.items()} == {
        "insurance": D("270.00"), "card": D("50.00"), "cash": D("180.00"), "check": D("100.00"), None: D("0.00")}
    assert {k: r.received for k, r in by_method.items()} == {
        "insurance": D("270.00"), "card": D("50.00"), "cash": D("240.00"), "check": D("100.00"), None: D("0.00")}
    assert by_method["cash"].refunds == D("30.00") and by_method[None].charges == D("1520.00")
    by_clinician = {r.key: r for r in reports["clinician"].rows}
    assert {k: r.charges for k, r in by_clinician.items()} == {
        str(march.c1): D("850.00"), str(march.c2): D("670.00"), None: D("0.00")}
    assert {k: r.payments for k, r in by_clinician.items()} == {
        str(march.c1): D("370.00"), str(march.c2): D("130.00"), None: D("100.00")}
    by_cpt = {r.key: r.charges for r in reports["cpt"].rows}
    assert by_cpt == {"90837": D("1000.00"), "90834": D("240.00"), "90832": D("80.00"), "90791": D("200.00"),
                      None: D("0.00")}


def test_statements_close_at_each_clients_aging(march: Month) -> None:
    m = march
    end = {r.client_id: r for r in aging(m, MARCH[1]).rows}
    closings = D(0)
    for client, closing in ((m.a, "-10.00"), (m.b, "260.00"), (m.c, "262.99"), (m.e, "285.00")):
        doc = statement(m, client)
        assert doc.opening_balance == D("0.00")
        assert doc.closing_balance == D(closing) == end[client].balance
        assert doc.aging == end[client].buckets
        running = doc.opening_balance
        for entry in doc.entries:
            running += entry.charges - entry.credits
            assert entry.balance == running
        assert running == doc.closing_balance
        assert doc.opening_balance + doc.total_charges - doc.total_credits == doc.closing_balance
        closings += doc.closing_balance
    assert closings == reconcile(m, *MARCH).closing_balance

    c = statement(m, m.c)
    assert [(e.on, e.charges, e.credits) for e in c.entries] == [
        (date(2026, 3, 5), D("150.00"), D(0)),
        (date(2026, 3, 6), D("120.00"), D(0)),
        (date(2026, 3, 6), D(0), D("140.00")),
        (date(2026, 3, 16), D("150.00"), D(0)),
        (date(2026, 3, 17), D("82.99"), D(0)),  # inv1 beyond its charge line: 100.00 + 7.99 tax - 25.00
        (date(2026, 3, 20), D(0), D("100.00")),
    ]
    assert c.entries[-1].reference is not None and c.entries[-1].reference.startswith("INV-2026-")
    assert (c.amount_due, c.practice.name) == (D("232.99"), f"Practice {m.desk.s.slug}")
    assert c.message is not None and "$30.00" in c.message
    assert c.client.name == "Pat Doe" and c.client.address_lines[0] == "1 Peachtree St"
    second_half = statement(m, m.c, date(2026, 3, 16), date(2026, 3, 31))
    assert second_half.opening_balance == D("130.00") and second_half.closing_balance == D("262.99")


def test_statement_pdf_reads_back(march: Month) -> None:
    import io

    with march.desk.as_():
        pdf = march.reports.statement_pdf(march.desk.id, march.c, *MARCH)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "$262.99" in text and "$232.99" in text and "Pat Doe" in text
    assert pdf.filename == "statement-2026-03-01-2026-03-31.pdf"


def test_revenue_metrics_of_the_month(march: Month) -> None:
    with march.desk.as_():
        report = march.reports.metrics(march.desk.id, *MARCH)
    c, got = report.counts, report.metrics
    assert sum(c.lag_days.values()) == 11 and c.lag_days[0] == 6
    assert (got["charge_entry_lag"].numerator, got["charge_entry_lag"].value) == (260, D("23.6"))
    assert got["charge_entry_lag_median"].value == D("0.0")
    assert (got["billing_compliance_rate"].numerator, got["billing_compliance_rate"].denominator) == (2, 3)
    assert got["billing_compliance_rate"].value == D("66.7")
    assert (c.claims_billed, c.claims_accepted, got["claim_acceptance_rate"].value) == (5, 2, D("40.0"))
    assert (c.reimbursed, c.sessions_paid, got["average_reimbursement_per_session"].value) == (
        D("500.00"), 5, D("100.00"))
    assert (c.charges, c.open_balance, c.days) == (D("1602.99"), D("797.99"), 31)
    assert got["days_in_ar"].value == D("15.4")
    assert c.contractual_adjustments == D("60.00")
    assert (got["collection_rate"].numerator, got["collection_rate"].denominator) == (D("600.00"), D("1542.99"))
    assert got["collection_rate"].value == D("38.9")


def test_names_are_shown_and_recorded_as_phi_reads(march: Month) -> None:
    m = march
    with m.desk.system():
        before = len(m.desk.k.audit_trail.disclosures(m.desk.id, m.b))
    report = aging(m, MARCH[1], names=True)
    assert {r.client_name for r in report.rows} == {"Pat Doe"}
    with m.desk.system():
        reads = m.desk.k.audit_trail.disclosures(m.desk.id, m.b)
    assert len(reads) == before + 1 and reads[-1].endpoint == "test.aging" and reads[-1].fields == ["name"]
    assert all(r.client_name is None for r in aging(m, MARCH[1]).rows)


def test_who_may_read_what(march: Month) -> None:
    m, pid = march, march.desk.id
    for role, clients in (("clinician", frozenset()), ("client", frozenset({march.c}))):
        with m.desk.as_(uuid4(), role, clients=clients), pytest.raises(PracticeReportsOnly):
            m.reports.ar_aging(pid)
        with m.desk.as_(uuid4(), role, clients=clients), pytest.raises(PracticeReportsOnly):
            m.reports.reconciliation(pid)
    with m.desk.as_(uuid4(), "client", clients=frozenset({m.c})):
        assert m.reports.statement(pid, m.c, *MARCH).closing_balance == D("262.99")
        with pytest.raises(NotFound):
            m.reports.statement(pid, m.a, *MARCH)
    with m.desk.as_(m.c1, "clinician"), pytest.raises(NotFound):
        m.reports.statement(pid, m.c, *MARCH)
    with m.desk.as_(), pytest.raises(NotFound):
        m.reports.statement(pid, uuid4(), *MARCH)
    with m.desk.as_(), pytest.raises(InvalidCommand):
        m.reports.revenue(pid, date(2026, 3, 31), date(2026, 3, 1))
    with m.desk.as_(), pytest.raises(InvalidCommand):
        m.reports.revenue(pid, MARCH[0], MARCH[1], "room")


def test_a_rebuilt_projection_gives_the_same_reports(march: Month) -> None:
    before = (reconcile(march, *MARCH), aging(march, date(2026, 3, 24)), aging(march, MARCH[1], "payer"))
    march.desk.k.runner("billing_reports").rebuild()
    assert (reconcile(march, *MARCH), aging(march, date(2026, 3, 24)), aging(march, MARCH[1], "payer")) == before
