"""Time-driven work the server (and the worker) runs on a timer: the HIPAA training sweep."""

from __future__ import annotations

import threading

from application.identity.members import SweepResult
from interfaces.container import Container
from interfaces.logging import get_logger

log = get_logger("careledger.sweeps")


def sweep_hipaa_training(k: Container) -> SweepResult:
    k.runner("members").catch_up()
    result = k.members.sweep_hipaa_training(k.member_directory.staff_ids())
    if result.reminded or result.lapsed:
        log.info("hipaa_sweep", reminded=len(result.reminded), lapsed=len(result.lapsed))
    return result


def sweep_periodically(k: Container, stop: threading.Event, interval: float = 3600.0) -> None:
    """Hourly; reminders and lapses are issued once per training cycle, so repeats are harmless."""
    while not stop.is_set():
        try:
            sweep_hipaa_training(k)
        except Exception:
            log.exception("hipaa_sweep_failed")
        stop.wait(interval)
