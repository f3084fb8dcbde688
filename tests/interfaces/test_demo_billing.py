"""The demo practice's billing (interfaces/cli/demo_billing.py), loaded once with the whole demo."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest

from application import audit
from domain.billing.charge import Charge
from domain.billing.invoice import Invoice
from domain.billing.payment import Payment
from domain.identity.membership import membership_id_for
from domain.practices.practice import practice_id_for
from domain.scheduling.working_time import zone
from interfaces.cli.demo import STAFF_ROLES, demo_email, load_demo
from interfaces.cli.demo_billing import AWAITING_CHARGE, FEES, load_billing
from interfaces.container import Container
from tests.conftest import drop_database, fresh_database

PID = practice_id_for("demo")


@dataclass
class Demo:
    k: Container
    url: str
    steps: set[str]
    today: date

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()

    def one(self, sql: str, *params: Any) -> Any:
        return self.rows(sql, *params)[0][0]


@pytest.fixture(scope="module")
def demo(_test_environment: None) -> Iterator[Demo]:
    url = fresh_database("cl_demo_billing")
    k = Container(database_url=url)
    steps: set[str] = set()
    load_demo(k, step=steps.add)
    for runner in k.runners:
        runner.catch_up()
    today = k.clock.now().astimezone(zone("America/New_York")).date()
    yield Demo(k, url, steps, today)
    k.close()
    drop_database(url)


def test_fee_schedule_and_a_charge_for_every_completed_visit(demo: Demo) -> None:
    schedule = demo.k.fee_schedules.get(PID)
    assert schedule.charge_on_completion and schedule.type_codes["therapy_session"].cpt == "90837"
    assert {cpt: schedule.fee_for(cpt, (), demo.today) for cpt in FEES} == {c: Decimal(a) for c, a in FEES.items()}
    completed = demo.one("SELECT count(*) FROM appointment_book WHERE practice_id = %s AND status = 'completed'", PID)
    assert completed > 300
    # all but the latest three, which wait on the "needs a charge" queue
    waiting = demo.rows("SELECT completed_at FROM billing_visits WHERE practice_id = %s AND charge_id IS NULL", PID)
    assert len(waiting) == AWAITING_CHARGE
    charged = demo.one("SELECT max(completed_at) FROM billing_visits WHERE practice_id = %s "
                       "AND charge_id IS NOT NULL", PID)
    assert all(at >= charged for (at,) in waiting)
    assert demo.one("SELECT count(*) FROM billing_charges WHERE practice_id = %s AND appointment_id IS NOT NULL",
                    PID) == completed - AWAITING_CHARGE
    telehealth = demo.one("SELECT count(*) FROM billing_charges WHERE '95' = ANY(modifiers)")
    assert 0 < telehealth < completed / 4
    assert {"charge", "claim", "billing_hold", "posting", "invoice"} <= demo.steps


def test_charges_older_than_five_days_are_billed_except_those_on_billing_hold(demo: Demo) -> None:
    unbilled = demo.rows(
        "SELECT charge_id, appointment_id FROM billing_charges WHERE practice_id = %s AND payer IS NOT NULL "
        "AND claim_number IS NULL AND service_date < %s", PID, demo.today - timedelta(days=5))
    assert unbilled, "the demo shows visits held back from billing"
    with audit.acting(audit.system("system:test", practice_id=PID)):
        holds = [demo.k.compliance.billing_hold(PID, appointment_id) for _, appointment_id in unbilled]
    assert all(h.held and h.reason == "note_unsigned" for h in holds)
    assert demo.one("SELECT count(*) FROM billing_charges WHERE practice_id = %s AND payer IS NULL "
                    "AND claim_number IS NOT NULL", PID) == 0  # self-pay is never on a claim
    billed = demo.one("SELECT count(*) FROM billing_charges WHERE claim_number IS NOT NULL")
    assert billed > 10 * len(unbilled)


def test_insurance_checks_contractual_adjustments_denials_and_self_pay(demo: Demo) -> None:
    checks = demo.rows("SELECT payer, check_number, amount, applied, unapplied FROM billing_payments "
                       "WHERE practice_id = %s AND method = 'insurance'", PID)
    assert len({payer for payer, *_ in checks}) >= 3
    assert all(number and amount > 0 and applied == amount and unapplied == 0
               for _, number, amount, applied, unapplied in checks)
    adjustments = dict(demo.rows("SELECT group_code || '-' || reason_code, count(*) FROM billing_entries "
                                 "WHERE practice_id = %s AND kind = 'adjustment' GROUP BY 1", PID))
    assert adjustments["CO-16"] == 2 and adjustments["CO-45"] > 100
    paid = demo.rows("SELECT amount, paid, adjusted FROM billing_charges WHERE practice_id = %s AND paid > 0 "
                     "AND payer IS NOT NULL", PID)
    assert paid and all(Decimal("0.70") <= p / a <= Decimal("0.85") and p + adj < a for a, p, adj in paid)
    statuses = {s for (s,) in demo.rows("SELECT DISTINCT status FROM billing_charges WHERE practice_id = %s", PID)}
    assert {"unbilled", "billed", "partially_paid", "paid", "adjusted"} <= statuses
    # the client without insurance pays cash at the visit, applied to the charge
    cash = demo.rows("SELECT c.status, c.balance FROM billing_applications a JOIN billing_payments p USING (payment_id) "
                     "JOIN billing_charges c ON c.charge_id = a.target_id WHERE p.method = 'cash' "
                     "AND a.target = 'charge' AND c.payer IS NULL")
    assert cash and all(status == "paid" and balance == 0 for status, balance in cash)


def test_patient_invoices_in_every_state(demo: Demo) -> None:
    invoices = demo.rows("SELECT invoice_id, status, due_on, paid, written_off FROM invoices WHERE practice_id = %s",
                         PID)
    by_status = {status: (UUID(str(i)), due, paid, off) for i, status, due, paid, off in invoices}
    assert set(by_status) == {"sent", "partially_paid", "paid", "overdue"}
    assert by_status["overdue"][1] < demo.today
    assert by_status["partially_paid"][3] > 0  # a small write-off
    methods = {m for (m,) in demo.rows(
        "SELECT p.method FROM billing_applications a JOIN billing_payments p USING (payment_id) "
        "WHERE a.target = 'invoice' AND a.active")}
    assert methods == {"card", "cash"}
    fee = demo.rows("SELECT quantity, unit_price FROM invoice_lines WHERE practice_id = %s AND kind = 'service'", PID)
    assert fee == [(Decimal("1.00"), Decimal("50.00"))]
    assert demo.one("SELECT count(*) FROM invoice_lines WHERE practice_id = %s AND kind = 'charge'", PID) >= 4


def test_the_ledger_identities_hold_everywhere(demo: Demo) -> None:
    charges = demo.rows("SELECT charge_id, amount, paid, adjusted, transferred, balance FROM billing_charges "
                        "WHERE practice_id = %s", PID)
    for charge_id, amount, paid, adjusted, transferred, balance in charges:
        assert amount == paid + adjusted + transferred + balance
        charge: Charge = demo.k.store.load(charge_id, Charge)
        assert (charge.amount, charge.paid, charge.adjusted, charge.transferred, charge.balance) == (
            amount, paid, adjusted, transferred, balance)
    for invoice_id, total, paid, written_off, balance in demo.rows(
            "SELECT invoice_id, total, paid, written_off, balance FROM invoices WHERE practice_id = %s", PID):
        assert total == paid + written_off + balance
        invoice: Invoice = demo.k.store.load(invoice_id, Invoice)
        assert (invoice.total, invoice.paid, invoice.written_off, invoice.balance) == (
            total, paid, written_off, balance)
    for (payment_id,) in demo.rows("SELECT payment_id FROM billing_payments WHERE practice_id = %s", PID):
        payment: Payment = demo.k.store.load(payment_id, Payment)
        assert payment.amount == payment.applied + payment.refunded + payment.unapplied
    # what the clients owe on invoices is what moved off their charges, less payments and write-offs
    moved = demo.one("SELECT sum(transferred) FROM billing_charges WHERE practice_id = %s", PID)
    invoiced = demo.one("SELECT sum(amount) FROM invoice_lines WHERE practice_id = %s AND kind = 'charge'", PID)
    assert moved == invoiced > 0


def test_loading_again_adds_nothing(demo: Demo) -> None:
    events = demo.one("SELECT count(*) FROM careledger_events")
    staff = {role: membership_id_for(PID, demo_email(role, "demo")) for role, _, _ in STAFF_ROLES}
    with audit.acting(audit.system("system:demo", practice_id=PID)):
        assert load_billing(demo.k, PID, staff) == 0
    assert load_demo(demo.k) == 0
    assert demo.one("SELECT count(*) FROM careledger_events") == events
