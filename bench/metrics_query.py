"""Metrics query: attendance metrics of one clinician for a week or a month, over a log of
1,000,000 appointment events.

A practice's history is generated through the application's EventStore with the domain
aggregates (many aggregates per `store.save`): one practice in America/New_York, 60 clinicians
(prescribers on 20-30 minute visits, full- and part-time therapists on 53-60 minute sessions),
each with weekly hours and a lunch break, yearly holidays and three weeks' vacation a year
(`ClinicianSchedule`), and a caseload of clients (`Client`, with PHI) seen weekly to every two
months, new ones starting with an initial evaluation and some discharged after each visit.
Appointments are booked days to weeks ahead, confirmed, checked in and completed, or they end as
no-shows, cancellations (early or late, by the client or the practice; early ones are often
refilled from the waitlist) or reschedules (to a replacement a week or more later), and a few
completions are recorded only after the unrecorded-attendance alert. Events reach the store in the
order of their domain times, as a practice would have written them, and the history ends now:
visits of the coming four weeks are booked but still open.

The span is chosen (by simulating the same seeded history without saving it) so that the
appointment events reach `--events` by today; the stored count is checked with SQL.

Then the `attendance_metrics` projection is brought up to date (`runner.catch_up()`, batches of
500: its rebuild rate), and the query is measured in process (`container.attendance_metrics.report`)
and over HTTP (`GET /api/v1/metrics/clinicians/{id}?period=week|month&start=...` against
`careledger serve`, an admin signed in with `POST /api/v1/auth/login`), for random clinicians and
ISO weeks (3 in 4) or months of the history. The server runs with `--no-projections`: the other
projections would otherwise spend the measurement catching up with the whole log (in a deployment
they are up to date and idle). `--all-projections` catches every projection up and seals the audit
chain first (timed, each: where a large log's time goes) and serves with live projections.

Generation takes minutes, so the database can be kept (`--keep`, with its dev keys under
var/bench/<database>/) and measured again later (`--reuse URL`, with `--rebuild` to time the
projection's rebuild again).

Usage: .venv/bin/python bench/metrics_query.py [--events 1000000] [--clinicians 60]
       [--queries 2000] [--concurrency 1 8] [--all-projections] [--keep | --reuse URL]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

import psutil
from _common import (
    ROOT,
    VENV_BIN,
    RssSampler,
    careledger_env,
    create_database,
    dbname_of,
    drop_database,
    exit_on_sigterm,
    free_port,
    get_json,
    log,
    machine,
    markdown_table,
    mib,
    note_load,
    running,
    use_careledger_env,
    wait_http,
    write_results,
)
from booking import Request, drive, new_window, percentile, sign_in
from http_register import SERVER_LIMITS
from rebuild import demographics

if TYPE_CHECKING:
    from interfaces.container import Container

SLUG = "bench"
ZONE = "America/New_York"
ADMIN = f"admin@{SLUG}.careledger.test"
PASSWORD = "Bench-Password-2026!"  # noqa: S105 - a throw-away account
KEPT = ROOT / "var" / "bench"
HORIZON = 28  # days: visits are booked at most this far ahead
HOLIDAYS = ((1, 1), (7, 4), (12, 24), (12, 25), (12, 31))
APPOINTMENT_TOPICS = "careledger/appointment/%"
DURATION = {"initial_evaluation": 60, "follow_up": 30, "medication_management": 20, "therapy_session": 53,
            "family": 60, "group": 90}
BUFFER = timedelta(minutes=10)  # every built-in type's buffer after


def hm(text: str) -> clock:
    return clock.fromisoformat(text)


@dataclass(frozen=True)
class Profile:
    name: str
    weight: float
    hours: dict[int, tuple[tuple[clock, clock], ...]]  # weekday -> working intervals, lunch excluded
    kinds: tuple[tuple[str, float], ...]  # returning clients' visit types
    every: tuple[tuple[int, float], ...]  # days between a client's visits
    discharge: float  # chance a client leaves after a completed visit
    telehealth: float


def _days(days: range | tuple[int, ...], *spans: tuple[str, str]) -> dict[int, tuple[tuple[clock, clock], ...]]:
    return {d: tuple((hm(a), hm(b)) for a, b in spans) for d in days}


PROFILES = (
    Profile("prescriber", 0.4, _days(range(5), ("08:00", "12:00"), ("13:00", "17:00")),
            (("medication_management", 0.7), ("follow_up", 0.3)), ((28, 0.5), (42, 0.3), (56, 0.2)), 0.03, 0.2),
    Profile("therapist", 0.4, {**_days(range(4), ("09:00", "12:00"), ("13:00", "18:00")),
                               **_days((4,), ("09:00", "13:00"))},
            (("therapy_session", 0.82), ("family", 0.1), ("follow_up", 0.05), ("group", 0.03)),
            ((7, 0.5), (14, 0.35), (28, 0.15)), 0.05, 0.35),
    Profile("part_time_therapist", 0.2, _days((0, 1, 3), ("09:00", "12:00"), ("13:00", "17:00")),
            (("therapy_session", 0.9), ("family", 0.1)), ((7, 0.5), (14, 0.5)), 0.05, 0.5),
)


def pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


# --- the simulated history -----------------------------------------------------------------------


@dataclass(eq=False)
class Visit:
    clinician: int
    client: int
    kind: str
    modality: str
    start: datetime  # UTC
    end: datetime
    booked_at: datetime
    rescheduled: bool = False  # booked by rescheduling another visit
    agg: Any = None
    pending: int = 0


class Action(NamedTuple):
    """A step of a visit's life, due at `at` (a heap entry: ordered by time, then by creation)."""

    at: datetime
    seq: int
    op: str
    visit: Visit
    other: Visit | None = None
    by: str = "client"


