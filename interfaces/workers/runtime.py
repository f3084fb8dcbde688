"""`careledger worker`: a dramatiq Worker in this process plus the sweep loop that feeds it.

Every `sweep_seconds` the loop brings the reminder read model up to date, enqueues each reminder
due now (once per lease: the read model shows a claimed reminder as due again only when its lease
has run out) and runs the PERIODIC_SWEEPS whose turn it is. Nothing is lost when the process dies:
a queued message that is never processed, or one processed by a killed worker, leaves its reminder
due in the read model, and the next sweep enqueues it again. Duplicated messages are harmless: the
Reminder aggregate lets one delivery through.

SIGTERM or SIGINT stops the loop, lets running jobs finish (up to `grace_seconds`), then exits.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from types import FrameType
from uuid import UUID

import dramatiq

from application import audit
from interfaces.container import Container
from interfaces.logging import get_logger
from interfaces.workers.actors import Actors, declare_actors
from interfaces.workers.broker import redis_broker
from interfaces.workers.periodic import PERIODIC_SWEEPS, PeriodicSweep

log = get_logger("careledger.worker")
SWEEP_ACTOR = "system:worker-sweep"


class WorkerRuntime:
    def __init__(
        self,
        k: Container,
        broker: dramatiq.Broker,
        threads: int = 4,
        sweep_seconds: float = 5.0,
        sweeps: Sequence[PeriodicSweep] | None = None,
        grace_seconds: float = 30.0,
    ) -> None:
        self.k = k
        self.broker = broker
        self.threads = threads
        self.sweep_seconds = sweep_seconds
        self.sweeps = list(PERIODIC_SWEEPS if sweeps is None else sweeps)
        self.grace_seconds = grace_seconds
        self.actors: Actors = declare_actors(broker, k)
        self.stop_event = threading.Event()
        self._enqueued: dict[UUID, float] = {}
        self._last_run: dict[str, float] = {}
        self.thread: threading.Thread | None = None

    def sweep_reminders(self) -> int:
        """Enqueue the reminders due now; returns how many were enqueued."""
        self.k.runner("reminder_schedule").catch_up()
        now = time.monotonic()
        horizon = self.k.reminders.lease.total_seconds()
        self._enqueued = {rid: at for rid, at in self._enqueued.items() if now - at < horizon}
        enqueued = 0
        for key in self.k.reminders.sweep():
            if key.id in self._enqueued:
                continue
            self.actors.enqueue_reminder(key)
            self._enqueued[key.id] = now
            enqueued += 1
        if enqueued:
            log.info("reminder_sweep", enqueued=enqueued)
        return enqueued

    def run_periodic(self) -> None:
        now = time.monotonic()
        for sweep in self.sweeps:
            last = self._last_run.get(sweep.name)
            if last is not None and now - last < sweep.every_seconds:
                continue
            self._last_run[sweep.name] = now
            try:
                with audit.acting(audit.system(SWEEP_ACTOR)):
                    sweep.run(self.k)
            except Exception:
                log.exception("sweep_failed", sweep=sweep.name)

    def tick(self) -> None:
        try:
            self.sweep_reminders()
        except Exception:
            log.exception("sweep_failed", sweep="reminders")
        self.run_periodic()

    def run(self) -> None:
        worker = dramatiq.Worker(self.broker, worker_threads=self.threads, worker_timeout=250)
        worker.start()
        log.info("worker_started", threads=self.threads, sweep_seconds=self.sweep_seconds)
        try:
            while not self.stop_event.is_set():
                self.tick()
                self.stop_event.wait(self.sweep_seconds)
        finally:
            worker.stop(timeout=int(self.grace_seconds * 1000))
            self.broker.close()
            log.info("worker_stopped")

    def stop(self, *_: object) -> None:
        self.stop_event.set()

    def stop_and_join(self) -> None:
        self.stop()
        if self.thread is not None:
            self.thread.join(self.grace_seconds + 5)


def run_worker(k: Container, threads: int = 4, sweep_seconds: float = 5.0) -> None:
    """Run until SIGTERM or SIGINT (from the main thread)."""
    runtime = WorkerRuntime(k, redis_broker(k.settings.redis_address, namespace=k.settings.redis_prefix),
                            threads=threads, sweep_seconds=sweep_seconds)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        runtime.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runtime.run()


def start_in_background(k: Container, threads: int = 2, sweep_seconds: float = 5.0) -> WorkerRuntime:
    """The worker on a daemon thread of this process (`careledger run`: one process for dev)."""
    runtime = WorkerRuntime(k, redis_broker(k.settings.redis_address, namespace=k.settings.redis_prefix),
                            threads=threads, sweep_seconds=sweep_seconds)
    runtime.thread = threading.Thread(target=runtime.run, name="worker", daemon=True)
    runtime.thread.start()
    return runtime
