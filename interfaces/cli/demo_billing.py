"""A working revenue cycle for the demo practice's history, made through the billing services.

A fee schedule from the first history day (therapy sessions billed as 90837, charge on completion
on); a charge for every completed visit (a few by telehealth, modifier 95) but the latest three
of insured clients, which wait on the "needs a charge" queue (completed before the policy, so no
sweep takes them); one claim per client and service date for the charges older than five days,
except the visits on billing hold (their note is unsigned past day 14: refused, left unbilled);
for each payer one insurance check per two weeks of service paying most charges older than three
weeks (70-85 % of the fee, a CO-45 contractual adjustment of part of the rest, the remainder the
client's), two claims denied (CO-16); four patient invoices for those remainders (paid by card,
partly paid in cash with a small write-off, overdue, open) and the self-pay client's cash
payments at the visits.

Money is entered now; dates the business knows (service, received on, invoice issue and due
dates) are the history's. The one invoice issued in the past is made on a clock set back, so its
due date has passed and the overdue sweep marks it. Loaded once: a practice whose fee schedule
exists is left as it is.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from adapters.clock import FrozenClock
from application.billing.fee_schedules import FeeChange, TypeCodeChange
from application.billing.invoices import InvoiceService, ServiceLine
from domain.billing.charge import Charge, OnBillingHold
from domain.billing.fee_schedule import fee_schedule_id
from domain.billing.invoice import Invoice
from domain.billing.money import CENTS, ZERO
from domain.clients.client import Client
from domain.scheduling.working_time import zone
from interfaces.cli.demo_history import WEEKS_BACK
from interfaces.container import Container

FEES = {"90791": "200.00", "90834": "120.00", "90837": "150.00", "90846": "130.00", "90847": "140.00",
        "90853": "60.00"}
SESSION_CPT = "90837"
DIAGNOSIS = "F41.1"
TELEHEALTH = "95"
TELEHEALTH_SHARE = 0.08
BILL_AFTER = 5  # days after the visit
PAID_AFTER = 21
CHECK_PERIOD = 14  # days of service one insurance check covers
CHECK_LAG = timedelta(days=14)  # from the last service date on a check to its arrival
STILL_PENDING = 0.1  # share of old claims the payer has not answered yet
DENIALS = (("M51", "Denied CO-16: procedure code missing or invalid; correct and resubmit."),
           ("N290", "Denied CO-16: rendering provider identifier missing; correct and resubmit."))
MISSED_FEE = Decimal("50.00")
SMALL_BALANCE = Decimal("2.50")
OVERDUE_ISSUED = timedelta(days=40)  # net 30: ten days past due
MAX_VISITS = 100_000
AWAITING_CHARGE = 3  # the latest visits, left on the "needs a charge" queue (charge-entry lag)


@dataclass
class _Line:
    charge_id: UUID
    client_id: UUID
    service_date: date
    payer: str | None
    amount: Decimal
    claim_number: str | None = None
    paid_on: date | None = None
    """When the payer's check for it arrived."""
    patient_due: Decimal = ZERO


@dataclass
class _Ledger:
    lines: list[_Line] = field(default_factory=list)
    added: int = 0


def billing_steps(appointments: int) -> int:
    """Progress-bar share: about a charge, a claim and a posting for most of the appointments."""
    return appointments * 7 // 4


def load_billing(
    k: Container, practice_id: UUID, staff: dict[str, UUID], step: Callable[[str], None] | None = None,
) -> int:
    """The demo practice's billing; returns how many aggregates were added (0 once loaded). Runs
    as the caller's system actor."""
    if k.store.exists(fee_schedule_id(practice_id)):
        return 0
    practice = k.practices.get(practice_id)
    today = k.clock.now().astimezone(zone(practice.time_zone)).date()
    first_day = today - timedelta(days=today.weekday()) - timedelta(weeks=WEEKS_BACK)
    rng = random.Random(f"{practice.slug}/billing")
    ledger = _Ledger()

    k.fee_schedules.update(
        practice_id,
        fees=[FeeChange(cpt, Decimal(amount), first_day) for cpt, amount in FEES.items()],
        type_codes=[TypeCodeChange("therapy_session", SESSION_CPT)],
        charge_on_completion=True,
    )
    ledger.added += 1
    for name in ("compliance", "billing_ledger", "appointments"):
        k.runner(name).catch_up()

    _enter_charges(k, practice_id, staff, rng, ledger, step)
    _bill(k, practice_id, today, ledger, step)
    _insurance_checks(k, practice_id, today, rng, ledger, step)
    _self_pay(k, practice_id, today, ledger, step)
    _invoices(k, practice_id, today, ledger, step)
    return ledger.added