# appointment events each operation writes
EVENTS = {"book": 1, "confirm": 1, "check_in": 1, "complete": 1, "no_show": 1, "cancel": 1, "reschedule": 2,
          "flag": 1}


class History:
    """A seeded practice history. Every random choice is made here, never by a sink, so counting
    the events (to choose the span) and saving them give exactly the same history."""

    def __init__(self, seed: int, clinicians: int, first_day: date, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.tz = ZoneInfo(ZONE)
        self.now = now
        self.today = now.astimezone(self.tz).date()
        self.first_day = first_day
        rng = self.rng
        self.profiles = [pick(rng, tuple((p, p.weight) for p in PROFILES)) for _ in range(clinicians)]
        self.vacations: list[list[tuple[date, date]]] = []
        for _ in range(clinicians):
            weeks = []
            monday = first_day - timedelta(days=first_day.weekday())
            while monday <= self.today + timedelta(days=HORIZON + 7):
                for week in rng.sample(range(52), 3):
                    first = monday + timedelta(weeks=week)
                    weeks.append((first, first + timedelta(days=4)))
                monday += timedelta(weeks=52)
            self.vacations.append(sorted(weeks))
        self.caseloads: list[list[tuple[date, int, int]]] = [[] for _ in range(clinicians)]  # (due, client, every)
        self.clients = 0
        self.prebooked: dict[tuple[int, date], list[Visit]] = {}
        self.actions: list[Action] = []
        self.seq = itertools.count()

    # planning -------------------------------------------------------------------------------

    def working(self, c: int, day: date) -> tuple[tuple[clock, clock], ...]:
        if (day.month, day.day) in HOLIDAYS or any(a <= day <= b for a, b in self.vacations[c]):
            return ()
        return self.profiles[c].hours.get(day.weekday(), ())

    def local(self, day: date, t: clock) -> datetime:
        return datetime.combine(day, t, self.tz).astimezone(UTC)

    def _client(self, c: int, day: date) -> tuple[int, str, int, bool]:
        """(client, visit type, days between visits, new?) for the next visit on `day`."""
        profile, load = self.profiles[c], self.caseloads[c]
        if load and load[0][0] <= day + timedelta(days=2):
            _, client, every = load[0]
            return client, pick(self.rng, profile.kinds), every, False
        return self.clients, "initial_evaluation", pick(self.rng, profile.every), True

    def _take(self, c: int, client: int, new: bool) -> None:
        if new:
            self.clients += 1
        else:
            heapq.heappop(self.caseloads[c])

    def plan_day(self, day: date) -> None:
        rng = self.rng
        for c in range(len(self.profiles)):
            held = sorted(self.prebooked.pop((c, day), []), key=lambda v: v.start)
            for first, last in self.working(c, day):
                at, limit = self.local(day, first), self.local(day, last)
                while at < limit:
                    if rng.random() < 0.08:  # left free
                        at += timedelta(minutes=30)
                        continue
                    client, kind, every, new = self._client(c, day)
                    end = at + timedelta(minutes=DURATION[kind])
                    if end > limit:
                        break
                    clash = next((h for h in held if h.start < end + BUFFER and at < h.end + BUFFER), None)
                    if clash is not None:
                        at = clash.end + BUFFER
                        continue
                    self._take(c, client, new)
                    visit = self._visit(c, client, kind, at, end, every, new)
                    outcome, later = self.decide(visit)
                    if not (outcome == "completed" and rng.random() < self.profiles[c].discharge):
                        heapq.heappush(self.caseloads[c], (later + timedelta(days=every), client, every))
                    at = end + BUFFER

    def _visit(self, c: int, client: int, kind: str, start: datetime, end: datetime, every: int,
               new: bool) -> Visit:
        rng = self.rng
        if new:
            lead = rng.randint(2, 21)
        elif rng.random() < 0.6:
            lead = every  # booked at the end of the previous visit
        else:
            lead = rng.randint(1, 14)
        lead = min(lead, HORIZON - 1)
        booked_day = start.astimezone(self.tz).date() - timedelta(days=lead)
        booked_at = self.local(booked_day, clock(8)) + timedelta(minutes=rng.randrange(600))
        modality = "telehealth" if rng.random() < self.profiles[c].telehealth else "in_person"
        return Visit(c, client, kind, modality, start, end, min(booked_at, start - timedelta(hours=1)))

    def push(self, at: datetime, op: str, visit: Visit, other: Visit | None = None, by: str = "client") -> None:
        visit.pending += 1
        heapq.heappush(self.actions, Action(at, next(self.seq), op, visit, other, by))

    def _before(self, visit: Visit, earliest: timedelta, latest: timedelta) -> datetime | None:
        """A time `earliest`..`latest` before the start, after the booking; None if there is none."""
        rng = self.rng
        at = visit.start - earliest - (latest - earliest) * rng.random()
        floor = visit.booked_at + timedelta(minutes=5)
        if at < floor:
            at = floor + (visit.start - floor) * rng.random() * 0.5
        return at if floor <= at < visit.start - timedelta(minutes=30) else None

    def _confirm(self, visit: Visit, chance: float, until: datetime | None = None) -> None:
        if self.rng.random() < chance:
            at = self._before(visit, timedelta(hours=36), timedelta(hours=72))
            if at is not None and (until is None or at < until):
                self.push(at, "confirm", visit)

    def decide(self, visit: Visit) -> tuple[str, date]:
        """Queue the visit's life (booking included, unless a reschedule books it); returns its
        outcome and the local date a follow-up is counted from."""
        rng = self.rng
        if not visit.rescheduled:
            self.push(visit.booked_at, "book", visit)
        day = visit.start.astimezone(self.tz).date()
        r = rng.random()
        by = "client" if rng.random() < 0.8 else "practice"
        if r < 0.05:
            at = self._before(visit, timedelta(days=1), timedelta(days=6))
            target = self._replacement_day(visit.clinician, day + timedelta(days=7), visit)
            if at is not None and target is not None:
                self._confirm(visit, 0.3, until=at)
                replacement = Visit(visit.clinician, visit.client, visit.kind, visit.modality,
                                    self.local(target, visit.start.astimezone(self.tz).time()),
                                    self.local(target, visit.end.astimezone(self.tz).time()), at, rescheduled=True)
                self.prebooked.setdefault((visit.clinician, target), []).append(replacement)
                self.push(at, "reschedule", visit, replacement, by)
                return self.decide(replacement)
        if r < 0.18:
            late = rng.random() < 0.35
            at = (self._before(visit, timedelta(hours=1), timedelta(hours=23)) if late
                  else self._before(visit, timedelta(days=2), timedelta(days=10)))
            if at is not None:
                self._confirm(visit, 0.4, until=at)
                self.push(at, "cancel", visit, by=by)
                if not late and rng.random() < 0.35 and visit.start - at > timedelta(days=2):
                    self._refill(visit, at)
                return "cancelled", day
        if r < 0.25:
            self._confirm(visit, 0.6)
            self.push(visit.start + timedelta(minutes=15), "no_show", visit)
            return "no_show", day
        self._confirm(visit, 0.9)
        if rng.random() < 0.95:
            self.push(visit.start - timedelta(minutes=rng.randint(2, 12)), "check_in", visit)
        if rng.random() < 0.015 and visit.start < self.now - timedelta(days=3):
            flagged = visit.start + timedelta(hours=24, minutes=rng.randint(5, 120))
            self.push(flagged, "flag", visit)
            self.push(flagged + timedelta(hours=2), "complete", visit)
        else:
            self.push(visit.end + timedelta(minutes=rng.randint(0, 15)), "complete", visit)
        return "completed", day

    def _replacement_day(self, c: int, earliest: date, visit: Visit) -> date | None:
        """The first day from `earliest` on that the clinician works at the visit's time and no
        other replacement holds it (days after `earliest` are not planned yet)."""
        t0, t1 = visit.start.astimezone(self.tz).time(), visit.end.astimezone(self.tz).time()
        for offset in range(14):
            day = earliest + timedelta(days=offset)
            if not any(a <= t0 and t1 <= b for a, b in self.working(c, day)):
                continue
            start, end = self.local(day, t0), self.local(day, t1)
            held = self.prebooked.get((c, day), [])
            if not any(h.start < end + BUFFER and start < h.end + BUFFER for h in held):
                return day
        return None

    def _refill(self, freed: Visit, cancelled_at: datetime) -> None:
        """A waitlisted client takes an early-cancelled slot (any client of the caseload due soon,
        or a new one)."""
        day = freed.start.astimezone(self.tz).date()
        client, _, every, new = self._client(freed.clinician, day)
        self._take(freed.clinician, client, new)
        booked_at = cancelled_at + timedelta(minutes=self.rng.randint(10, 1200))
        visit = Visit(freed.clinician, client, freed.kind, freed.modality, freed.start, freed.end,
                      min(booked_at, freed.start - timedelta(hours=3)))
        outcome, later = self.decide(visit)
        if outcome != "completed" or self.rng.random() >= self.profiles[freed.clinician].discharge:
            heapq.heappush(self.caseloads[freed.clinician], (later + timedelta(days=every), client, every))

    # running --------------------------------------------------------------------------------

    def run(self, sink: Sink, progress: Callable[[date, int], None] | None = None) -> int:
        """Plan `HORIZON` days ahead of each day and carry out everything due up to now."""
        events = 0
        for offset in range(HORIZON):
            self.plan_day(self.first_day + timedelta(days=offset))
        day = self.first_day
        while day <= self.today:
            self.plan_day(day + timedelta(days=HORIZON))
            until = min(self.local(day + timedelta(days=1), clock()), self.now)
            while self.actions and self.actions[0].at < until:
                action = heapq.heappop(self.actions)
                events += sink.apply(action)
                action.visit.pending -= 1
                if action.visit.pending == 0:
                    action.visit.agg = None  # its life is over: let it go
            sink.end_of_day(day)
            if progress is not None:
                progress(day, events)
            day += timedelta(days=1)
        sink.finish()
        return events


class Sink:
    """Counts the appointment events a history writes (the dry run that chooses the span)."""

    def apply(self, action: Action) -> int:
        return EVENTS[action.op]

    def end_of_day(self, day: date) -> None:
        pass

    def finish(self) -> None:
        pass


class StoreSink(Sink):
    """Writes the history through the domain aggregates and `container.store`."""

    def __init__(self, k: Container, practice_id: UUID, clinicians: list[UUID], late_window: timedelta,
                 batch: int) -> None:
        self.k = k
        self.practice_id = practice_id
        self.clinicians = clinicians
        self.late_window = late_window
        self.batch = batch
        self.clients: dict[int, UUID] = {}
        self.touched: dict[UUID, Any] = {}
        self.saves = 0
        self.log_events = 0
        self.booked = 0

    def _client(self, n: int) -> UUID:
        from domain.clients.client import Client

        known = self.clients.get(n)
        if known is None:
            rng = random.Random(n)  # not the history's generator: the dry run creates no clients
            client = Client.register(self.practice_id, rng.choice(("basic", "intermediate")),
                                     **demographics(rng, n))
            self.touched[client.id] = client
            known = self.clients[n] = client.id
        return known

    def _book(self, v: Visit, at: datetime, rescheduled_from: UUID | None = None) -> Any:
        from domain.scheduling.appointment import Appointment

        v.agg = Appointment.book(self.practice_id, self._client(v.client), self.clinicians[v.clinician], v.kind,
                                 v.modality, v.start, v.end, rescheduled_from=rescheduled_from, booked_at=at)
        self.booked += 1
        return v.agg

    def apply(self, action: Action) -> int:
        v, at, a = action.visit, action.at, action.visit.agg
        op = action.op
        if op == "book":
            a = self._book(v, at)
        elif op == "confirm":
            a.confirm()
        elif op == "check_in":
            a.check_in(at)
        elif op == "complete":
            a.complete(at)
        elif op == "no_show":
            a.mark_no_show(at)
        elif op == "flag":
            a.flag_unrecorded(at)
        elif op == "cancel":
            a.cancel(action.by, "schedule_conflict" if action.by == "client" else "clinician_unavailable", at,
                     self.late_window)
        elif op == "reschedule":
            assert action.other is not None
            replacement = self._book(action.other, at, rescheduled_from=a.id)
            self.touched[replacement.id] = replacement
            a.reschedule(replacement.id, action.by, "schedule_conflict", at, self.late_window)
        self.touched[a.id] = a
        return EVENTS[op]

    def save(self) -> None:
        aggregates = list(self.touched.values())
        self.touched.clear()
        for i in range(0, len(aggregates), self.batch):
            recordings = self.k.store.save(*aggregates[i:i + self.batch])
            self.saves += 1
            self.log_events += len(recordings)

    def end_of_day(self, day: date) -> None:
        if len(self.touched) >= self.batch:
            self.save()

    def finish(self) -> None:
        self.save()


# --- generating the database ----------------------------------------------------------------------


def choose_span(target: int, clinicians: int, seed: int, now: datetime) -> tuple[date, int]:
    """A first day whose history reaches `target` appointment events by now, at most 0.3% over it
    (dry runs of the same seeded history; a few passes, since the first weeks ramp up)."""
    today = now.astimezone(ZoneInfo(ZONE)).date()
    span, tried = 365, {}
    for _ in range(8):
        started = time.perf_counter()
        events = tried[span] = History(seed, clinicians, today - timedelta(days=span), now).run(Sink())
        log(f"dry run over {span} days: {events:,} appointment events ({time.perf_counter() - started:.1f}s)")
        if target <= events <= target * 1.003:
            break
        step = round((target - events) / (events / span))
        span = max(1, span + (step if step else (1 if events < target else -1)))
        while span in tried:
            span += 1 if tried[span] < target else -1
    enough = [s for s, e in tried.items() if e >= target]
    best = min(enough) if enough else max(tried)
    return today - timedelta(days=best), tried[best]


def generate(k: Container, args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    from application import audit
    from domain.identity.membership import Membership
    from domain.practices.practice import practice_id_for
    from domain.scheduling.schedule import ClinicianSchedule

    first_day, expected = choose_span(args.events, args.clinicians, args.seed, now)
    history = History(args.seed, args.clinicians, first_day, now)
    log(f"history from {first_day} to {history.today} ({(history.today - first_day).days} days, "
        f"{args.clinicians} clinicians): {expected:,} appointment events expected")
    pid = practice_id_for(SLUG)
    started = time.perf_counter()
    with audit.acting(audit.system("bench:seed", practice_id=pid)):
        k.practices.register("Bench Practice", SLUG, ZONE)
        k.practices.sign_baa(pid, "Bench Owner", None, "v1", first_day)
        k.members.provision(pid, ADMIN, "Bench Admin", "admin", PASSWORD, hipaa_training_on=now.date())
        late_window = k.practices.get(pid).scheduling.late_window
        members, schedules = [], []
        for i, profile in enumerate(history.profiles):
            member = Membership.invite(pid, f"clinician{i}@{SLUG}.careledger.test", f"Clinician {i}", "clinician",
                                       "0" * 64, now + timedelta(days=7), license_type="LPC")
            schedule = ClinicianSchedule.open(pid, member.id)
            whole = {d: ((spans[0][0], spans[-1][1]),) for d, spans in profile.hours.items()}
            lunch = {d: ((spans[0][1], spans[1][0]),) for d, spans in profile.hours.items() if len(spans) > 1}
            schedule.set_working_hours(whole, lunch)
            for month, day in HOLIDAYS:
                schedule.add_holiday(month, day, "holiday")
            for first, last in history.vacations[i]:
                schedule.close(first, last, "vacation")
            members.append(member)
            schedules.append(schedule)
        k.store.save(*members, *schedules)
        sink = StoreSink(k, pid, [m.id for m in members], late_window, args.batch)
        mark = [time.perf_counter(), 0.0]

        def progress(day: date, events: int) -> None:
            t = time.perf_counter()
            if t - mark[0] < 10 and day < history.today:
                return
            rate = (events - mark[1]) / (t - mark[0])
            left = (expected - events) / rate if rate else 0
            log(f"  {day}: {events:,} appointment events ({events / expected:.0%}), {sink.booked:,} "
                f"appointments, {len(sink.clients):,} clients, {sink.saves:,} saves; {rate:,.0f} events/s, "
                f"~{left:,.0f}s left; RSS {mib(psutil.Process().memory_info().rss)} MiB")
            mark[:] = [t, events]

        events = history.run(sink, progress)
    seconds = time.perf_counter() - started
    stored = count_events(k)
    log(f"generated {events:,} appointment events ({stored['appointment_events']:,} stored; "
        f"{stored['log_events']:,} in the log) in {seconds:.0f}s = {events / seconds:,.0f} events/s")
    if stored["appointment_events"] < args.events:
        log(f"WARNING: only {stored['appointment_events']:,} appointment events stored (< {args.events:,})")
    return {"first_day": first_day, "last_day": history.today, "days": (history.today - first_day).days,
            "clinicians": args.clinicians, "clients": len(sink.clients), "appointments": sink.booked,
            "seconds": round(seconds, 1), "appointment_events_per_s": round(events / seconds),
            "saves": sink.saves, "aggregates_per_save": args.batch, **stored}


def count_events(k: Container) -> dict[str, int]:
    with k.pool.connection() as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE topic LIKE %s), count(*) FROM careledger_events", (APPOINTMENT_TOPICS,)
        ).fetchone()
    assert row is not None
    return {"appointment_events": int(row[0]), "log_events": int(row[1])}


