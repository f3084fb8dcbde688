"""The one event store of a deployment: an eventsourcing Application with our mapper."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Mapper, Notification, Transcoder
from eventsourcing.utils import EnvType

from application import audit
from application.errors import NotFound
from application.mapper import AuditingMapper, subject_of
from application.ports import EventLog, PhiCipher
from application.transcodings import DateAsISO


def _in_callers_practice(aggregate: Any) -> bool:
    """Practice isolation, in the one place every command and chart read loads through: an
    aggregate of another practice than the caller's does not exist for them."""
    ctx = audit.peek()
    owner = getattr(aggregate, "practice_id", None)
    return ctx is None or ctx.practice_id is None or owner is None or owner == ctx.practice_id


@dataclass(frozen=True)
class Saved:
    id: UUID
    version: int
    position: int


class EventStore(Application[UUID]):
    name = "careledger"  # pinned: fixes the events table name (careledger_events)

    def __init__(
        self, env: EnvType | None = None, *, cipher: PhiCipher, cached_types: tuple[type, ...] = (),
        cache_size: int = 2000,
    ) -> None:
        self.cipher = cipher
        self.cached_types = cached_types
        self.cache_size = cache_size
        self._cache_locks: weakref.WeakValueDictionary[UUID, threading.Lock] = weakref.WeakValueDictionary()
        self._cache_locks_guard = threading.Lock()
        super().__init__(env)

    @cached_property
    def cached_repository(self) -> Repository[UUID]:
        """A cache for long-lived aggregates that hold no PHI (a clinician's schedule, a practice's
        waitlist): each load fetches only the events after the cached version (fast-forward), so
        other processes' writes are seen and the stream is never replayed whole. Aggregates with
        PHI stay uncached: a shredded client's data must not live on in memory."""
        return Repository(event_store=self.events, cache_maxsize=self.cache_size, fastforward=True)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_mapper(self) -> Mapper[UUID]:
        return AuditingMapper(self.construct_transcoder(), cipher=self.cipher)

    def construct_transcoder(self) -> Transcoder:
        transcoder = JSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        audit.current()  # refuse before anything is mapped or written
        recordings = super().save(*objs, **kwargs)
        subjects = [subject_of(r.domain_event) for r in recordings]
        self.cipher.confirm_stored([s for s in subjects if s is not None])
        return recordings

    def save_one(self, aggregate: Aggregate, **kwargs: Any) -> Saved:
        recordings = self.save(aggregate, **kwargs)
        position = max(r.notification.id for r in recordings) if recordings else 0
        return Saved(id=aggregate.id, version=aggregate.version, position=position)

    def _cached_get(self, aggregate_id: UUID) -> Any:
        """The library fast-forwards a cached aggregate under its lock but copies it after
        releasing that lock, so a copy can meet another thread's fast-forward mid-way; one lock
        per aggregate around both keeps them apart."""
        with self._cache_locks_guard:
            lock = self._cache_locks.setdefault(aggregate_id, threading.Lock())
        with lock:
            return self.cached_repository.get(aggregate_id)

    def load(self, aggregate_id: UUID, cls: type[Any]) -> Any:
        try:
            if cls in self.cached_types:
                aggregate: Any = self._cached_get(aggregate_id)
            else:
                aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"No {cls.__name__.lower()} {aggregate_id}.") from None
        if not isinstance(aggregate, cls) or not _in_callers_practice(aggregate):
            raise NotFound(f"No {cls.__name__.lower()} {aggregate_id}.")
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def load_as_of(self, aggregate_id: UUID, as_of: datetime) -> Any:
        """The aggregate folded from its events up to and including `as_of`."""
        aggregate: Any = None
        for domain_event in self.events.get(aggregate_id):
            event = cast(Any, domain_event)
            if event.timestamp > as_of:
                break
            aggregate = event.mutate(aggregate)
        return aggregate if aggregate is None or _in_callers_practice(aggregate) else None

    def history(self, subject_id: UUID, topics: Sequence[str] = ()) -> Iterator[tuple[int, Any]]:
        log = cast(EventLog, self.recorder)
        for notification in log.select_subject_notifications(subject_id, topics=topics):
            yield notification.id, self.mapper.to_domain_event(notification)

    def decode(self, notification: Notification) -> Any:
        return self.mapper.to_domain_event(notification)