def _enter_charges(
    k: Container, practice_id: UUID, staff: dict[str, UUID], rng: random.Random, ledger: _Ledger,
    step: Callable[[str], None] | None,
) -> None:
    clinicians = [staff[role] for role in ("clinician", "supervisor") if role in staff]
    visits = k.billing_ledger.unbilled_visits(practice_id, only_clients=None, only_clinicians=clinicians,
                                              limit=MAX_VISITS)
    covered = {c: _insured(k, c) for c in {v.client_id for v in visits}}
    insured = [v for v in visits if covered[v.client_id]]
    waiting = {v.appointment_id for v in insured[-AWAITING_CHARGE:]}
    for visit in (v for v in visits if v.appointment_id not in waiting):
        telehealth = rng.random() < TELEHEALTH_SHARE
        saved = k.charges.enter(practice_id, visit.client_id, appointment_id=visit.appointment_id,
                                charge_modifiers=[TELEHEALTH] if telehealth else None, diagnosis_codes=[DIAGNOSIS])
        charge: Charge = k.store.load(saved.id, Charge)
        ledger.lines.append(_Line(charge.id, charge.client_id, charge.service_date, charge.payer, charge.amount))
        ledger.added += 1
        if step:
            step("charge")


def _bill(k: Container, practice_id: UUID, today: date, ledger: _Ledger, step: Callable[[str], None] | None) -> None:
    """One claim per client and service date; a claim whose visit is on billing hold is refused."""
    claims: dict[tuple[UUID, date], list[_Line]] = {}
    for line in ledger.lines:
        if line.payer is not None and (today - line.service_date).days > BILL_AFTER:
            claims.setdefault((line.client_id, line.service_date), []).append(line)
    for lines in claims.values():
        try:
            billed = k.charges.bill(practice_id, [line.charge_id for line in lines])
        except OnBillingHold:
            if step:
                step("billing_hold")  # a realistic sight: the claim waits for the note's signature
            continue
        for line in lines:
            line.claim_number = billed.claim_number
        if step:
            step("claim")