# --- bringing the read side up to date ----------------------------------------------------------


def catch_up(k: Container, name: str) -> dict[str, Any]:
    runner = k.runner(name)
    status = runner.status()
    last = [time.perf_counter()]
    started = last[0]

    def progress(position: int, head: int) -> None:
        t = time.perf_counter()
        if t - last[0] >= 10:
            done = position - status.position
            log(f"  {name}: {position:,}/{head:,} ({done / (t - started):,.0f} events/s)")
            last[0] = t

    done = runner.catch_up(progress=progress)
    seconds = time.perf_counter() - started
    rate = round(done / seconds) if done and seconds else 0
    if done:
        log(f"{name}: {done:,} events in {seconds:.1f}s = {rate:,} events/s")
    return {"projection": name, "events": done, "seconds": round(seconds, 1), "events_per_s": rate}


def bring_up_to_date(k: Container, everything: bool, rebuild: bool) -> dict[str, Any]:
    """The metrics projection (timed: its rebuild rate; `rebuild` empties it first); with
    `everything`, every other projection and the audit chain too, so that a server with live
    projections starts with nothing to do."""
    from interfaces.container import PROJECTIONS

    if rebuild:
        k.runner("attendance_metrics").reset()
        log("attendance_metrics emptied for a rebuild")
    out: dict[str, Any] = {"attendance_metrics": catch_up(k, "attendance_metrics"), "other_projections": [],
                           "audit_seal": {"events": 0, "seconds": 0.0, "events_per_s": 0}}
    if not everything:
        return out
    out["other_projections"] = [catch_up(k, name) for name in PROJECTIONS if name != "attendance_metrics"]
    started = time.perf_counter()
    sealed = k.audit_chain.seal()
    seconds = time.perf_counter() - started
    if sealed.events_sealed:
        log(f"audit chain: {sealed.events_sealed:,} events sealed in {seconds:.1f}s")
    out["audit_seal"] = {"events": sealed.events_sealed, "seconds": round(seconds, 1),
                         "events_per_s": round(sealed.events_sealed / seconds) if sealed.events_sealed else 0}
    return out


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    clinician: UUID
    period: str
    start: date


