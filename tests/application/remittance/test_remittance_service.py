"""RemittanceService against the real event store and ledger: uploads that are idempotent, postings
to the cent, a reversal in a later file, re-runs under another rules version that post only the
difference, the review queue and its resolve command, and a check posted from two files."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application import audit
from application.errors import Forbidden, NotFound
from application.remittance import UnreadableRemittance
from domain.billing.charge import Charge
from domain.billing.payment import Payment
from domain.errors import IllegalTransition, InvalidCommand
from domain.remittance.remittance import Remittance
from tests.application.remittance.support import Office, claim, era, line, make_office
from tests.support import acting_as

D = Decimal
MARCH_2, MARCH_3, MARCH_9 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 9)


@pytest.fixture
def office(container: Any, tmp_path: Path) -> Office:
    o = make_office(container, tmp_path)
    able = o.client("Bill", "Able", "W1")
    bell = o.client("Cara", "Bell", "W2")
    o.billed = {
        "able1": o.charge(able, MARCH_2, "90837", "150.00", "CLM1", "L1"),
        "bell1": o.charge(bell, MARCH_3, "90834", "120.00", "CLM2", "L2"),
        "able2": o.charge(able, MARCH_9, "90837", "150.00", "CLM3", "L3"),
    }
    return o


def charges(o: Office) -> dict[str, UUID]:
    return o.billed


def ledger(o: Office, name: str) -> tuple[Decimal, Decimal, Decimal]:
    c: Charge = o.load(charges(o)[name], Charge)
    return c.paid, c.adjusted, c.balance


ABLE_PAID = claim("CLM1", "1", "150", "100", "20", "ICN1", "ABLE", "BILL", "W1",
                  *line("90837", "150", "100", "20260302", "L1", "CAS*CO*45*30", "CAS*PR*2*20"))
BELL_PAID = claim("CLM2", "1", "120", "80", "15", "ICN2", "BELL", "CARA", "W2",
                  *line("90834", "120", "80", "20260303", "L2", "CAS*CO*45*25", "CAS*PR*3*15", "LQ*HE*N130"))


def test_posting_a_file_moves_money_to_the_cent(office: Office) -> None:
    report = office.import_(era(ABLE_PAID, BELL_PAID))

    assert report.created and report.claims == 2 and report.unmatched == 0
    assert report.matched_by_level == {"1": 2, "2": 0, "3": 0, "4": 0, "manual": 0}
    assert report.auto_match_rate == D("1.0000") and report.balanced and report.findings == ()
    assert report.postings_written == 4  # two payments and the two CO-45 write-downs; PR stays the balance
    t = report.totals
    assert (t.charged, t.paid, t.adjusted, t.patient_responsibility, t.payment) == (
        D("270.00"), D("180.00"), D("90.00"), D("35.00"), D("180.00"))
    assert (t.posted_payments, t.posted_adjustments) == (D("180.00"), D("55.00"))

    assert ledger(office, "able1") == (D("100.00"), D("30.00"), D("20.00"))
    assert ledger(office, "bell1") == (D("80.00"), D("25.00"), D("15.00"))
    assert ledger(office, "able2") == (D("0.00"), D("0.00"), D("150.00"))
    bell: Charge = office.load(charges(office)["bell1"], Charge)
    adjustment = next(e for e in bell.entries.values() if e.kind == "adjustment")
    assert (adjustment.group, adjustment.reason_code, adjustment.source) == ("CO", "45", "remittance")
    assert all(e.entry_id.startswith(f"era:{report.remittance_id}:") for e in bell.entries.values())

    [ts] = report.transaction_sets
    assert ts.posting == "recorded" and ts.trace == "TRC0001"
    remittance: Remittance = office.load(report.remittance_id, Remittance)
    [payment_id] = remittance.payment_ids
    payment: Payment = office.load(payment_id, Payment)
    assert (payment.method, payment.source, payment.amount, payment.payer, payment.reference, payment.received_on) == (
        "insurance", "remittance", D("180.00"), "ACME HEALTH", "TRC0001", date(2026, 3, 15))

    row = office.k.billing_ledger.charge(office.id, charges(office)["able1"])
    assert (row.paid, row.adjusted, row.balance, row.status) == (D("100.00"), D("30.00"), D("20.00"), "partially_paid")


def test_uploading_the_same_bytes_again_changes_nothing(office: Office) -> None:
    data = era(ABLE_PAID, BELL_PAID)
    first = office.import_(data, "first.835")
    events, head = office.events(first.remittance_id), office.head()

    again = office.import_(data, "renamed.835")

    assert (again.remittance_id, again.created, again.postings_written) == (first.remittance_id, False, 0)
    assert office.events(first.remittance_id) == events
    assert office.head() == head  # no event anywhere: no payment, no posting, no new run
    assert again.filename == "first.835"
    assert ledger(office, "able1") == (D("100.00"), D("30.00"), D("20.00"))


def test_an_unreadable_file_is_refused_and_nothing_is_stored(office: Office) -> None:
    head = office.head()
    for junk in (b"%PDF-1.7 not an 835", b"ISA*00*~GS*HC~ST*837*0001~SE*2*0001~", b""):
        with office.clerk(), pytest.raises(UnreadableRemittance) as refused:
            office.service.upload(office.id, "claims.txt", junk)
        assert refused.value.code == "era_unreadable" and "claims.txt" in refused.value.message
    assert office.head() == head
    assert not any(office.objects.rglob("*.835"))


def test_a_reversal_in_a_later_file_undoes_the_earlier_posting(office: Office) -> None:
    office.import_(era(ABLE_PAID, trace="EFT1"))
    assert ledger(office, "able1") == (D("100.00"), D("30.00"), D("20.00"))

    reversal = claim("CLM1", "22", "-150", "-100", "0", "ICN1", "ABLE", "BILL", "W1",
                     *line("90837", "-150", "-100", "20260302", "L1", "CAS*CO*45*-30", "CAS*PR*2*-20"))
    correction = claim("CLM1", "1", "150", "110", "20", "ICN9", "ABLE", "BILL", "W1",
                       *line("90837", "150", "110", "20260302", "L1", "CAS*CO*45*20", "CAS*PR*2*20"))
    report = office.import_(era(reversal, correction, trace="EFT2", control=2))

    assert report.matched_by_level["1"] == 2 and report.reversals == 1
    paid, adjusted, balance = ledger(office, "able1")
    assert (paid, adjusted, balance) == (D("110.00"), D("20.00"), D("20.00"))
    c: Charge = office.load(charges(office)["able1"], Charge)
    amounts = sorted(e.amount for e in c.entries.values() if e.kind == "payment")
    assert amounts == [D("-100.00"), D("100.00"), D("110.00")]


def test_rerunning_under_another_rules_version_posts_only_the_difference(office: Office) -> None:
    # CLP01 mangled and no REF*6R: only the client, procedure and amount tie it to CLM2's charge of
    # March 3, ten days before the date the payer gives. Version 1 looks a week around, version 2 two.
    late = claim("XX-0002", "1", "120", "80", "15", "ICN2", "BELL", "CARA", "W2",
                 *line("90834", "120", "80", "20260313", "", "CAS*CO*45*25", "CAS*PR*3*15"))
    first = office.import_(era(ABLE_PAID, late), rules_version=1)
    assert (first.rules_version, first.matched_by_level["1"], first.unmatched) == (1, 1, 1)
    assert ledger(office, "bell1") == (D("0.00"), D("0.00"), D("120.00"))
    able_events, bell_events = office.events(charges(office)["able1"]), office.events(charges(office)["bell1"])

    with office.clerk():
        second = office.service.process(office.id, first.remittance_id, rules_version=2)

    assert (second.run, second.rules_version, second.matched_by_level["3"], second.unmatched) == (2, 2, 1, 0)
    assert second.postings_written == 2
    assert office.events(charges(office)["able1"]) == able_events
    assert office.events(charges(office)["bell1"]) == bell_events + 2
    assert ledger(office, "bell1") == (D("80.00"), D("25.00"), D("15.00"))
    head = office.head()
    with office.clerk():
        third = office.service.process(office.id, first.remittance_id)
    assert (third.run, third.rules_version, third.postings_written, office.head()) == (2, 2, 0, head)


def test_the_review_queue_and_resolving_a_claim_posts_that_claim_only(office: Office) -> None:
    stranger = claim("ZZ9", "1", "150", "90", "0", "ICN7", "NOBODY", "NEMO", "Q1",
                     *line("90837", "150", "90", "20260309", "", "CAS*CO*45*60"))
    misrouted = claim("ZZ8", "1", "80", "40", "0", "ICN8", "NOBODY", "NORA", "Q2",
                      *line("90853", "80", "40", "20260309", "", "CAS*CO*45*40"))
    report = office.import_(era(ABLE_PAID, stranger, misrouted))
    assert (report.unmatched, report.status) == (2, "needs_review")
    with office.clerk():
        queue = office.service.review_queue(office.id)
    assert [(i.claim.claim_number, i.claim.status) for i in queue] == [("ZZ9", "review"), ("ZZ8", "review")]
    key_stranger, key_misrouted = queue[0].claim.claim_key, queue[1].claim.claim_key
    able_events = office.events(charges(office)["able1"])

    with office.clerk():
        resolved = office.service.resolve(office.id, report.remittance_id, key_stranger, [charges(office)["able2"]])

    assert (resolved.matched_by_level["manual"], resolved.unmatched, resolved.postings_written) == (1, 1, 2)
    assert ledger(office, "able2") == (D("90.00"), D("60.00"), D("0.00"))
    assert office.events(charges(office)["able1"]) == able_events
    office.settle()
    with office.clerk():
        assert [i.claim.claim_key for i in office.service.review_queue(office.id)] == [key_misrouted]
        dismissed = office.service.resolve(office.id, report.remittance_id, key_misrouted, [])
        outcomes = {c.claim_key: c for c in office.service.claims(office.id, report.remittance_id)}
    assert (dismissed.unmatched, dismissed.status, dismissed.postings_written) == (0, "processed", 0)
    assert (outcomes[key_stranger].status, outcomes[key_stranger].posted) == ("resolved", D("90.00"))
    assert (outcomes[key_misrouted].status, outcomes[key_misrouted].level) == ("dismissed", "manual")

    with office.clerk():
        with pytest.raises(IllegalTransition):  # its money is on the charge: the payer's reversal undoes it
            office.service.resolve(office.id, report.remittance_id, key_stranger, [charges(office)["able1"]])
        with pytest.raises(InvalidCommand):
            office.service.resolve(office.id, report.remittance_id, "no/such/0/0", [])
        with pytest.raises(NotFound):
            office.service.resolve(office.id, report.remittance_id, key_misrouted, [UUID(int=7)])


def test_a_check_posted_from_another_file_is_a_duplicate_and_posts_nothing(office: Office) -> None:
    first = office.import_(era(ABLE_PAID, trace="CHK100"))
    head = office.head()

    # The same check resent in a file of its own (another interchange number, another claim).
    second = office.import_(era(BELL_PAID, trace="CHK100", control=77), "resent.835")

    assert second.remittance_id != first.remittance_id
    assert [(d.trace, d.payer_id, d.other_remittance_id) for d in second.duplicates] == [
        ("CHK100", "99999", first.remittance_id)]
    assert second.transaction_sets[0].posting == "duplicate" and second.postings_written == 0
    assert ledger(office, "bell1") == (D("0.00"), D("0.00"), D("120.00"))
    with office.k.pool.connection() as conn:
        topics = [r[0] for r in conn.execute(
            "SELECT topic FROM careledger_events WHERE notification_id > %s ORDER BY notification_id", (head,))]
    assert topics == ["careledger/remittance/uploaded", "careledger/remittance/read",
                      "careledger/remittance/matched", "careledger/remittance/duplicate-payment-found"]


def test_another_practice_and_people_without_billing_reach_nothing(office: Office, container: Any,
                                                                   tmp_path: Path) -> None:
    report = office.import_(era(ABLE_PAID))
    other = make_office(container, tmp_path / "other")
    with other.clerk(), pytest.raises(NotFound):
        other.service.report(other.id, report.remittance_id)
    with other.clerk(), pytest.raises(NotFound):
        other.service.process(other.id, report.remittance_id)
    ctx = audit.AuditContext(actor_id="c", actor_role="clinician", practice_id=office.id)
    with acting_as(ctx), pytest.raises(Forbidden):
        office.service.report(office.id, report.remittance_id)


def test_two_runs_racing_on_one_file_post_everything_once(office: Office) -> None:
    office.service.batch_size = 1  # a transaction per charge: the runs interleave
    with office.clerk():
        remittance, _ = office.service.upload(office.id, "race.835", era(ABLE_PAID, BELL_PAID))
    office.settle()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with office.clerk():
                office.service.process(office.id, remittance.id)
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    assert ledger(office, "able1") == (D("100.00"), D("30.00"), D("20.00"))
    assert ledger(office, "bell1") == (D("80.00"), D("25.00"), D("15.00"))
    done: Remittance = office.load(remittance.id, Remittance)
    assert (done.run, len(done.posted), len(done.payment_ids)) == (1, 4, 1)