def _insurance_checks(
    k: Container, practice_id: UUID, today: date, rng: random.Random, ledger: _Ledger,
    step: Callable[[str], None] | None,
) -> None:
    """Per payer, one check per two weeks of service: paid, contractual adjustment (CO-45), the
    rest the client's; a couple of claims denied (CO-16)."""
    old = [line for line in ledger.lines
           if line.claim_number is not None and (today - line.service_date).days > PAID_AFTER]
    first = min((line.service_date for line in old), default=today)
    periods: dict[tuple[str, int], list[_Line]] = {}
    for line in old:
        assert line.payer is not None
        periods.setdefault((line.payer, (line.service_date - first).days // CHECK_PERIOD), []).append(line)
    denied = {line.charge_id: denial for line, denial in zip(rng.sample(old, min(len(DENIALS), len(old))), DENIALS,
                                                               strict=False)}
    for (payer, _), lines in sorted(periods.items()):
        answered = [line for line in lines if line.charge_id in denied or rng.random() >= STILL_PENDING]
        postings: list[tuple[_Line, Decimal, Decimal]] = []
        for line in answered:
            if line.charge_id in denied:
                remark, note = denied[line.charge_id]
                k.charges.adjust(practice_id, line.charge_id, kind="adjustment", group="CO", reason_code="16",
                                 amount=line.amount, note=note, remark_codes=[remark])
                continue
            paid = (line.amount * rng.randint(70, 85) / 100).quantize(CENTS)
            contractual = ((line.amount - paid) * rng.randint(40, 75) / 100).quantize(CENTS)
            postings.append((line, paid, contractual))
        if not postings:
            continue
        received_on = min(max(line.service_date for line, _, _ in postings) + CHECK_LAG, today)
        payment = k.payments.receive(
            practice_id, method="insurance", payer=payer, amount=sum((paid for _, paid, _ in postings), ZERO),
            received_on=received_on, check_number=str(rng.randint(100_000, 999_999)),
            reference=f"EOB {received_on.isoformat()}",
        )
        ledger.added += 1
        for line, paid, contractual in postings:
            k.payments.apply(practice_id, payment.id, target="charge", target_id=line.charge_id, amount=paid)
            k.charges.adjust(practice_id, line.charge_id, kind="adjustment", group="CO", reason_code="45",
                             amount=contractual, note="Contractual adjustment (fee above the allowed amount).")
            line.paid_on, line.patient_due = received_on, line.amount - paid - contractual
            if step:
                step("posting")


def _self_pay(k: Container, practice_id: UUID, today: date, ledger: _Ledger,
              step: Callable[[str], None] | None) -> None:
    """The client without insurance pays cash at each visit; the latest is still open."""
    lines = sorted((line for line in ledger.lines
                    if line.payer is None and (today - line.service_date).days > BILL_AFTER),
                   key=lambda line: line.service_date)
    for line in lines[:-1]:
        payment = k.payments.receive(practice_id, method="cash", amount=line.amount, client_id=line.client_id,
                                     received_on=line.service_date)
        k.payments.apply(practice_id, payment.id, target="charge", target_id=line.charge_id, amount=line.amount)
        ledger.added += 1
        if step:
            step("posting")


def _invoices(k: Container, practice_id: UUID, today: date, ledger: _Ledger,
              step: Callable[[str], None] | None) -> None:
    """Four clients' balances after insurance: one overdue (issued 40 days ago, net 30), one paid
    by card at the desk, one partly paid in cash with a small write-off, one open (the demo portal
    client's when they owe, to pay online); a missed-appointment fee on one of the last three."""
    issued_back = today - OVERDUE_ISSUED
    due: dict[UUID, list[_Line]] = {}
    for line in ledger.lines:
        if line.patient_due > ZERO:
            due.setdefault(line.client_id, []).append(line)
    early = sorted((c for c, lines in due.items() if any(line.paid_on and line.paid_on <= issued_back
                                                        for line in lines)), key=str)
    if not early:
        return
    overdue_client = early[0]
    portal_client = _portal_client(k, practice_id)
    rest = [c for c in sorted(due, key=str) if c != overdue_client]
    if portal_client in rest:
        rest.remove(portal_client)
        rest.append(portal_client)
    if len(rest) < 3:
        return
    card_client, cash_client, open_client = rest[0], rest[1], rest[-1]

    back = FrozenClock(k.clock.now() - OVERDUE_ISSUED)
    past = InvoiceService(k.store, back, k.mailer, k.document_renderer, k.invoices_view)
    lines = [line for line in due[overdue_client] if line.paid_on and line.paid_on <= issued_back]
    overdue = past.create(practice_id, overdue_client, charge_ids=[line.charge_id for line in lines])
    past.send(practice_id, overdue.id, email=False)

    missed = {c: _missed_visit(k, practice_id, c) for c in (open_client, cash_client, card_client)}
    fee_client, fee_day = next(((c, day) for c, day in missed.items() if day is not None), (open_client, today))
    fee = [ServiceLine("Missed-appointment fee", fee_day, Decimal(1), MISSED_FEE)]
    card, cash, open_ = [_invoice(k, practice_id, due[c], fee if c == fee_client else ())
                         for c in (card_client, cash_client, open_client)]
    ledger.added += 4

    owed = k.store.load(card, Invoice).balance
    paid = k.payments.receive(practice_id, method="card", amount=owed, client_id=card_client,
                              reference="Card at the front desk")
    k.payments.apply(practice_id, paid.id, target="invoice", target_id=card, amount=owed)
    balance = k.store.load(cash, Invoice).balance
    part = max((balance / 2).quantize(Decimal(1)), Decimal(1))
    partial = k.payments.receive(practice_id, method="cash", amount=part, client_id=cash_client)
    k.payments.apply(practice_id, partial.id, target="invoice", target_id=cash, amount=part)
    if balance - part > 2 * SMALL_BALANCE:
        k.invoices.write_off(practice_id, cash, amount=SMALL_BALANCE, reason="Small-balance courtesy write-off")
    ledger.added += 2

    k.runner("invoices").catch_up()
    k.invoices.mark_overdue_invoices()
    if step:
        for _ in (overdue, card, cash, open_):
            step("invoice")


def _invoice(k: Container, practice_id: UUID, lines: Sequence[_Line],
             service_lines: Sequence[ServiceLine] = ()) -> UUID:
    created = k.invoices.create(practice_id, lines[0].client_id, charge_ids=[line.charge_id for line in lines],
                                service_lines=service_lines)
    k.invoices.send(practice_id, created.id, email=False)
    return created.id


def _insured(k: Container, client_id: UUID) -> bool:
    insurance = k.store.load(client_id, Client).demographics.get("insurance_primary")
    return isinstance(insurance, dict) and bool(insurance.get("payer"))


def _portal_client(k: Container, practice_id: UUID) -> UUID | None:
    from interfaces.cli.demo import demo_id

    client_id = demo_id(k.practices.get(practice_id).slug, "client", 0)
    return client_id if k.store.exists(client_id) else None


def _missed_visit(k: Container, practice_id: UUID, client_id: UUID) -> date | None:
    tz = zone(k.practices.get(practice_id).time_zone)
    missed = [a.starts_at for a in k.appointment_book.client_history(practice_id, client_id)
              if a.status == "no_show" or a.late]
    return max(missed).astimezone(tz).date() if missed else None

