"""Periodic sweeps the worker runs besides the reminder sweep. Append to PERIODIC_SWEEPS to add one.

A sweep is a function of the container, safe to repeat (each decides on aggregates and records
what it did, so running it twice, or in the server and the worker at once, does no harm). It runs
in the worker's sweep loop under the `system:worker-sweep` audit context, at most once per
`every_seconds`; an exception is logged and the sweep is tried again at its next turn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from interfaces.container import Container
from interfaces.sweeps import (
    create_visit_charges,
    flag_unrecorded_visits,
    mark_overdue_invoices,
    send_digests,
    start_compliance_days,
    sweep_hipaa_training,
    sweep_waitlists,
)


@dataclass(frozen=True)
class PeriodicSweep:
    name: str
    every_seconds: float
    run: Callable[[Container], object]


PERIODIC_SWEEPS: list[PeriodicSweep] = [
    PeriodicSweep("hipaa_training", 3600.0, sweep_hipaa_training),
    PeriodicSweep("unrecorded_attendance", 600.0, flag_unrecorded_visits),
    PeriodicSweep("waitlist_offers", 300.0, sweep_waitlists),
    PeriodicSweep("compliance_day", 300.0, start_compliance_days),
    PeriodicSweep("digests", 300.0, send_digests),
    PeriodicSweep("visit_charges", 300.0, create_visit_charges),
    PeriodicSweep("overdue_invoices", 900.0, mark_overdue_invoices),
]