def queries(rng: random.Random, clinicians: list[UUID], first: date, last: date, n: int) -> list[Query]:
    """Random clinicians and random ISO weeks (3 in 4) or months of the history."""
    out = []
    for _ in range(n):
        day = first + timedelta(days=rng.randrange((last - first).days + 1))
        if rng.random() < 0.75:
            out.append(Query(rng.choice(clinicians), "week", day - timedelta(days=day.weekday())))
        else:
            out.append(Query(rng.choice(clinicians), "month", day.replace(day=1)))
    return out


def in_process(k: Container, practice_id: UUID, qs: list[Query], concurrency: int) -> dict[str, Any]:
    view = k.attendance_metrics
    latencies: list[float] = [0.0] * len(qs)
    cursor = iter(range(len(qs)))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with lock:
                    i = next(cursor, None)
                if i is None:
                    return
                q = qs[i]
                t = time.perf_counter()
                view.report(practice_id, q.period, q.start, q.clinician)
                latencies[i] = (time.perf_counter() - t) * 1000
        except BaseException as e:
            failures.append(e)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"in-process query failed: {failures[0]!r}") from failures[0]
    return {"path": "in process", "concurrency": concurrency, "n": len(qs), "errors": 0, "error_codes": {},
            "req_per_s": round(len(qs) / seconds, 1), "p50_ms": percentile(latencies, 0.5),
            "p99_ms": percentile(latencies, 0.99), "max_ms": percentile(latencies, 1.0)}


