"""Runs projections over the event store in batches, exactly once.

Each batch is one transaction on the view's database: take the projection's advisory lock,
read the tracking position, apply the next events, record the new position, commit. Position
and rows therefore always agree, a crash loses at most an uncommitted batch, and any number of
runners (the server's live one, a CLI rebuild) can work on the same projection safely.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from psycopg import sql

from application.ports import EventLog
from application.store import EventStore
from projections.base import View

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"projection:{name}".encode()).digest()[:8], "big", signed=True)


class ProjectionRunner:
    def __init__(self, store: EventStore, projection: Projection[Any], batch_size: int = 500) -> None:
        self.store = store
        self.projection = projection
        self.view: View = projection.view
        self.batch_size = batch_size
        self.source = store.name
        self._topics = frozenset(projection.topics)
        self._lock = _lock_key(projection.name)

    @property
    def name(self) -> str:
        return self.projection.name

    def position(self) -> int:
        return self.view.max_tracking_id(self.source) or 0

    def status(self) -> Status:
        return Status(self.name, self.position(), self.store.recorder.max_notification_id() or 0)

    def run_batch(self) -> int:
        """Apply the next batch; returns how many events it consumed (0 when caught up)."""
        with self.view.datastore.get_connection() as conn, conn.transaction():
            curs = conn.cursor()
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock,))
            position = self.view._max_tracking_id(self.source, curs) or 0
            notifications = self.store.recorder.select_notifications(
                start=position, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return 0
            relevant = [n for n in notifications if n.topic in self._topics]
            if relevant:
                self._prefetch_keys(relevant[0].id, relevant[-1].id)
                events = [
                    (self.store.mapper.to_domain_event(n), Tracking(self.source, n.id)) for n in relevant
                ]
                self.view.bind(curs)
                try:
                    self.view.begin_batch([e for e, _ in events])
                    with conn.pipeline():
                        for event, tracking in events:
                            self.projection.process_event(event, tracking)
                        self.view.flush()
                finally:
                    self.view.bind(None)
            self.view._insert_tracking(curs, Tracking(self.source, notifications[-1].id))
            return len(notifications)

    def _prefetch_keys(self, first: int, last: int) -> None:
        log = cast(EventLog, self.store.recorder)
        self.store.cipher.prefetch(log.select_subjects_between(first, last))

    def catch_up(self, progress: Progress | None = None, stop: threading.Event | None = None) -> int:
        done = 0
        while stop is None or not stop.is_set():
            n = self.run_batch()
            done += n
            if n and progress is not None:
                progress(self.position(), self.store.recorder.max_notification_id() or 0)
            if n < self.batch_size:  # a short batch means the log's end was reached
                break
        return done

    def reset(self) -> None:
        """Drop the read model's rows and its position, atomically (for a rebuild)."""
        with self.view.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock,))
            for table in self.view.tables:
                conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE application_name = %s").format(
                    sql.Identifier(self.view.tracking_table_name)
                ),
                (self.source,),
            )

    def rebuild(self, progress: Progress | None = None) -> int:
        self.reset()
        return self.catch_up(progress)


class LiveProjections:
    """Keeps a set of projections caught up, woken by the event table's NOTIFY.

    Runners named in `separate` get a thread of their own, so a projection with costly batches
    (the compliance engine evaluates rules) does not hold the others back.
    """

    def __init__(
        self, runners: list[ProjectionRunner], conninfo: str, poll: float = 1.0, separate: Collection[str] = ()
    ) -> None:
        self.runners = runners
        self.conninfo = conninfo
        self.poll = poll
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors: dict[int, BaseException] = {}
        shared = [r for r in runners if r.name not in separate]
        self._groups = [g for g in [shared, *([r] for r in runners if r.name in separate)] if g]

    @property
    def error(self) -> BaseException | None:
        """The last failure of any group until that group's next pass succeeds (for /health)."""
        return next(iter(self._errors.values()), None)

    def start(self) -> None:
        for n, group in enumerate(self._groups):
            thread = threading.Thread(target=self._run, args=(n, group), name=f"projections-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def wait(self, interval: float = 1.0) -> None:
        """Block while the threads run (the `projections run` command)."""
        while any(t.is_alive() for t in self._threads):
            for thread in self._threads:
                thread.join(interval)

    def _run(self, n: int, runners: list[ProjectionRunner]) -> None:
        """Supervised: a failing batch is logged and retried after a pause, never silently lost."""
        recorder = runners[0].store.recorder if runners else None
        channel = getattr(recorder, "channel_name", "careledger_events")
        pause = self.poll
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as listen:
                    listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    while not self.stop_event.is_set():
                        for runner in runners:
                            runner.catch_up(stop=self.stop_event)
                        self._errors.pop(n, None)
                        pause = self.poll
                        for _ in listen.notifies(timeout=self.poll, stop_after=1):
                            pass
            except Exception as e:
                self._errors[n] = e
                log.exception("projection pass failed; retrying in %.1fs", pause)
                self.stop_event.wait(pause)
                pause = min(pause * 2, 30.0)
