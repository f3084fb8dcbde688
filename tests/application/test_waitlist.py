"""The waitlist service against the real event store: who gets a freed slot, what is recorded,
and what happens when two slots free up at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import psycopg
import pytest
from eventsourcing.persistence import RecordConflictError

from adapters.clock import FrozenClock
from application import access, audit
from application.errors import NotFound
from application.scheduling.waitlist import ClientNotActive, WaitlistService
from application.store import EventStore
from domain.errors import InvalidCommand
from domain.identity.permissions import Scope, effective_permissions
from domain.scheduling.waitlist import Waitlist, waitlist_id_for
from tests.support import open_practice, staff_member

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 2, 14, tzinfo=UTC)  # Monday, 09:00 in New York
THERAPY = "therapy_session"


@dataclass
class Practice:
    id: UUID
    service: WaitlistService
    clock: FrozenClock
    dr_a: UUID
    dr_b: UUID

    def system(self) -> Any:
        return audit.acting(audit.system("system:test", practice_id=self.id))


@pytest.fixture
def practice(container: Any) -> Practice:
    slug = f"wait-{uuid4().hex[:8]}"
    with audit.acting(audit.system("system:test")):
        pid = open_practice(container, "Waitlist Practice", slug, "America/New_York")
    with audit.acting(audit.system("system:test", practice_id=pid)):
        dr_a = staff_member(container, pid, f"a@{slug}.test")
        dr_b = staff_member(container, pid, f"b@{slug}.test")
    clock = FrozenClock(NOW)
    return Practice(pid, WaitlistService(container.store, clock, container.waitlist_view), clock, dr_a, dr_b)


def client(k: Any, p: Practice, name: str = "Wanda") -> UUID:
    with p.system():
        saved = k.clients.register(p.id, "basic", {"first_name": name, "last_name": "Waiter",
                                                   "date_of_birth": date(1985, 5, 5)})
    return UUID(str(saved.id))


def join(p: Practice, client_id: UUID, **criteria: Any) -> UUID:
    criteria.setdefault("earliest_date", date(2026, 3, 1))
    criteria.setdefault("latest_date", date(2026, 3, 31))
    with p.system():
        return p.service.join(p.id, client_id, **criteria).id


def slot(day: int, hour: int = 10) -> tuple[datetime, datetime]:
    start = datetime(2026, 3, day, hour, tzinfo=NY)
    return start, start + timedelta(minutes=53)


def offer(p: Practice, clinician: UUID, day: int, hour: int = 10) -> UUID | None:
    with p.system():
        return p.service.offer_freed_slot(p.id, clinician, THERAPY, *slot(day, hour))


def waitlist_events(k: Any, p: Practice) -> list[Any]:
    return list(k.store.events.get(waitlist_id_for(p.id)))


def rows(k: Any, p: Practice) -> dict[UUID, Any]:
    k.runner("waitlist").catch_up()
    return {r.entry_id: r for r in k.waitlist_view.list(p.id)}


def test_the_offer_is_recorded_on_the_first_matching_entry_only(container: Any, practice: Practice) -> None:
    p = practice
    c_b, c_first, c_second = client(container, p), client(container, p), client(container, p)
    wants_b = join(p, c_b, clinician_id=p.dr_b)
    first = join(p, c_first, clinician_id=p.dr_a, appointment_type=THERAPY, weekdays=[1],
                 earliest_time=time(9), latest_time=time(12))
    second = join(p, c_second)

    assert offer(p, p.dr_a, 10) == first  # Tuesday 10 March, 10:00
    offered = [e for e in waitlist_events(container, p) if isinstance(e, Waitlist.Offered)]
    assert [(e.entry_id, e.client_id) for e in offered] == [(first, c_first)]
    assert offered[0].starts_at == slot(10)[0].astimezone(UTC)
    assert offered[0].expires_at == NOW + timedelta(hours=24)

    # The offer is part of the first client's history (the subject index), not of the others'.
    def topics(client_id: UUID) -> list[str]:
        return [type(e).TOPIC for _, e in container.store.history(client_id)]

    assert topics(c_first).count(Waitlist.Offered.TOPIC) == 1
    assert Waitlist.Offered.TOPIC not in topics(c_second) + topics(c_b)
    assert topics(c_second).count(Waitlist.Joined.TOPIC) == 1
    envelope: Any = getattr(offered[0], "audit")  # noqa: B009 - set by the mapper
    assert envelope["actor_id"] == "system:test" and envelope["subject_id"] == str(c_first)

    listed = rows(container, p)
    assert [listed[i].status for i in (wants_b, first, second)] == ["waiting", "offered", "waiting"]
    assert listed[first].offer is not None and listed[first].offer.starts_at == slot(10)[0]
    assert listed[first].weekdays == [1] and listed[first].earliest_time == time(9)


def test_nobody_matching_records_nothing(container: Any, practice: Practice) -> None:
    p = practice
    assert offer(p, p.dr_a, 10) is None  # no waitlist yet
    join(p, client(container, p), clinician_id=p.dr_b)
    before = len(waitlist_events(container, p))
    assert offer(p, p.dr_a, 10) is None
    assert len(waitlist_events(container, p)) == before


def test_a_declined_slot_goes_to_the_next_entry_and_the_decliner_keeps_its_place(
    container: Any, practice: Practice
) -> None:
    p = practice
    first, second = join(p, client(container, p)), join(p, client(container, p))
    assert offer(p, p.dr_a, 10) == first
    with p.system():
        declined = p.service.decline(p.id, first)
    assert declined.offered_to == second
    assert offer(p, p.dr_a, 11) == first  # still first in line for another slot
    listed = rows(container, p)
    assert listed[first].status == "offered" and listed[second].status == "offered"
    assert listed[first].offer is not None and listed[first].offer.starts_at == slot(11)[0]
    assert listed[first].last_offer_outcome == "declined"


def test_lapsed_offers_expire_and_the_sweep_passes_their_slots_on(container: Any, practice: Practice) -> None:
    p = practice
    first, second = join(p, client(container, p)), join(p, client(container, p))
    short = join(p, client(container, p), earliest_date=date(2026, 3, 2), latest_date=date(2026, 3, 3))
    assert offer(p, p.dr_a, 10) == first
    p.clock.advance(timedelta(hours=25))
    with p.system():
        swept = p.service.sweep(p.id)
    assert swept.expired == [first] and swept.reoffered == [second]
    assert swept.closed == []
    p.clock.advance(timedelta(hours=15))  # 01:00 on Wednesday 4 March: the short window has passed
    with p.system():
        assert p.service.sweep(p.id).closed == [short]
    listed = rows(container, p)
    assert listed[first].status == "waiting" and listed[first].last_offer_outcome == "expired"
    assert listed[second].status == "offered"
    assert listed[short].status == "left" and listed[short].left_reason == "window_passed"


def test_accepting_and_leaving(container: Any, practice: Practice) -> None:
    p = practice
    first, second, third = (join(p, client(container, p)) for _ in range(3))
    assert offer(p, p.dr_a, 10) == first
    appointment = uuid4()
    with p.system():
        p.service.accept(p.id, first, appointment)
        assert offer(p, p.dr_a, 11) == second
        left = p.service.leave(p.id, second, "booked_elsewhere")
    assert left.offered_to == third  # the slot second held goes on
    listed = rows(container, p)
    assert listed[first].status == "booked" and listed[first].appointment_id == appointment
    assert listed[first].offer is not None  # the booked slot stays visible
    assert listed[second].status == "left" and listed[second].left_reason == "booked_elsewhere"
    assert listed[second].offer is None
    assert listed[third].status == "offered"


def test_joining_checks_the_client_the_clinician_and_the_type(container: Any, practice: Practice) -> None:
    p = practice
    with pytest.raises(NotFound):
        join(p, uuid4())
    c = client(container, p)
    with pytest.raises(NotFound):
        join(p, c, clinician_id=uuid4())
    with pytest.raises(InvalidCommand):
        join(p, c, appointment_type="astrology")
    with p.system():
        container.clients.change_status(p.id, c, "discharged", "treatment_complete", None)
    with pytest.raises(ClientNotActive):
        join(p, c)


def test_a_clinician_joins_only_clients_in_their_caseload(container: Any, practice: Practice) -> None:
    p = practice
    mine, theirs = client(container, p), client(container, p)
    with p.system():
        container.clients.assign(p.id, mine, p.dr_a, "clinician")
    ctx = audit.AuditContext(actor_id=str(p.dr_a), actor_role="clinician", practice_id=p.id)
    grant = access.Grant(
        user_id=uuid4(), member_id=p.dr_a, session_id=uuid4(), practice_id=p.id, role="clinician",
        permissions=effective_permissions("clinician"), scope=Scope.CASELOAD, team_ids=frozenset({p.dr_a}),
    )
    first, last = date(2026, 3, 1), date(2026, 3, 31)
    with audit.acting(ctx), access.granted(grant):
        p.service.join(p.id, mine, earliest_date=first, latest_date=last)
        with pytest.raises(access.OutsideCaseload):
            p.service.join(p.id, theirs, earliest_date=first, latest_date=last)


def test_the_read_model_rebuilds_to_the_same_rows(container: Any, practice: Practice) -> None:
    p = practice
    first, _ = join(p, client(container, p)), join(p, client(container, p))
    offer(p, p.dr_a, 10)
    with p.system():
        p.service.decline(p.id, first)
    container.runner("waitlist").catch_up()

    def snapshot() -> list[tuple[Any, ...]]:
        with psycopg.connect(container.database_url) as conn:
            return conn.execute(
                "SELECT * FROM waitlist_entries WHERE practice_id = %s ORDER BY seq", (p.id,)
            ).fetchall()

    before = snapshot()
    assert len(before) == 2
    container.runner("waitlist").rebuild()
    assert snapshot() == before


class RacingStore(EventStore):
    """The real store, with a meeting point: each thread's first load of a waitlist waits until
    every racer has loaded, so all of them decide on the same version."""

    name = "careledger"

    def __init__(self, *args: Any, racers: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.barrier = threading.Barrier(racers, timeout=30)
        self.waited = threading.local()
        self.conflicts = 0
        self.lock = threading.Lock()

    def load(self, aggregate_id: UUID, cls: type[Any]) -> Any:
        aggregate = super().load(aggregate_id, cls)
        if cls is Waitlist and not getattr(self.waited, "done", False):
            self.waited.done = True
            self.barrier.wait()
        return aggregate

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        try:
            return super().save(*objs, **kwargs)
        except RecordConflictError:
            with self.lock:
                self.conflicts += 1
            raise


def test_two_slots_freed_at_once_go_to_two_entries(container: Any, practice: Practice) -> None:
    p = practice
    first, second = join(p, client(container, p)), join(p, client(container, p))
    store = RacingStore(container.env, cipher=container.keystore, racers=2)
    service = WaitlistService(store, p.clock)
    try:
        def free(day: int) -> UUID | None:
            with p.system():
                return service.offer_freed_slot(p.id, p.dr_a, THERAPY, *slot(day))

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(free, [10, 11]))
    finally:
        store.close()
    assert sorted(results, key=str) == sorted([first, second], key=str)
    assert store.conflicts == 1  # the race really happened, and the loser decided again
    offered = [e for e in waitlist_events(container, p) if isinstance(e, Waitlist.Offered)]
    assert sorted(e.entry_id for e in offered) == sorted([first, second])