def over_http(base: str, token: str, qs: list[Query], concurrency: int, server_pid: int) -> dict[str, Any]:
    requests = [Request("GET", f"/api/v1/metrics/clinicians/{q.clinician}?period={q.period}&start={q.start}")
                for q in qs]
    cpu = psutil.Process(server_pid)
    before = sum(cpu.cpu_times()[:2])
    load = drive(base, token, requests, concurrency)
    cpu_s = sum(cpu.cpu_times()[:2]) - before
    return {"path": "HTTP", "concurrency": concurrency, "n": len(qs), "errors": load.errors,
            "error_codes": load.error_codes, "req_per_s": load.req_per_s, "p50_ms": load.pct(0.5),
            "p99_ms": load.pct(0.99), "max_ms": load.pct(1.0),
            "server_cpu_ms_per_req": round(1000 * cpu_s / len(qs), 2),
            "server_cpu_util": round(cpu_s / load.seconds, 2)}


def has_metrics_route(base: str) -> bool:
    paths = get_json(f"{base}/openapi.json").get("paths", {})
    return any(p.startswith("/api/v1/metrics/clinicians/") for p in paths)


# --- main ---------------------------------------------------------------------------------------


@contextmanager
def database(args: argparse.Namespace) -> Iterator[tuple[str, Path, bool]]:
    """(url, keys folder, whether to generate): a reused one, a kept one or a throw-away one."""
    if args.reuse:
        data_dir = Path(args.data_dir) if args.data_dir else KEPT / dbname_of(args.reuse)
        if not data_dir.is_dir():
            raise SystemExit(f"no keys for {dbname_of(args.reuse)} in {data_dir} (give --data-dir)")
        log(f"reusing database {dbname_of(args.reuse)} (keys in {data_dir})")
        yield args.reuse, data_dir, False
        return
    url = create_database("metrics")
    log(f"created database {dbname_of(url)}")
    if args.keep:
        data_dir = KEPT / dbname_of(url)
        data_dir.mkdir(parents=True, exist_ok=True)
        yield url, data_dir, True
        log(f"kept database {dbname_of(url)}; measure it again with:\n  .venv/bin/python bench/metrics_query.py "
            f"--reuse '{url}'")
        return
    try:
        with tempfile.TemporaryDirectory(prefix="careledger-bench-") as tmp:
            yield url, Path(tmp), True
    finally:
        drop_database(url)
        log(f"dropped database {dbname_of(url)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="appointment events to generate")
    parser.add_argument("--clinicians", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1000, help="aggregates per store.save")
    parser.add_argument("--queries", type=int, default=2000, help="queries per path and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seed", type=int, default=2026)
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument("--keep", action="store_true", help="keep the database (and its keys) for --reuse")
    keep.add_argument("--reuse", metavar="URL", help="measure a database kept by an earlier --keep run")
    parser.add_argument("--all-projections", action="store_true",
                        help="also catch up every other projection and seal the audit chain (minutes more), "
                             "then serve with live projections")
    parser.add_argument("--rebuild", action="store_true",
                        help="with --reuse: empty the metrics projection and rebuild it (timed) before querying")
    parser.add_argument("--data-dir", help="the reused database's CARELEDGER_DATA_DIR (default var/bench/<db>)")
    args = parser.parse_args()
    exit_on_sigterm()
    load_at_start = note_load()

    from domain.practices.practice import practice_id_for

    pid = practice_id_for(SLUG)
    now = datetime.now(UTC).replace(microsecond=0)
    results: dict[str, Any] = {"machine": None, "loadavg_at_start": load_at_start, "params": vars(args)}
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        url, data_dir, fresh = stack.enter_context(database(args))
        use_careledger_env(data_dir, url)
        from interfaces.container import Container

        k = Container(database_url=url)
        stack.callback(k.close)
        if fresh:
            k.migrate()
            results["generation"] = generate(k, args, now)
        else:
            results["generation"] = {"reused": dbname_of(url), **count_events(k)}
        results["read_side"] = bring_up_to_date(k, args.all_projections, args.rebuild)

        clinicians = [r["member_id"] for r in k.attendance_metrics.query(
            "SELECT member_id FROM attendance_members WHERE practice_id = %s AND schedule_id IS NOT NULL "
            "ORDER BY member_id", (pid,))]
        span = k.attendance_metrics.query("SELECT min(local_day) AS first, max(local_day) AS last "
                                          "FROM attendance_days WHERE practice_id = %s AND scheduled > 0",
                                          (pid,))[0]
        first, last = span["first"], min(span["last"], now.astimezone(ZoneInfo(ZONE)).date())
        days = k.attendance_metrics.query("SELECT count(*) AS n FROM attendance_days")[0]["n"]
        facts = k.attendance_metrics.query("SELECT count(*) AS n FROM attendance_appointments")[0]["n"]
        results["view"] = {"clinicians": len(clinicians), "first_day": first, "last_day": last,
                           "day_rows": days, "appointment_rows": facts}
        log(f"view: {facts:,} appointments, {days:,} clinician-day rows, {len(clinicians)} clinicians, "
            f"{first} to {last}")
        rng = random.Random(args.seed)
        sample = k.attendance_metrics.report(pid, "month", last.replace(day=1) - timedelta(days=1), clinicians[0])
        results["sample_report"] = {"period": f"month of {sample.start}", "counts": sample.counts,
                                    "metrics": {n: m.value for n, m in sample.metrics.items()}}
        log(f"sample (clinician 1, {sample.start:%B %Y}): " + ", ".join(
            f"{n} {m.value}" for n, m in sample.metrics.items()))

        for c in args.concurrency:
            rows.append(in_process(k, pid, queries(rng, clinicians, first, last, args.queries), c))
            log(f"in process c={c}: {rows[-1]['req_per_s']:,} queries/s, p50 {rows[-1]['p50_ms']} ms, "
                f"p99 {rows[-1]['p99_ms']} ms")

        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="careledger-bench-")))
        port = free_port()
        env = {**careledger_env(data_dir, url), "CARELEDGER_LOG_LEVEL": "INFO", **SERVER_LIMITS,
               "CARELEDGER_REDIS_PREFIX": f"bench:{dbname_of(url)}:{os.getpid()}"}  # its own sessions and rate limits
        serve = [str(VENV_BIN / "careledger"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        if not args.all_projections:
            serve.append("--no-projections")  # the others would be catching up the whole log meanwhile
        proc = stack.enter_context(running(serve, env=env, log_file=tmp / "careledger.log"))
        base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        wait_http(f"{base}/health", proc, timeout=300)
        results["server_start_s"] = round(time.perf_counter() - started, 1)
        rss = stack.enter_context(RssSampler(proc.pid))
        if not has_metrics_route(base):
            log("SKIP HTTP: the server has no GET /api/v1/metrics/clinicians/{id} route (yet)")
            results["http"] = "skipped: route absent"
        else:
            token = sign_in(base, ADMIN, PASSWORD)
            warm = drive(base, token, [Request("GET", f"/api/v1/metrics/clinicians/{q.clinician}?period="
                                               f"{q.period}&start={q.start}")
                                       for q in queries(rng, clinicians, first, last, 100)], 8)
            if warm.errors:
                tail = (tmp / "careledger.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"warm-up failed: {warm.error_codes}\n{tail}")
            for c in args.concurrency:
                new_window(rss)
                row = over_http(base, token, queries(rng, clinicians, first, last, args.queries), c, proc.pid)
                row["peak_rss_mib"] = mib(rss.reset())
                rows.append(row)
                log(f"HTTP c={c}: {row['req_per_s']:,} req/s, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
                    f"errors {row['errors']} {row['error_codes'] or ''}, server CPU "
                    f"{row['server_cpu_ms_per_req']} ms/req, peak RSS {row['peak_rss_mib']} MiB")
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited early ({proc.returncode})")
        results["machine"] = machine()

    gen, read = results["generation"], results["read_side"]
    metrics = read["attendance_metrics"]
    steps = []
    if "seconds" in gen:
        steps.append(["generate (domain aggregates, store.save)", gen["appointment_events"], gen["seconds"],
                      gen["appointment_events_per_s"]])
    if metrics["events"] >= 1000:  # else it was up to date already (a reused database)
        steps.append(["attendance_metrics catch-up (log events read)", metrics["events"], metrics["seconds"],
                      metrics["events_per_s"]])
    steps += [[f"{p['projection']} catch-up", p["events"], p["seconds"], p["events_per_s"]]
              for p in read["other_projections"] if p["events"]]
    if read["audit_seal"]["events"]:
        steps.append(["audit chain seal", read["audit_seal"]["events"], read["audit_seal"]["seconds"],
                      read["audit_seal"]["events_per_s"]])
    steps_table = markdown_table(["step", "events", "seconds", "events/s"], steps)
    table = markdown_table(
        ["metrics query", "conc.", "queries", "req/s", "p50 ms", "p99 ms", "errors", "server CPU ms/req",
         "peak RSS MiB"],
        [[r["path"], r["concurrency"], r["n"], r["req_per_s"], r["p50_ms"], r["p99_ms"], r["errors"],
          r.get("server_cpu_ms_per_req", "-"), r.get("peak_rss_mib", "-")] for r in rows],
    )
    print(f"\nLog: {gen['appointment_events']:,} appointment events ({gen['log_events']:,} events in all)")
    if "days" in gen:
        print(f"History: {gen['first_day']} to {gen['last_day']}, {gen['clinicians']} clinicians, "
              f"{gen['appointments']:,} appointments, {gen['clients']:,} clients")
    if steps:
        print(f"\n{steps_table}")
    print("\nOne clinician's attendance metrics for a random ISO week (3 in 4) or month, random clinicians\n")
    print(table)
    results.update({"queries": rows, "tables": [steps_table, table]})
    path = write_results("metrics_query", results)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
