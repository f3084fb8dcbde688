"""Time-driven work the server (and the worker) runs on a timer: the HIPAA training sweep, the
data-quality flag on visits left open, waitlist offers, the compliance day and charges for
completed visits."""

from __future__ import annotations

import threading

from application import audit
from application.digests import DigestOutcome
from application.identity.members import SweepResult
from domain.scheduling.appointment import Appointment
from interfaces.container import Container
from interfaces.logging import get_logger

log = get_logger("careledger.sweeps")


def sweep_hipaa_training(k: Container) -> SweepResult:
    k.runner("members").catch_up()
    result = k.members.sweep_hipaa_training(k.member_directory.staff_ids())
    if result.reminded or result.lapsed:
        log.info("hipaa_sweep", reminded=len(result.reminded), lapsed=len(result.lapsed))
    return result


def flag_unrecorded_visits(k: Container) -> int:
    """Seed 001 data-quality rule 1: a visit still open 24 hours after it began raises an alert
    event for the front desk (shown on the today board). Returns how many were flagged."""
    k.runner("appointments").catch_up()
    flagged = 0
    for row in k.appointment_book.left_open(k.clock.now() - Appointment.UNRECORDED_AFTER):
        with audit.acting(audit.system("system:sweep", practice_id=row.practice_id)):
            flagged += k.scheduling.flag_unrecorded(row.practice_id, row.appointment_id)
    if flagged:
        log.info("unrecorded_visits_flagged", count=flagged)
        k.runner("appointments").catch_up()
    return flagged


def sweep_waitlists(k: Container) -> int:
    """Lapse waitlist offers whose time is up (their slots go to the next in line) and close
    entries whose window has passed; returns how many entries changed."""
    k.runner("waitlist").catch_up()
    changed = 0
    for practice_id in k.waitlist_view.practices_waiting():
        with audit.acting(audit.system("system:sweep", practice_id=practice_id)):
            result = k.waitlist.sweep(practice_id)
        changed += len(result.expired) + len(result.closed)
    return changed


def start_compliance_days(k: Container) -> int:
    """Start each practice's local day for the compliance engine (day 5, day 90, month end ...
    turn at local midnight); returns how many practices started a new day."""
    k.runner("compliance").catch_up()
    started = k.compliance.start_days().started
    if started:
        log.info("compliance_days_started", practices=len(started))
    return len(started)


def send_digests(k: Container) -> list[DigestOutcome]:
    """Mail the daily digest (and on Mondays the weekly report) to every member whose practice's
    local time is past 07:00 and who has not had it today; each goes out once (application/digests.py)."""
    for name in ("members", "compliance", "attendance_metrics", "appointments", "clinical_notes"):
        k.runner(name).catch_up()
    outcomes = k.digests.run()
    sent = sum(1 for o in outcomes if o.outcome == "sent")
    if sent:
        log.info("digests_sent", count=sent)
    return outcomes


def create_visit_charges(k: Container) -> int:
    """Charge on completion: each recent completed visit of a practice with the policy on gets its
    charge, once (application/billing/charges.py); visits without a known diagnosis, fee or type
    code stay listed as needing a charge. Returns how many charges were created."""
    k.runner("billing_ledger").catch_up()
    created = 0
    for visit in k.charges.visits_awaiting_charge():
        try:
            with audit.acting(audit.system("system:sweep", practice_id=visit.practice_id)):
                outcome = k.charges.charge_visit(visit.practice_id, visit.appointment_id)
        except Exception:  # one visit that cannot be charged must not hold up the others
            log.exception("visit_charge_failed", appointment_id=str(visit.appointment_id))
            continue
        created += outcome.outcome == "created"
    if created:
        log.info("visit_charges_created", count=created)
        k.runner("billing_ledger").catch_up()
    return created


def mark_overdue_invoices(k: Container) -> int:
    """Sent invoices past their due date (in each practice's time zone) with a balance open are
    recorded overdue, once each (application/billing/invoices.py). Returns how many were marked."""
    k.runner("invoices").catch_up()
    with audit.acting(audit.system("system:sweep")):
        marked = k.invoices.mark_overdue_invoices(k.clock.now())
    if marked:
        log.info("invoices_overdue", count=len(marked))
        k.runner("invoices").catch_up()
    return len(marked)


def sweep_periodically(k: Container, stop: threading.Event, interval: float = 3600.0) -> None:
    """Hourly; reminders and lapses are issued once per training cycle, so repeats are harmless."""
    while not stop.is_set():
        try:
            sweep_hipaa_training(k)
        except Exception:
            log.exception("hipaa_sweep_failed")
        for sweep in (flag_unrecorded_visits, sweep_waitlists, start_compliance_days):
            try:
                sweep(k)
            except Exception:
                log.exception("sweep_failed", sweep=sweep.__name__)
        stop.wait(interval)
