"""ChargeService and FeeScheduleService against the real event store and billing ledger: defaults
from the visit, the fee schedule, the note and the client's insurance; one live charge per visit;
claims and the billing hold; adjustments; charge on completion; record scope."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from adapters.clock import FrozenClock
from application.billing.charges import ChargeFilter, claim_number_for, visit_charge_id
from application.billing.fee_schedules import FeeChange, TypeCodeChange
from application.errors import Conflict, Forbidden, NotFound
from domain.billing.charge import Charge, OnBillingHold
from domain.billing.fee_schedule import FeeSchedule, fee_schedule_id
from domain.errors import IllegalTransition, InvalidCommand
from domain.identity.permissions import Permission, effective_permissions
from interfaces.container import Container
from interfaces.sweeps import create_visit_charges
from tests.application.billing.support import NOW, Desk, make_desk

D = Decimal
VISIT_DAY = date(2026, 3, 2)


@pytest.fixture
def desk(container: Any) -> Desk:
    return make_desk(container)


def load(desk: Desk, charge_id: UUID) -> Charge:
    with desk.system():
        charge: Charge = desk.k.store.load(charge_id, Charge)
    return charge


# --- fee schedule -----------------------------------------------------------------------------


def test_the_fee_schedule_opens_on_its_first_change_and_refuses_unknown_types(desk: Desk) -> None:
    with desk.as_():
        empty = desk.fees.get(desk.id)
        assert (empty.id, empty.fees, empty.pending_events != []) == (fee_schedule_id(desk.id), {}, True)
        assert not desk.k.store.exists(fee_schedule_id(desk.id))
        desk.fees.set_fee(desk.id, "90837", D("150.00"), date(2026, 1, 1))
        desk.fees.set_fee(desk.id, "90837", D("175.00"), date(2026, 1, 1), modifier="95")
        desk.fees.map_type(desk.id, "therapy_session", "90837", ["95"])
        desk.fees.set_policy(desk.id, charge_on_completion=True)
        with pytest.raises(InvalidCommand) as e:
            desk.fees.map_type(desk.id, "no_such_type", "90837")
        assert e.value.details["field"] == "appointment_type"
        with pytest.raises(InvalidCommand):  # all or nothing: the good fee is not saved either
            desk.fees.update(desk.id, fees=[FeeChange("90791", D("200.00"), date(2026, 1, 1)),
                                            FeeChange("bad", D("1.00"), date(2026, 1, 1))])
        schedule = desk.fees.get(desk.id)
    assert schedule.fee_for("90837", ("95",), date(2026, 3, 1)) == D("175.00")
    assert schedule.fee_for("90791", (), date(2026, 3, 1)) is None
    assert (schedule.type_codes["therapy_session"].modifiers, schedule.charge_on_completion) == (("95",), True)
    assert [type(e).__name__ for e in desk.k.store.events.get(schedule.id)] == [
        "Opened", "FeeSet", "FeeSet", "TypeCodeSet", "PolicySet"]


def test_two_admins_changing_the_schedule_at_once_both_land(desk: Desk) -> None:
    errors: list[BaseException] = []

    def change(cpt: str) -> None:
        try:
            with desk.as_(desk.admin, "admin"):
                desk.fees.set_fee(desk.id, cpt, D("100.00"), date(2026, 1, 1))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=change, args=(code,)) for code in ("90832", "90834", "90837", "90847")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with desk.as_():
        assert sorted(cpt for cpt, _ in desk.fees.get(desk.id).fees) == ["90832", "90834", "90837", "90847"]


def test_caseload_roles_do_not_change_the_schedule(desk: Desk) -> None:
    with desk.as_(desk.clinician, "clinician"), pytest.raises(Forbidden):
        desk.fees.set_policy(desk.id, charge_on_completion=True)


# --- entering ---------------------------------------------------------------------------------


def test_a_visit_charge_takes_its_defaults_from_the_visit_schedule_note_and_insurance(desk: Desk) -> None:
    desk.price(amount="150.00", since=date(2026, 1, 1))
    desk.price(amount="180.00", since=date(2026, 3, 10))  # a later price does not touch earlier visits
    visit = desk.visit(VISIT_DAY, hour=21)  # 21:00 in New York: 02:00 UTC the next day
    desk.note(visit, VISIT_DAY, ["F41.1", "Z63.0"])
    desk.settle()
    with desk.as_():
        saved = desk.charges.enter(desk.id, desk.insured, appointment_id=visit, charge_units=D(2))
    assert saved.id == visit_charge_id(visit)
    charge = load(desk, saved.id)
    assert (charge.service_date, charge.clinician_id, charge.cpt, charge.modifiers, charge.units, charge.unit_fee,
            charge.amount, charge.payer, charge.diagnosis_codes, charge.diagnosis_pointers, charge.entered_by,
            charge.entered_at, charge.status) == (
        VISIT_DAY, desk.clinician, "90837", (), D(2), D("150.00"), D("300.00"), "Aetna", ["F41.1", "Z63.0"], [1, 2],
        desk.billing, NOW, "unbilled")

    with desk.as_(), pytest.raises(Conflict):  # one live charge per visit
        desk.charges.enter(desk.id, desk.insured, appointment_id=visit)
    with desk.as_():
        desk.charges.void(desk.id, saved.id, "Wrong units")
        again = desk.charges.enter(desk.id, desk.insured, appointment_id=visit, payer=None, unit_fee=D("99.00"))
    assert again.id == visit_charge_id(visit, 1)
    second = load(desk, again.id)
    assert (second.payer, second.amount) == (None, D("99.00"))  # self-pay on request; the fee as given


def test_two_clerks_charging_one_visit_at_once_make_one_charge(desk: Desk) -> None:
    desk.price()
    visit = desk.visit(VISIT_DAY)
    outcomes: list[str] = []

    def enter() -> None:
        try:
            with desk.as_():
                desk.charges.enter(desk.id, desk.insured, appointment_id=visit, diagnosis_codes=["F32.1"])
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=enter) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "saved"]
    assert desk.k.store.exists(visit_charge_id(visit)) and not desk.k.store.exists(visit_charge_id(visit, 1))


def test_entering_refuses(desk: Desk) -> None:
    desk.price(map_type=False)
    open_visit = desk.visit(VISIT_DAY, status="open")
    others_visit = desk.visit(VISIT_DAY, client=desk.self_pay)
    done = desk.visit(VISIT_DAY)
    elsewhere = make_desk(desk.k)
    cases: list[tuple[dict[str, Any], type[Exception], str | None]] = [
        ({"appointment_id": open_visit, "diagnosis_codes": ["F32.1"]}, IllegalTransition, None),
        ({"appointment_id": others_visit, "diagnosis_codes": ["F32.1"]}, InvalidCommand, "appointment_id"),
        ({"appointment_id": uuid4(), "diagnosis_codes": ["F32.1"]}, NotFound, None),
        ({"appointment_id": done, "diagnosis_codes": ["F32.1"]}, InvalidCommand, "cpt"),  # type not mapped
        ({"appointment_id": done, "cpt": "90837"}, InvalidCommand, "diagnosis_codes"),  # no note, no history
        ({"appointment_id": done, "cpt": "90837", "diagnosis_codes": ["F32.1"], "service_date": date(2026, 3, 3)},
         InvalidCommand, "service_date"),
        ({"cpt": "90791", "service_date": VISIT_DAY, "clinician_id": desk.clinician, "diagnosis_codes": ["F32.1"]},
         InvalidCommand, "unit_fee"),
        ({"cpt": "90837", "service_date": date(2026, 3, 21), "clinician_id": desk.clinician,
          "diagnosis_codes": ["F32.1"]}, InvalidCommand, "service_date"),  # tomorrow in New York
        ({"cpt": "90837", "service_date": VISIT_DAY, "diagnosis_codes": ["F32.1"]}, InvalidCommand, "clinician_id"),
        ({"cpt": "90837", "service_date": VISIT_DAY, "clinician_id": elsewhere.clinician,
          "diagnosis_codes": ["F32.1"]}, InvalidCommand, "clinician_id"),
    ]
    for kwargs, error, field in cases:
        with desk.as_(), pytest.raises(error) as e:
            desk.charges.enter(desk.id, desk.insured, **kwargs)
        if field is not None:
            assert getattr(e.value, "details", {}).get("field") == field, (kwargs, e.value)
    with desk.as_(), pytest.raises(NotFound):
        desk.charges.enter(desk.id, elsewhere.insured, cpt="90837", service_date=VISIT_DAY,
                           clinician_id=desk.clinician, diagnosis_codes=["F32.1"])
    desk.settle()
    with desk.as_():
        assert desk.charges.list(desk.id, ChargeFilter()).items == []


def test_diagnoses_fall_back_to_the_clients_latest_charge(desk: Desk) -> None:
    desk.price()
    desk.enter(diagnosis_codes=["F43.10", "F32.1"], service_date=date(2026, 2, 20))
    visit = desk.visit(VISIT_DAY)
    desk.settle()
    with desk.as_():
        saved = desk.charges.enter(desk.id, desk.insured, appointment_id=visit)
    assert load(desk, saved.id).diagnosis_codes == ["F43.10", "F32.1"]


def test_edit_reprices_a_new_code_from_the_schedule(desk: Desk) -> None:
    desk.price("90837", "150.00")
    desk.price("90834", "110.00", map_type=False)
    charge_id = desk.enter()
    with desk.as_():
        desk.charges.edit(desk.id, charge_id, cpt="90834", diagnosis_codes=["F41.1", "F32.1", "Z63.0"])
    charge = load(desk, charge_id)
    assert (charge.cpt, charge.unit_fee, charge.amount, charge.diagnosis_pointers) == (
        "90834", D("110.00"), D("110.00"), [1, 2, 3])
    with desk.as_(), pytest.raises(InvalidCommand):
        desk.charges.edit(desk.id, charge_id, cpt="90791")  # no fee for it


# --- claims and the billing hold --------------------------------------------------------------


def test_a_visit_on_billing_hold_is_not_billed_until_its_note_is_signed(desk: Desk) -> None:
    desk.price()
    visit = desk.visit(VISIT_DAY)
    note = desk.note(visit, VISIT_DAY, ["F32.1"])
    plain = desk.enter(service_date=date(2026, 3, 3))
    desk.settle()
    with desk.as_():
        held = desk.charges.enter(desk.id, desk.insured, appointment_id=visit).id
    desk.s.settle()
    with desk.as_(), pytest.raises(OnBillingHold) as e:  # 20 March: past day 14 with the note unsigned
        desk.charges.bill(desk.id, [plain, held])
    assert "note_unsigned" in e.value.message
    assert (load(desk, plain).claim_number, load(desk, held).claim_number) == (None, None)  # nothing billed

    desk.s.sign(note, desk.clinician, desk.s.at(date(2026, 3, 19), 9))
    desk.s.settle()
    with desk.as_():
        claim = desk.charges.bill(desk.id, [plain, held], payer="Aetna PPO")
        again = desk.charges.bill(desk.id, [plain, held])  # the same claim again: nothing new
    assert claim.claim_number == again.claim_number == claim_number_for(plain)
    assert claim.claim_number.startswith("C") and len(claim.claim_number) == 11
    assert claim.position > 0 and again.position == 0
    assert [(c.claim_number, c.payer, c.status) for c in (load(desk, plain), load(desk, held))] == [
        (claim.claim_number, "Aetna PPO", "billed")] * 2


def test_claims_are_for_one_client_and_claim_numbers_are_not_shared(desk: Desk) -> None:
    desk.price()
    first, second = desk.enter(), desk.enter(service_date=date(2026, 3, 3))
    theirs = desk.enter(desk.self_pay)
    with desk.as_():
        with pytest.raises(InvalidCommand):
            desk.charges.bill(desk.id, [first, theirs])
        with pytest.raises(InvalidCommand):
            desk.charges.bill(desk.id, [first, first])
        desk.charges.bill(desk.id, [first], claim_number="CLM-1")
    desk.settle()
    with desk.as_():
        with pytest.raises(Conflict):
            desk.charges.bill(desk.id, [second], claim_number="CLM-1")
        with pytest.raises(IllegalTransition):
            desk.charges.bill(desk.id, [first], claim_number="CLM-2")
        with pytest.raises(NotFound):
            desk.charges.bill(desk.id, [uuid4()])


# --- adjustments and void ---------------------------------------------------------------------


def test_adjustments_write_offs_and_void(desk: Desk) -> None:
    desk.price()
    charge_id = desk.enter()
    adjustment = uuid4()
    with desk.as_():
        with pytest.raises(InvalidCommand):
            desk.charges.adjust(desk.id, charge_id, kind="adjustment", group="CO", reason_code="45",
                                amount=D("150.01"), note="Contractual")
        desk.charges.adjust(desk.id, charge_id, kind="adjustment", group="CO", reason_code="45", amount=D("30.00"),
                            note="Contractual", remark_codes=["N130"], adjustment_id=adjustment)
        desk.charges.adjust(desk.id, charge_id, kind="adjustment", group="CO", reason_code="45", amount=D("30.00"),
                            note="Contractual", adjustment_id=adjustment)  # a retry: nothing new
        desk.charges.adjust(desk.id, charge_id, kind="write_off", group="PR", reason_code="1", amount=D("20.00"),
                            note="Small balance")
        with pytest.raises(IllegalTransition):
            desk.charges.void(desk.id, charge_id, "Entered in error")
    charge = load(desk, charge_id)
    assert (charge.adjusted, charge.balance, charge.status, len(charge.entries)) == (
        D("50.00"), D("100.00"), "partially_paid", 2)


# --- charge on completion ---------------------------------------------------------------------


def test_charge_on_completion_by_policy(desk: Desk) -> None:
    visit = desk.visit(VISIT_DAY)
    with desk.system():
        assert desk.charges.charge_visit(desk.id, visit).outcome == "policy_off"
        with desk.as_(desk.admin, "admin"):
            desk.fees.set_policy(desk.id, charge_on_completion=True)
        assert desk.charges.charge_visit(desk.id, visit).outcome == "no_type_code"
        with desk.as_(desk.admin, "admin"):
            desk.fees.map_type(desk.id, "therapy_session", "90837", ["95"])
        assert desk.charges.charge_visit(desk.id, visit).outcome == "no_fee"
    desk.price(since=date(2026, 1, 1))
    desk.settle()
    with desk.system():
        assert desk.charges.charge_visit(desk.id, visit).outcome == "no_diagnosis"
    desk.note(visit, VISIT_DAY, ["F32.1"])
    desk.settle()
    with desk.system():
        created = desk.charges.charge_visit(desk.id, visit)
        assert (created.outcome, created.charge_id) == ("created", visit_charge_id(visit))
        assert desk.charges.charge_visit(desk.id, visit).outcome == "exists"
    charge = load(desk, visit_charge_id(visit))
    assert (charge.cpt, charge.modifiers, charge.amount, charge.diagnosis_codes, charge.entered_by) == (
        "90837", (), D("150.00"), ["F32.1"], desk.id)  # the schedule's own mapping was replaced by price()
    with desk.system():
        desk.charges.void(desk.id, charge.id, "Not billable")
        assert desk.charges.charge_visit(desk.id, visit).outcome == "exists"  # never recreated by policy


def test_the_sweep_charges_each_completed_visit_once(container: Any, desk: Desk) -> None:
    """Visits completed after the policy was switched on (and in the last 60 days) get their
    charge once; a visit without a known diagnosis stays listed as needing a charge."""
    desk.price()
    before_policy = desk.visit(date(2026, 2, 27))
    desk.note(before_policy, date(2026, 2, 27), ["F32.1"])
    desk.clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    with desk.as_(desk.admin, "admin"):
        desk.fees.set_policy(desk.id, charge_on_completion=True)
    visits = [desk.visit(date(2026, 3, d)) for d in (2, 3, 4)]
    for v, d in zip(visits, (2, 3, 4), strict=True):
        desk.note(v, date(2026, 3, d), ["F32.1"])
    undiagnosed = desk.visit(date(2026, 3, 5), client=desk.self_pay)
    sweeper = Container(database_url=container.database_url, clock=FrozenClock(NOW))
    try:
        assert create_visit_charges(sweeper) >= 3  # (other tests' practices may have visits waiting too)
        assert create_visit_charges(sweeper) == 0
    finally:
        sweeper.close()
    desk.settle()
    with desk.as_():
        assert {v.appointment_id for v in desk.charges.unbilled_visits(desk.id)} == {before_policy, undiagnosed}
    assert all(desk.k.store.exists(visit_charge_id(v)) for v in visits)
    assert not desk.k.store.exists(visit_charge_id(before_policy))


# --- reading and scope ------------------------------------------------------------------------


def test_lists_filter_and_scope(desk: Desk) -> None:
    desk.price()
    mine = desk.enter(service_date=date(2026, 3, 2))
    theirs = desk.enter(desk.self_pay, service_date=date(2026, 3, 3), clinician_id=desk.other_clinician, payer=None)
    billed = desk.enter(service_date=date(2026, 3, 4))
    with desk.as_():
        desk.charges.bill(desk.id, [billed])
    desk.settle()

    def listed(f: ChargeFilter, **who: Any) -> list[UUID]:
        with desk.as_(**who):
            return [r.charge_id for r in desk.charges.list(desk.id, f).items]

    assert listed(ChargeFilter()) == [billed, theirs, mine]
    assert listed(ChargeFilter(unbilled_only=True)) == [theirs, mine]
    assert listed(ChargeFilter(status="billed")) == [billed]
    assert listed(ChargeFilter(payer="self-pay")) == [theirs]
    assert listed(ChargeFilter(payer="aetna")) == [billed, mine]
    assert listed(ChargeFilter(clinician_id=desk.other_clinician)) == [theirs]
    assert listed(ChargeFilter(first=date(2026, 3, 3), last=date(2026, 3, 3))) == [theirs]
    assert listed(ChargeFilter(client_id=desk.insured)) == [billed, mine]
    first = None
    with desk.as_():
        first = desk.charges.list(desk.id, ChargeFilter(limit=2))
        rest = desk.charges.list(desk.id, ChargeFilter(limit=2, cursor=first.next_cursor))
        with pytest.raises(InvalidCommand):
            desk.charges.list(desk.id, ChargeFilter(cursor="bogus"))
        with pytest.raises(InvalidCommand):
            desk.charges.list(desk.id, ChargeFilter(status="lost"))
    assert [r.charge_id for r in first.items + rest.items] == [billed, theirs, mine] and rest.next_cursor is None

    # A client sees their own charges; a clinician given billing access those of their visits.
    assert listed(ChargeFilter(), member=uuid4(), role="client", clients=frozenset({desk.self_pay})) == [theirs]
    clinician: dict[str, Any] = {"member": desk.other_clinician, "role": "clinician",
                 "permissions": effective_permissions("clinician") | {Permission.VIEW_BILLING}}
    assert listed(ChargeFilter(), **clinician) == [theirs]
    with desk.as_(member=uuid4(), role="client", clients=frozenset({desk.self_pay})), pytest.raises(NotFound):
        desk.charges.get(desk.id, mine)
    with desk.as_(**clinician):
        assert desk.charges.get(desk.id, theirs).id == theirs
        with pytest.raises(NotFound):
            desk.charges.get(desk.id, mine)
    elsewhere = make_desk(desk.k)
    with elsewhere.as_(), pytest.raises(NotFound):
        elsewhere.charges.get(elsewhere.id, mine)
    with elsewhere.as_(), pytest.raises(NotFound):
        elsewhere.charges.void(elsewhere.id, mine, "Not ours")
    assert load(desk, mine).voided is False


def test_reading_a_charge_records_a_phi_read(desk: Desk) -> None:
    from application.clients import Read
    from domain.access.phi_access import PhiAccess

    desk.price()
    charge_id = desk.enter()
    with desk.as_():
        desk.charges.get(desk.id, charge_id, Read(endpoint="test", purpose="payment"))
    reads = [e for _, e in desk.k.store.history(desk.insured) if isinstance(e, PhiAccess.Recorded)]
    assert [(r.endpoint, r.purpose, r.fields) for r in reads] == [("test", "payment", ["diagnosis_codes"])]


def test_a_schedule_of_another_practice_is_never_loaded(desk: Desk) -> None:
    desk.price()
    elsewhere = make_desk(desk.k)
    with elsewhere.as_():
        assert elsewhere.fees.get(elsewhere.id).fees == {}
    with elsewhere.as_(), pytest.raises(NotFound):
        desk.k.store.load(fee_schedule_id(desk.id), FeeSchedule)


def test_change_sets_are_checked(desk: Desk) -> None:
    with desk.as_(desk.admin, "admin"), pytest.raises(InvalidCommand):
        desk.fees.update(desk.id, type_codes=[TypeCodeChange("therapy_session", "90837", ("9",))])
