"""The billing ledger read model: charge and payment rows equal their aggregates after any mix of
payments, unapplies, adjustments, remittance postings and reversals, invoice transfers, claims and
voids; completed visits with their practice-local date and charge; no diagnosis codes stored;
a rebuild from zero equals the incremental result; a runner killed mid-way loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from application import audit
from domain.billing.charge import Charge
from domain.billing.payment import Payment
from domain.scheduling.appointment import Appointment
from projections.billing_ledger import BillingLedgerView
from tests.application.billing.support import NOW, Desk, make_desk

D = Decimal
TABLES = ("billing_charges", "billing_entries", "billing_payments", "billing_applications", "billing_refunds",
          "billing_visits", "billing_appointments", "billing_practices", "billing_visit_notes")


def snapshot(url: str, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT * FROM {table}").fetchall()
    return sorted(rows, key=repr)


def ledger(desk: Desk) -> BillingLedgerView:
    desk.settle()
    view: BillingLedgerView = desk.k.billing_ledger
    return view


def load(desk: Desk, aggregate_id: UUID, cls: type[Any]) -> Any:
    with desk.system():
        return desk.k.store.load(aggregate_id, cls)


def history(desk: Desk) -> dict[str, Any]:
    """A month at the desk: visits, charges (by hand and by claim), payments applied, moved and
    refunded, adjustments, an 835 posting and its reversal, a transfer to an invoice and back, a
    void. Returns the ids."""
    desk.price()
    visit = desk.visit(date(2026, 3, 2), hour=21)  # 21:00 in New York is 3 March in UTC
    note = desk.note(visit, date(2026, 3, 2), ["F32.1"], signed_at=desk.s.at(date(2026, 3, 2), 22))
    cancelled = desk.visit(date(2026, 3, 3), status="open")
    with desk.system():
        a: Appointment = desk.k.store.load(cancelled, Appointment)
        a.cancel("client", "schedule_conflict", now=desk.s.at(date(2026, 3, 1), 9), late_window=timedelta(hours=24))
        desk.k.store.save(a)
    desk.settle()
    with desk.as_():
        by_visit = desk.charges.enter(desk.id, desk.insured, appointment_id=visit).id
    second = desk.enter(service_date=date(2026, 3, 5), charge_units=D(2))
    self_pay = desk.enter(desk.self_pay, service_date=date(2026, 3, 6), payer=None)
    voided = desk.enter(service_date=date(2026, 3, 7))
    desk.s.settle()
    with desk.as_():
        claim = desk.charges.bill(desk.id, [by_visit, second]).claim_number
        desk.charges.void(desk.id, voided, "Entered twice")
        desk.charges.adjust(desk.id, second, kind="adjustment", group="CO", reason_code="45", amount=D("40.00"),
                            note="Contractual", remark_codes=["N130"])
        desk.charges.adjust(desk.id, self_pay, kind="write_off", group="PR", reason_code="1", amount=D("25.00"),
                            note="Hardship")
        cash = desk.payments.receive(desk.id, method="cash", amount=D("100.00"), client_id=desk.insured).id
        moved = desk.payments.apply(desk.id, cash, target="charge", target_id=second, amount=D("70.00")).id
        desk.payments.unapply(desk.id, cash, moved, "Wrong charge")
        desk.payments.apply(desk.id, cash, target="charge", target_id=by_visit, amount=D("60.00"))
        desk.payments.refund(desk.id, cash, amount=D("15.00"), reason="Overpaid", refund_id="r-1")
        insurer = desk.payments.receive(desk.id, method="insurance", amount=D("0.00"), client_id=None,
                                        payer="Aetna").id
    remittance = uuid4()
    with desk.system():
        charge: Charge = desk.k.store.load(second, Charge)
        charge.apply_payment("835:1", insurer, D("120.00"), source="remittance", at=NOW, remittance_id=remittance,
                             payer_claim_number="PCN1")
        charge.adjust("835:1:CO45", kind="adjustment", group="CO", reason="45", amount=D("20.00"), at=NOW, by=None,
                      source="remittance", remittance_id=remittance)
        charge.apply_payment("835:2", insurer, D("-120.00"), source="remittance", at=NOW, remittance_id=remittance)
        desk.k.store.save(charge)
        own: Charge = desk.k.store.load(self_pay, Charge)
        first_invoice, second_invoice = uuid4(), uuid4()
        own.transfer_to_invoice(first_invoice, at=NOW)
        own.release_from_invoice(first_invoice, at=NOW)
        own.transfer_to_invoice(second_invoice, at=NOW)
        desk.k.store.save(own)
    return {"visit": visit, "note": note, "cancelled": cancelled, "by_visit": by_visit, "second": second,
            "self_pay": self_pay, "voided": voided, "claim": claim, "cash": cash, "insurer": insurer,
            "invoice": second_invoice}


@pytest.fixture
def desk(container: Any) -> Desk:
    return make_desk(container)


def test_rows_equal_the_aggregates(desk: Desk) -> None:
    ids = history(desk)
    view = ledger(desk)
    for key in ("by_visit", "second", "self_pay", "voided"):
        charge: Charge = load(desk, ids[key], Charge)
        row = view.charge(desk.id, charge.id)
        assert row is not None
        assert (row.amount, row.paid, row.adjusted, row.transferred, row.balance, row.status, row.claim_number,
                row.payer, row.invoice_id, row.voided, row.line_ref, row.cpt, list(row.modifiers), row.units) == (
            charge.amount, charge.paid, charge.adjusted, charge.transferred, charge.balance, charge.status,
            charge.claim_number, charge.payer, charge.invoice_id, charge.voided, charge.line_ref, charge.cpt,
            list(charge.modifiers), charge.units), key
        assert row.amount == row.paid + row.adjusted + row.transferred + row.balance
        rows = {e["entry_id"]: (e["kind"], e["amount"], e["active"]) for e in view.entries(charge.id)}
        held = {e.entry_id: (e.kind, e.amount, e.active) for e in charge.entries.values()}
        assert {k: v for k, v in rows.items() if v[2]} == {k: v for k, v in held.items() if v[2]}, key
        assert all(rows[k] == v for k, v in held.items()), key  # released transfers stay as inactive rows
    second = view.charge(desk.id, ids["second"])
    assert second is not None and (second.status, second.paid, second.adjusted) == ("partially_paid", D("0.00"),
                                                                                     D("60.00"))
    remitted = {e["entry_id"]: e for e in view.entries(ids["second"])}
    assert (remitted["835:1:CO45"]["group_code"], remitted["835:1:CO45"]["reason_code"],
            remitted["835:1:CO45"]["source"]) == ("CO", "45", "remittance")
    assert remitted["835:2"]["amount"] == D("-120.00")
    manual = next(e for e in remitted.values() if e["source"] == "manual" and e["kind"] == "adjustment")
    assert manual["remark_codes"] == ["N130"]
    own = view.charge(desk.id, ids["self_pay"])
    assert own is not None and (own.invoice_id, own.transferred, own.balance, own.status) == (
        ids["invoice"], D("125.00"), D("0.00"), "billed")
    assert [r.charge_id for r in view.charges(desk.id, only_clients=None, only_clinicians=None,
                                              claim_number=ids["claim"]).items] == [ids["second"], ids["by_visit"]]

    for key in ("cash", "insurer"):
        payment: Payment = load(desk, ids[key], Payment)
        paid = view.payment(desk.id, payment.id)
        assert paid is not None
        assert (paid.amount, paid.applied, paid.refunded, paid.unapplied, paid.method, paid.client_id) == (
            payment.amount, payment.applied, payment.refunded, payment.unapplied, payment.method, payment.client_id)
    apps = view.query("SELECT target_id, amount, active FROM billing_applications WHERE payment_id = %s "
                      "ORDER BY at, active", (ids["cash"],))
    assert sorted((r["target_id"], r["amount"], r["active"]) for r in apps) == sorted([
        (ids["second"], D("70.00"), False), (ids["by_visit"], D("60.00"), True)])
    refunds = view.query("SELECT refund_id, amount FROM billing_refunds WHERE payment_id = %s", (ids["cash"],))
    assert [(r["refund_id"], r["amount"]) for r in refunds] == [("r-1", D("15.00"))]


def test_visits_and_their_charges(desk: Desk) -> None:
    ids = history(desk)
    view = ledger(desk)
    rows = view.query("SELECT * FROM billing_visits WHERE practice_id = %s", (desk.id,))
    assert [(r["appointment_id"], r["service_date"], r["charge_id"], r["appointment_type"], r["clinician_id"])
            for r in rows] == [(ids["visit"], date(2026, 3, 2), ids["by_visit"], "therapy_session", desk.clinician)]
    assert view.visit_notes(desk.id, ids["visit"]) == [ids["note"]]
    assert view.query("SELECT 1 FROM billing_appointments WHERE appointment_id = %s", (ids["cancelled"],)) == []
    # Voiding the visit's charge puts the visit back on the "needs a charge" list.
    with desk.system():
        charge: Charge = desk.k.store.load(ids["by_visit"], Charge)
        for entry in [e for e in charge.entries.values() if e.active]:
            payment: Payment = desk.k.store.load(entry.reference_id, Payment)
            payment.unapply(UUID(entry.entry_id), "Moving it", at=NOW, by=None)
            charge.unapply_payment(entry.entry_id, at=NOW)
            desk.k.store.save(payment, charge)
        charge.void("Billed in error", at=NOW, by=desk.billing)
        desk.k.store.save(charge)
    view = ledger(desk)
    assert [v.appointment_id for v in view.unbilled_visits(desk.id, only_clients=None, only_clinicians=None)] == [
        ids["visit"]]
    assert view.charge(desk.id, ids["by_visit"]).status == "void"  # type: ignore[union-attr]


def test_no_diagnosis_codes_are_stored(desk: Desk) -> None:
    history(desk)
    ledger(desk)
    with psycopg.connect(desk.k.database_url) as conn:
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ANY(%s)", (list(TABLES),))}
        found = conn.execute(
            "SELECT count(*) FROM billing_charges c WHERE c.practice_id = %s AND "
            "row_to_json(c)::text ~ 'F32\\.1'", (desk.id,)).fetchone()
    assert not {c for c in columns if "diagnos" in c or "icd" in c}
    assert found == (0,)


def test_rebuild_equals_incremental(isolated_container: Any) -> None:
    k = isolated_container
    runner = k.runner("billing_ledger")
    runner.batch_size = 7  # many small batches while the history grows
    desks = [make_desk(k) for _ in range(2)]
    for desk in desks:
        history(desk)
        runner.catch_up()
    incremental = {t: snapshot(k.database_url, t) for t in TABLES}
    assert len(incremental["billing_charges"]) == 8 and len(incremental["billing_entries"]) > 10

    runner.batch_size = 500
    progress: list[tuple[int, int]] = []
    done = runner.rebuild(progress=lambda position, head: progress.append((position, head)))
    assert done == runner.status().head and progress[-1][0] == progress[-1][1]
    assert {t: snapshot(k.database_url, t) for t in TABLES} == incremental
    assert runner.status().lag == 0


def test_a_killed_runner_resumes_to_the_same_tables(isolated_container: Any) -> None:
    k = isolated_container
    for _ in range(3):
        history(make_desk(k))
    for other in k.runners:
        other.catch_up()
    runner = k.runner("billing_ledger")
    reference = {t: snapshot(k.database_url, t) for t in TABLES}
    runner.reset()
    assert snapshot(k.database_url, "billing_charges") == []
    head = runner.status().head

    env = {**os.environ, "DATABASE_URL": k.database_url}
    cmd = [sys.executable, "-m", "interfaces.cli.main", "projections", "run", "--once", "--batch-size", "2",
           "--only", "billing_ledger"]
    victim = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while runner.position() < head // 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, (
        f"the runner finished before it could be killed: {victim.stderr.read().decode() if victim.stderr else ''}")
    assert 0 < runner.position() < head  # really killed mid-way

    finisher = subprocess.run(cmd, env=env, capture_output=True, timeout=180, check=False)
    assert finisher.returncode == 0, finisher.stderr.decode()
    assert runner.status().lag == 0
    assert {t: snapshot(k.database_url, t) for t in TABLES} == reference


def test_the_system_actor_is_named_in_the_envelope(desk: Desk) -> None:
    desk.price()
    with audit.acting(audit.system("system:sweep", practice_id=desk.id)):
        charge_id = desk.charges.enter(desk.id, desk.self_pay, cpt="90837", service_date=date(2026, 3, 2),
                                       clinician_id=desk.clinician, diagnosis_codes=["F32.1"]).id
    [entered] = list(desk.k.store.events.get(charge_id))
    assert entered.audit["actor_id"] == "system:sweep" and entered.by == desk.id
