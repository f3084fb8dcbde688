"""Compliance engine: what rebuilding the `compliance` projection costs as a practice grows, and
how fast its two read paths answer.

The compliance projection evaluates the whole practice at every moment that can change an answer
(decision 0009): each practice day's start (`ComplianceDay.Started`), a visit completed, a note
signed or co-signed, a consent recorded, a risk flag set, supervision logged or signed. One
evaluation reads all facts of the practice, so its cost grows with the practice's size and with
its history. This script measures that for practices of C clinicians over W weeks (default 2, 5
and 10 clinicians over 8 weeks, one fresh database each; 10 x 12 alone takes over 15 minutes):

1. history: written through the domain aggregates and `store.save` in the order of the events'
   own times (the projection's moments come from those times and never go back): before the
   history, staff (every third clinician an associate with a supervisor, everyone HIPAA trained)
   and a caseload of 25 clients per clinician with informed consent (guardian consent for most
   minors, telehealth consent for most telehealth clients); then every weekday 4-6 visits per
   clinician, booked 2-14 days ahead, 80 % completed, 10 % no-shows, 10 % cancelled; a session
   note per completed visit (70 % signed within hours, 20 % within 1-6 days, 7 % after 8-12 days,
   3 % never; 2 % not linked to the appointment), co-signed by the supervisor for associates; a
   signed treatment plan at each client's first visit; two risk flags per clinician (one with a
   safety plan); weekly supervision for associates; and the practice's daily tick at 00:05.
   Consecutive actions share a `store.save` unless they touch the same aggregate.
2. rebuild: a fresh subprocess runs `runner("compliance").rebuild()` over the whole log and
   reports events/s, the evaluations (counted by wrapping the projection's functions in that
   process; with the event types that triggered them), ms per evaluation (overall, per week of
   history, and split into reading the facts, the rules and the alert diff), the churn it left in
   `cp_alerts` (pg_stat_user_tables) and its peak RSS (noted per batch; the parent also samples
   it). The runner pipelines writes, so the alert UPDATEs an evaluation queues run at the next
   read (the next evaluation's or the next event's): "apply_findings" is the Python side and the
   UPDATEs' server time lands partly outside the evaluations ("rebuild s / evaluations" is the
   all-in figure). `--audit-updates` also counts how many of those UPDATEs change nothing.
3. queries, in process after the rebuild: `ComplianceView.alerts(practice, concerning=None,
   status="active")` (300 calls) and `ComplianceView.as_of(practice, <the history's middle day>)`
   (200 calls), p50/p99, as the rebuild left the tables and again after `VACUUM ANALYZE` (the
   server's autovacuum setting is recorded: when it is off, the rebuild's dead rows stay).

Usage: .venv/bin/python bench/compliance_rebuild.py [--sizes 2x8 5x8 10x8] [--queries 300]
       [--profile] [--audit-updates] [--keep]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import psutil
import psycopg
from _common import (
    SERVER_URL,
    create_database,
    dbname_of,
    exit_on_sigterm,
    fresh_database,
    log,
    machine,
    markdown_table,
    mib,
    note_load,
    run_measured_child,
    use_careledger_env,
    write_results,
)
from psycopg import sql as psql

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate

    from interfaces.container import Container

ZONE = ZoneInfo("America/New_York")
CASELOAD = 25
HOURS = (9, 10, 11, 13, 14, 15, 16)
LATE_WINDOW = timedelta(hours=24)
SOAP = {"subjective": "Reports steadier sleep.", "objective": "Calm, engaged.",
        "assessment": "Anxiety improving with CBT.", "plan": "Continue weekly CBT."}
PLAN = {"problems": "Generalised anxiety.", "goals": "Manageable worry.", "objectives": "GAD-7 below 10.",
        "interventions": "Weekly CBT."}
SAFETY = {"warning_signs": "Withdrawing.", "coping_strategies": "Walk, call sister.", "support_contacts": "Sister.",
          "professional_contacts": "988 Lifeline.", "means_safety": "Medications kept by sister."}
DEMOGRAPHICS: dict[str, Any] = {
    "phone": "+14045550100",
    "address": {"line1": "1 Peachtree St", "city": "Atlanta", "state": "GA", "zip": "30303"},
    "emergency_contact": {"name": "Kin", "phone": "+14045550101", "relationship": "sibling"},
    "insurance_primary": {"payer": "Aetna", "member_id": "W123"},
}


@dataclass(frozen=True)
class Size:
    clinicians: int
    weeks: int

    @classmethod
    def parse(cls, text: str) -> Size:
        c, _, w = text.lower().partition("x")
        return cls(int(c), int(w or 12))

    @property
    def label(self) -> str:
        return f"{self.clinicians}x{self.weeks}"


@dataclass(order=True)
class Action:
    """Something that happens at `at`; `run` changes aggregates and returns them for saving.
    `touches` names the aggregates it changes, so a batch never holds one aggregate twice (which
    would put its later event before other aggregates' earlier ones)."""

    at: datetime
    order: int
    seq: int
    touches: tuple[UUID, ...] = field(compare=False)
    run: Callable[[], Iterable[Aggregate]] = field(compare=False)


class History:
    """Plans a practice's history as timed actions and writes it through `store.save` in time order."""

    def __init__(self, k: Container, practice_id: UUID, size: Size, today: date, seed: int = 11) -> None:
        self.k, self.practice_id, self.size = k, practice_id, size
        self.rng = random.Random(f"{seed}/{size.label}")
        last = today - timedelta(days=1)
        self.first_day = last - timedelta(days=last.weekday()) - timedelta(weeks=size.weeks - 1)
        self.last_day = last
        self.end = self.at(last + timedelta(days=1), 0, 0)  # nothing happens after the history
        self.actions: list[Action] = []
        self.live: dict[UUID, Any] = {}
        self.counts: Counter[str] = Counter()
        self.seconds = 0.0
        self.saves = 0

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, clock_time(hour, minute), ZONE).astimezone(UTC)

    def add(self, at: datetime, order: int, touches: Sequence[UUID], run: Callable[[], Iterable[Aggregate]]) -> None:
        self.actions.append(Action(at, order, len(self.actions), tuple(touches), run))

    # -- planning --------------------------------------------------------------------------------

    def plan(self) -> None:
        from domain.clients.client import Client
        from domain.identity.membership import Membership
        from domain.scheduling.consents import ConsentRecord

        rng, pid = self.rng, self.practice_id
        setup = self.at(self.first_day - timedelta(days=40), 9)
        trained = self.first_day - timedelta(days=60)
        supervisor = Membership.invite(pid, "supervisor@bench.test", "Supervisor", "supervisor", "0" * 64,
                                       setup + timedelta(days=7), license_type="LPC")
        supervisor.accept(uuid4())
        supervisor.record_hipaa_training(trained, trained)
        staff: list[Any] = [supervisor]
        self.associates: set[UUID] = set()
        for i in range(self.size.clinicians):
            associate = i % 3 == 2
            m = Membership.invite(pid, f"clinician{i}@bench.test", f"Clinician {i}", "clinician", "0" * 64,
                                  setup + timedelta(days=7), license_type="LPC-Associate" if associate else "LPC")
            m.accept(uuid4())
            m.record_hipaa_training(trained, trained)
            if associate:
                m.assign_supervisor(supervisor)
                self.associates.add(m.id)
            staff.append(m)
        self.supervisor_id = supervisor.id
        self.add(setup, 0, [m.id for m in staff], lambda: staff)

        self.caseloads: dict[UUID, list[UUID]] = {}
        self.telehealth: set[UUID] = set()
        for m in staff[1:]:
            clients = []
            for j in range(CASELOAD):
                minor = rng.random() < 0.06
                birth = date(2012, 3, 1) if minor else date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40))
                c = Client.register(pid, "basic", first_name="Pat", last_name="Doe", date_of_birth=birth,
                                    **DEMOGRAPHICS)
                c.assign(m.id, "clinician")
                signed = self.at(self.first_day - timedelta(days=30 + rng.randrange(5)), 10, j)
                # One in 30 yearly consents runs out during the history (renewal reminders and alerts).
                expires = signed + timedelta(days=365 if rng.random() > 1 / 30 else 60 + rng.randrange(30))
                c.record_consent(uuid4(), ConsentRecord("informed_consent", signed, expires, "Pat Doe"))
                if minor and rng.random() < 0.8:
                    c.record_consent(uuid4(), ConsentRecord("guardian_consent", signed, None, "Pat Doe", "Parent"))
                if rng.random() < 0.15:
                    self.telehealth.add(c.id)
                    if rng.random() < 0.85:
                        c.record_consent(uuid4(), ConsentRecord("telehealth_consent", signed, None, "Pat Doe"))
                self.live[c.id] = c
                clients.append(c.id)
                self.add(signed, 0, [c.id], partial(list, [c]))
            self.caseloads[m.id] = clients

        day = self.first_day
        while day <= self.last_day:
            self.add(self.at(day, 0, 5), -1, [], partial(self._tick, day))
            day += timedelta(days=1)
        for clinician, caseload in self.caseloads.items():
            self._visits(clinician, caseload)
        for clinician in self.associates:
            self._supervision(clinician)
        self.actions.sort()

    def _tick(self, day: date) -> list[Any]:
        from domain.compliance.compliance_day import ComplianceDay

        self.counts["ticks"] += 1
        return [ComplianceDay.start(self.practice_id, day, self.at(day, 0, 5))]

    def _visits(self, clinician: UUID, caseload: list[UUID]) -> None:
        rng = self.rng
        queue = list(caseload)
        rng.shuffle(queue)
        seen: set[UUID] = set()
        flag_days = sorted(rng.sample(range(7, max(8, self.size.weeks * 7 - 3)), 2))
        day = self.first_day
        while day <= self.last_day:
            if day.weekday() < 5:
                for hour in sorted(rng.sample(HOURS, rng.randint(4, 6))):
                    client = queue.pop(0)
                    queue.append(client)
                    self._visit(clinician, client, day, hour, first=client not in seen)
                    seen.add(client)
            day += timedelta(days=1)
        for n, offset in enumerate(flag_days):
            client = rng.choice(caseload)
            self._risk(clinician, client, self.at(self.first_day + timedelta(days=offset), 14, 30), with_plan=n == 0)

    def _visit(self, clinician: UUID, client: UUID, day: date, hour: int, first: bool) -> None:
        from domain.scheduling.appointment import Appointment

        rng = self.rng
        starts = self.at(day, hour)
        ends = starts + timedelta(minutes=50)
        booked = starts - timedelta(days=rng.randint(2, 14), hours=rng.randint(0, 8))
        modality = "telehealth" if client in self.telehealth else "in_person"
        appointment_id = uuid4()

        def book() -> list[Any]:
            a = Appointment.book(self.practice_id, client, clinician, "therapy_session", modality, starts, ends,
                                 appointment_id=appointment_id, booked_at=booked)
            self.live[a.id] = a
            self.counts["appointments"] += 1
            return [a]

        self.add(booked, 1, [appointment_id], book)
        roll = rng.random()
        if roll < 0.8:
            done = ends + timedelta(minutes=rng.randint(0, 10))
            self.add(done, 2, [appointment_id], lambda: self._outcome(appointment_id, "complete", done))
            self._session_note(clinician, client, appointment_id, day, done)
            if first:
                self._plan(clinician, client, day, done + timedelta(minutes=40))
        elif roll < 0.9:
            at = starts + timedelta(minutes=15)
            self.add(at, 2, [appointment_id], lambda: self._outcome(appointment_id, "no_show", at))
        else:
            at = max(starts - timedelta(hours=rng.randint(2, 72)), booked + timedelta(minutes=1))
            self.add(at, 2, [appointment_id], lambda: self._outcome(appointment_id, "cancel", at))

    def _outcome(self, appointment_id: UUID, what: str, at: datetime) -> list[Any]:
        a = self.live.pop(appointment_id)
        if what == "complete":
            a.complete(at)
            self.counts["completed"] += 1
        elif what == "no_show":
            a.mark_no_show(at)
            self.counts["no_shows"] += 1
        else:
            a.cancel("client", "illness", at, LATE_WINDOW)
            self.counts["cancelled"] += 1
        return [a]

    def _session_note(self, clinician: UUID, client: UUID, appointment_id: UUID, day: date, done: datetime) -> None:
        from domain.clinical.clinical_note import ClinicalNote

        rng = self.rng
        note_id = uuid4()
        drafted = done + timedelta(minutes=5)
        linked = rng.random() >= 0.02
        cosign = self.supervisor_id if clinician in self.associates else None

        def draft() -> list[Any]:
            n = ClinicalNote.draft(self.practice_id, client, clinician, "soap" if linked else "progress", day,
                                   now=drafted, sections=SOAP if linked else {"content": "c", "plan": "p"},
                                   icd10_codes=["F41.1"], appointment_id=appointment_id if linked else None,
                                   requires_cosign=cosign is not None, supervisor_id=cosign, note_id=note_id)
            self.live[note_id] = n
            self.counts["session_notes"] += 1
            return [n]

        self.add(drafted, 3, [note_id], draft)
        roll = rng.random()
        if roll < 0.7:
            delay = timedelta(minutes=rng.randint(20, 300))
        elif roll < 0.9:
            delay = timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5))
        elif roll < 0.97:
            delay = timedelta(days=rng.randint(8, 12))
        else:
            return
        signed = drafted + delay
        if signed >= self.end:
            return
        self.add(signed, 3, [note_id], lambda: self._sign(note_id, clinician, signed))
        if cosign is not None:
            cosigned = signed + timedelta(hours=rng.randint(1, 30))
            if cosigned < self.end:
                self.add(cosigned, 3, [note_id], lambda: self._cosign(note_id, cosign, cosigned))

    def _sign(self, note_id: UUID, by: UUID, at: datetime) -> list[Any]:
        n = self.live[note_id]
        if not n.requires_cosign:
            del self.live[note_id]
        n.sign(by, at)
        self.counts["signatures"] += 1
        return [n]

    def _cosign(self, note_id: UUID, by: UUID, at: datetime) -> list[Any]:
        n = self.live.pop(note_id)
        n.cosign(by, at)
        self.counts["cosignatures"] += 1
        return [n]

    def _plan(self, clinician: UUID, client: UUID, day: date, at: datetime) -> None:
        from domain.clinical.clinical_note import ClinicalNote

        note_id = uuid4()
        cosign = self.supervisor_id if clinician in self.associates else None

        def write() -> list[Any]:
            n = ClinicalNote.draft(self.practice_id, client, clinician, "treatment_plan", day, now=at, sections=PLAN,
                                   icd10_codes=["F41.1"], requires_cosign=cosign is not None, supervisor_id=cosign,
                                   note_id=note_id)
            n.sign(clinician, at)
            if cosign is not None:
                n.cosign(cosign, at + timedelta(hours=2))
            self.counts["treatment_plans"] += 1
            return [n]

        self.add(at, 4, [note_id], write)

    def _risk(self, clinician: UUID, client: UUID, at: datetime, with_plan: bool) -> None:
        from domain.clinical.clinical_note import ClinicalNote

        note_id = uuid4()
        cosign = self.supervisor_id if clinician in self.associates else None

        def act() -> list[Any]:
            c = self.live[client]
            if "suicidal_ideation" in c.risk_flags:
                return []
            c.set_risk_flag("suicidal_ideation", "Passive ideation disclosed in session.", at, clinician)
            self.counts["risk_flags"] += 1
            if not with_plan:
                return [c]
            n = ClinicalNote.draft(self.practice_id, client, clinician, "safety_plan", at.date(), now=at,
                                   sections=SAFETY, requires_cosign=cosign is not None, supervisor_id=cosign,
                                   note_id=note_id)
            n.sign(clinician, at)
            if cosign is not None:
                n.cosign(cosign, at)
            self.counts["safety_plans"] += 1
            return [c, n]

        self.add(at, 5, [client, note_id], act)

    def _supervision(self, supervisee: UUID) -> None:
        from domain.supervision.session import SupervisionSession

        day = self.first_day + timedelta(days=2)
        while day <= self.last_day:
            logged = self.at(day, 17)
            signed = self.rng.random() < 0.9

            def act(day: date = day, logged: datetime = logged, signed: bool = signed) -> list[Any]:
                s = SupervisionSession.log(self.practice_id, supervisee, self.supervisor_id, day, Decimal(1),
                                           "individual", ["case review"], today=day, logged_at=logged,
                                           by=self.supervisor_id)
                if signed:
                    s.sign(self.supervisor_id, logged + timedelta(minutes=30))
                self.counts["supervision_sessions"] += 1
                return [s]

            self.add(logged, 6, [], act)
            day += timedelta(days=7)

    # -- writing ---------------------------------------------------------------------------------

    def write(self, batch_limit: int = 100) -> None:
        from application import audit

        started = time.perf_counter()
        batch: list[Any] = []
        in_batch: set[UUID] = set()
        with audit.acting(audit.system("system:bench", practice_id=self.practice_id)):

            def flush() -> None:
                if batch:
                    self.k.store.save(*batch)
                    self.saves += 1
                    batch.clear()
                    in_batch.clear()

            for n, action in enumerate(self.actions):
                if in_batch.intersection(action.touches) or len(batch) >= batch_limit:
                    flush()
                for aggregate in action.run():
                    if aggregate.id in in_batch:
                        flush()
                    batch.append(aggregate)
                    in_batch.add(aggregate.id)
                if n % 5000 == 4999:
                    log(f"  {n + 1:,} of {len(self.actions):,} actions written")
            flush()
        self.seconds = time.perf_counter() - started


# --- child: the rebuild ---------------------------------------------------------------------------


def _rss_now() -> int:
    return int(psutil.Process().memory_info().rss)


class Probe:
    """Counts and times evaluations inside the rebuild by wrapping the projection's own functions
    (bench-side only; the product code is not changed)."""

    def __init__(self, first_day: date, audit_updates: bool = False) -> None:
        self.first_day = first_day
        self.audit_updates = audit_updates
        self.trigger: str = "?"
        self.moment: datetime | None = None
        self.calls = 0
        self.evaluations = 0
        self.by_trigger: Counter[str] = Counter()
        self.phase_s: dict[str, float] = defaultdict(float)
        self.sql_s: dict[str, float] = defaultdict(float)
        self.week_s: dict[int, float] = defaultdict(float)
        self.week_n: Counter[int] = Counter()
        self.max_ms = 0.0
        self.findings = 0
        self.refreshed = 0
        self.unchanged = 0
        self.overhead_s = 0.0

    def install(self, runner: Any) -> None:
        import projections.compliance.facts as facts
        import projections.compliance.projection as module

        probe = self
        projection = runner.projection
        process = projection.process_event

        def process_event(event: Any, tracking: Any) -> None:
            probe.trigger = type(event).__qualname__
            process(event, tracking)

        projection.process_event = process_event
        view_cls = type(runner.view)
        evaluate_at = view_cls.evaluate_at

        def timed_evaluate_at(view: Any, practice_id: UUID | None, at: datetime | None) -> None:
            probe.calls += 1
            before, overhead = probe.evaluations, probe.overhead_s
            t = time.perf_counter()
            evaluate_at(view, practice_id, at)
            if probe.evaluations > before:
                ms = (time.perf_counter() - t - (probe.overhead_s - overhead)) * 1000
                probe.max_ms = max(probe.max_ms, ms)
                probe.phase_s["evaluate_at"] += ms / 1000
                moment = probe.moment
                week = -1 if moment is None else (moment.astimezone(ZONE).date() - probe.first_day).days // 7
                probe.week_s[week] += ms / 1000
                probe.week_n[week] += 1

        view_cls.evaluate_at = timed_evaluate_at  # type: ignore[method-assign]

        def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    probe.phase_s[name] += time.perf_counter() - t

            return wrapper

        load_facts = module.load_facts

        def counted_load_facts(curs: Any, practice_id: UUID, now: datetime, tz: ZoneInfo) -> Any:
            probe.evaluations += 1
            probe.by_trigger[probe.trigger] += 1
            probe.moment = now
            return load_facts(curs, practice_id, now, tz)

        evaluate = module.evaluate

        def counted_evaluate(*args: Any) -> Any:
            found = evaluate(*args)
            probe.findings += len(found)
            return found

        module.load_facts = timed("load_facts", counted_load_facts)  # type: ignore[assignment]
        module.evaluate = timed("evaluate", counted_evaluate)  # type: ignore[assignment]
        apply_findings = timed("apply_findings", module.apply_findings)

        def audited_apply_findings(curs: Any, read: Any, practice_id: UUID, findings: Any, *rest: Any) -> None:
            if probe.audit_updates:
                t = time.perf_counter()
                probe.count_unchanged(read, practice_id, findings)
                probe.overhead_s += time.perf_counter() - t
            apply_findings(curs, read, practice_id, findings, *rest)

        module.apply_findings = audited_apply_findings  # type: ignore[assignment]
        module.ruleset_for = timed("ruleset_for", module.ruleset_for)  # type: ignore[assignment]
        rows = facts._rows

        def timed_rows(curs: Any, sql: str, params: tuple[Any, ...]) -> list[Any]:
            table = sql.rsplit(" FROM ", 1)[1].split()[0] if " FROM " in sql else "?"  # not a subquery's
            t = time.perf_counter()
            try:
                return rows(curs, sql, params)
            finally:
                probe.sql_s[table] += time.perf_counter() - t

        facts._rows = timed_rows  # type: ignore[assignment]

    def count_unchanged(self, read: Any, practice_id: UUID, findings: Any) -> None:
        """How many of the alert refreshes `apply_findings` is about to write change nothing
        (`--audit-updates`; its time is left out of the evaluation's)."""
        from projections.compliance.alerts import key_text

        read.execute(
            "SELECT key, rule_version, severity, target, clinician_id, supervisor_id, client_id, message, action, "
            "violation, since, due FROM cp_alerts WHERE practice_id = %s AND status <> 'resolved'", (practice_id,))
        current = {r["key"]: tuple(v for name, v in r.items() if name != "key") for r in read.fetchall()}
        for f in findings:
            row = current.get(key_text(f.key))
            if row is None:
                continue
            self.refreshed += 1
            self.unchanged += row == (f.rule_version, f.severity, f.target, f.clinician_id, f.supervisor_id,
                                      f.client_id, f.message, f.action, f.violation, f.since, f.due)

    def report(self) -> dict[str, Any]:
        n = self.evaluations or 1
        load_sql = sum(s for table, s in self.sql_s.items() if table != "cp_supervision_requirements")
        return {
            "evaluate_at_calls": self.calls,
            "evaluations": self.evaluations,
            "by_trigger": dict(self.by_trigger.most_common()),
            "ms_per_evaluation": round(self.phase_s["evaluate_at"] * 1000 / n, 2),
            "max_ms": round(self.max_ms, 1),
            "phase_ms_per_evaluation": {
                "load_facts (SQL)": round(load_sql * 1000 / n, 2),
                "load_facts (Python)": round((self.phase_s["load_facts"] - load_sql) * 1000 / n, 2),
                "evaluate (rules)": round(self.phase_s["evaluate"] * 1000 / n, 2),
                "apply_findings (alerts)": round(self.phase_s["apply_findings"] * 1000 / n, 2),
                "ruleset_for": round(self.phase_s["ruleset_for"] * 1000 / n, 2),
            },
            "sql_ms_per_evaluation": {t: round(s * 1000 / n, 3) for t, s in sorted(self.sql_s.items())},
            "findings_per_evaluation": round(self.findings / n, 1),
            "alert_refreshes": {"audited": self.audit_updates, "refreshed": self.refreshed,
                                "unchanged": self.unchanged},
            "seconds_in_evaluations": round(self.phase_s["evaluate_at"], 2),
            "by_week": [{"week": w, "evaluations": self.week_n[w],
                         "ms_per_evaluation": round(self.week_s[w] * 1000 / self.week_n[w], 2)}
                        for w in sorted(self.week_n)],
        }


def child_rebuild(k: Container, first_day: date, audit_updates: bool) -> dict[str, Any]:
    runner = k.runner("compliance")
    probe = Probe(first_day, audit_updates)
    probe.install(runner)
    head = runner.status().head
    start_rss = _rss_now()
    samples: list[int] = []

    def note(position: int, _head: int) -> None:
        samples.append(_rss_now())

    started = time.perf_counter()
    done = runner.rebuild(progress=note)
    seconds = time.perf_counter() - started
    alerts = k.compliance_view.query("SELECT status, count(*) AS n FROM cp_alerts GROUP BY status")
    return {
        "events": done,
        "head": head,
        "seconds": round(seconds, 2),
        "events_per_s": round(done / seconds),
        "rss_before_mib": mib(start_rss),
        "peak_rss_mib": mib(max(samples, default=start_rss)),
        "alert_rows": {r["status"]: r["n"] for r in alerts},
        **probe.report(),
    }


def child(url: str, data_dir: Path, first_day: date, profile: bool, audit_updates: bool) -> int:
    use_careledger_env(data_dir, url)
    from interfaces.container import Container

    k = Container(database_url=url)
    k.store  # noqa: B018 - connect before measuring
    profiler = cProfile.Profile() if profile else None
    try:
        if profiler:
            profiler.enable()
        result = child_rebuild(k, first_day, audit_updates)
        if profiler:
            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
            result["profile_top_tottime"] = text.getvalue()
    finally:
        k.close()
    print(json.dumps(result, default=str))
    return 0


def run_child(url: str, data_dir: Path, first_day: date, profile: bool, audit_updates: bool) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", url, str(data_dir), first_day.isoformat()]
    if profile:
        args.append("--profile")
    if audit_updates:
        args.append("--audit-updates")
    return run_measured_child(args, timeout=900)


# --- parent ------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank, as the other bench scripts compute it."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)


def timed_calls(fn: Callable[[], Any], n: int) -> dict[str, Any]:
    fn()  # warm: connection, plans
    ms = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
    return {"n": n, "p50_ms": percentile(ms, 0.5), "p99_ms": percentile(ms, 0.99),
            "mean_ms": round(sum(ms) / n, 2)}


def measure(size: Size, queries: int, profile: bool, today: date, keep: bool, audit_updates: bool) -> dict[str, Any]:
    with ExitStack() as stack:
        if keep:
            url = create_database(f"compliance_{size.label}")
            data_dir = Path(tempfile.mkdtemp(prefix=f"cl-bench-{dbname_of(url)}-")) / "v"
            log(f"keeping database {url} (CARELEDGER_DATA_DIR={data_dir})")
        else:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cl-bench-"))) / "v"
            url = stack.enter_context(fresh_database(f"compliance_{size.label}"))
        use_careledger_env(data_dir, url)
        from adapters.database import EVENTS_TABLE
        from application import audit
        from domain.practices.practice import practice_id_for
        from interfaces.container import Container

        k = Container(database_url=url)
        stack.callback(k.close)
        k.migrate()
        slug = f"bench-compliance-{size.label}"
        pid = practice_id_for(slug)
        with audit.acting(audit.system("system:bench", practice_id=pid)):
            k.practices.register("Bench Compliance Practice", slug, ZONE.key)
        history = History(k, pid, size, today)
        history.plan()
        log(f"{size.label}: {len(history.actions):,} timed actions planned, {history.first_day} to "
            f"{history.last_day}; writing in time order")
        history.write()
        head = k.store.recorder.max_notification_id() or 0
        topics = k.compliance_view.query(
            f"SELECT count(*) AS n FROM {EVENTS_TABLE} WHERE topic = ANY(%s)",
            (list(k.runner("compliance").projection.topics),),
        )[0]["n"]
        generation = {"events": head, "projection_topic_events": topics, "seconds": round(history.seconds, 2),
                      "events_per_s": round(head / history.seconds), "saves": history.saves,
                      "first_day": history.first_day, "last_day": history.last_day,
                      "clients": sum(len(c) for c in history.caseloads.values()),
                      "associates": len(history.associates), **dict(history.counts)}
        log(f"{size.label}: wrote {head:,} events in {history.seconds:.1f}s ({generation['events_per_s']:,}/s, "
            f"{history.saves:,} saves); rebuilding `compliance` in a fresh process")

        rebuild = run_child(url, data_dir, history.first_day, profile, audit_updates)
        log(f"{size.label}: rebuild {rebuild['events']:,} events in {rebuild['seconds']}s "
            f"({rebuild['events_per_s']:,}/s), {rebuild['evaluations']:,} evaluations at "
            f"{rebuild['ms_per_evaluation']} ms ({rebuild['seconds_in_evaluations']}s), peak RSS "
            f"{rebuild['peak_rss_mib']} MiB (sampled {rebuild['sampled_peak_rss_mib']})")
        log(f"{size.label}: ms/evaluation by phase {rebuild['phase_ms_per_evaluation']}")
        if profile:
            print(rebuild.pop("profile_top_tottime"), file=sys.stderr)

        view = k.compliance_view
        middle = history.first_day + (history.last_day - history.first_day) / 2
        facts = view.query(
            "SELECT (SELECT count(*) FROM cp_sessions) AS sessions, (SELECT count(*) FROM cp_notes) AS notes, "
            "(SELECT count(*) FROM cp_clients) AS clients, (SELECT count(*) FROM cp_consents) AS consents, "
            "(SELECT count(*) FROM cp_supervision) AS supervision, (SELECT count(*) FROM cp_alerts) AS alerts"
        )[0]
        tables = table_stats(view)
        alerts = tables.get("cp_alerts", {})
        log(f"{size.label}: cp_alerts after the rebuild: {alerts.get('live_rows')} rows, "
            f"{alerts.get('updates'):,} updates ({alerts.get('hot_updates'):,} HOT), "
            f"{alerts.get('dead_rows'):,} dead rows, {alerts.get('heap_mib')} MiB heap")
        as_rebuilt = query_round(view, pid, middle, queries, size.label, "as rebuilt")
        with psycopg.connect(url, autocommit=True) as conn:
            for table in view.tables:
                conn.execute(psql.SQL("VACUUM ANALYZE {}").format(psql.Identifier(table)))
        vacuumed = query_round(view, pid, middle, queries, size.label, "after VACUUM ANALYZE")
        return {
            "size": {"clinicians": size.clinicians, "weeks": size.weeks},
            "generation": generation,
            "rebuild": rebuild,
            "fact_rows": dict(facts),
            "table_stats_after_rebuild": tables,
            "queries": {"as_rebuilt": as_rebuilt, "after_vacuum_analyze": vacuumed},
        }


def query_round(view: Any, pid: UUID, middle: date, n: int, label: str, when: str) -> dict[str, Any]:
    active = view.alerts(pid, concerning=None, status="active")
    as_of = view.as_of(pid, middle)
    alerts_q = timed_calls(lambda: view.alerts(pid, concerning=None, status="active"), n)
    as_of_q = timed_calls(lambda: view.as_of(pid, middle), max(200, n * 2 // 3))
    log(f"{label} ({when}): alerts(active) p50 {alerts_q['p50_ms']} / p99 {alerts_q['p99_ms']} ms "
        f"({len(active)} rows); as_of({middle}) p50 {as_of_q['p50_ms']} / p99 {as_of_q['p99_ms']} ms "
        f"({len(as_of.findings)} findings)")
    return {"alerts_active": {**alerts_q, "rows": len(active)},
            "as_of_middle": {**as_of_q, "on": middle, "findings": len(as_of.findings),
                             "violations": len(as_of.violations)}}


def table_stats(view: Any) -> dict[str, dict[str, Any]]:
    """Row churn of the read model's tables, as the rebuild left them (the child's statistics are
    flushed when its connections close)."""
    rows = view.query(
        "SELECT relname, n_live_tup, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup, pg_relation_size(relid) AS heap, "
        "pg_indexes_size(relid) AS indexes FROM pg_stat_user_tables WHERE relname LIKE 'cp\\_%%' ORDER BY relname")
    return {r["relname"]: {"live_rows": r["n_live_tup"], "inserts": r["n_tup_ins"], "updates": r["n_tup_upd"],
                           "hot_updates": r["n_tup_hot_upd"], "dead_rows": r["n_dead_tup"], "heap_mib": mib(r["heap"]),
                           "indexes_mib": mib(r["indexes"])} for r in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["2x8", "5x8", "10x8"],
                        help="CLINICIANSxWEEKS per practice, one fresh database each")
    parser.add_argument("--queries", type=int, default=300, help="calls of alerts() (as_of: 2/3, at least 200)")
    parser.add_argument("--profile", action="store_true", help="cProfile the largest rebuild (to stderr)")
    parser.add_argument("--keep", action="store_true", help="keep the databases (and their dev keys) to look at")
    parser.add_argument("--audit-updates", action="store_true",
                        help="count how many alert refreshes change nothing (one extra read per evaluation, untimed)")
    parser.add_argument("--child", nargs=3, metavar=("URL", "DATA_DIR", "FIRST_DAY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, data_dir, first_day = args.child
        return child(url, Path(data_dir), date.fromisoformat(first_day), args.profile, args.audit_updates)
    exit_on_sigterm()
    load_at_start = note_load()
    sizes = sorted((Size.parse(s) for s in args.sizes), key=lambda s: (s.clinicians * s.weeks, s.clinicians))
    today = datetime.now(ZONE).date()
    with psycopg.connect(SERVER_URL) as conn:
        autovacuum = str(conn.execute("SHOW autovacuum").fetchone()[0])  # type: ignore[index]
    if autovacuum != "on":
        log(f"NOTE: autovacuum is {autovacuum} on this server: the rebuild's dead alert rows stay until VACUUM")
    started = time.perf_counter()
    runs = []
    for size in sizes:
        runs.append(measure(size, args.queries, args.profile and size == sizes[-1], today, args.keep,
                            args.audit_updates))
        log(f"{size.label} done; {time.perf_counter() - started:.0f}s so far")

    def weeks_ms(r: dict[str, Any]) -> str:
        weeks = [w for w in r["rebuild"]["by_week"] if w["week"] >= 0]
        return f"{weeks[0]['ms_per_evaluation']} → {weeks[-1]['ms_per_evaluation']}" if weeks else "-"

    def q(r: dict[str, Any], when: str, name: str) -> str:
        x = r["queries"][when][name]
        return f"{x['p50_ms']} / {x['p99_ms']}"

    table = markdown_table(
        ["clinicians", "weeks", "events", "evaluations", "rebuild s", "events/s", "ms/evaluation",
         "ms/eval week 1 → last", "rebuild s / evaluations (ms)", "peak RSS MiB"],
        [[r["size"]["clinicians"], r["size"]["weeks"], r["rebuild"]["events"], r["rebuild"]["evaluations"],
          r["rebuild"]["seconds"], r["rebuild"]["events_per_s"], r["rebuild"]["ms_per_evaluation"], weeks_ms(r),
          round(1000 * r["rebuild"]["seconds"] / r["rebuild"]["evaluations"], 1),
          max(r["rebuild"]["peak_rss_mib"], r["rebuild"]["sampled_peak_rss_mib"])] for r in runs],
    )
    phases = list(runs[0]["rebuild"]["phase_ms_per_evaluation"]) if runs else []
    phase_table = markdown_table(
        ["clinicians x weeks", "sessions", "notes", "clients", *[f"{p} ms" for p in phases], "findings/eval",
         "cp_alerts rows / updates / dead rows / MiB"],
        [[f"{r['size']['clinicians']} x {r['size']['weeks']}", r["fact_rows"]["sessions"], r["fact_rows"]["notes"],
          r["fact_rows"]["clients"], *[r["rebuild"]["phase_ms_per_evaluation"][p] for p in phases],
          r["rebuild"]["findings_per_evaluation"],
          "{live_rows:,} / {updates:,} / {dead_rows:,} / {heap_mib}".format(
              **r["table_stats_after_rebuild"]["cp_alerts"])] for r in runs],
    )
    query_table = markdown_table(
        ["clinicians x weeks", "active alerts", "alerts() p50 / p99 ms", "same after VACUUM ANALYZE",
         "as_of(middle day) p50 / p99 ms", "same after VACUUM ANALYZE"],
        [[f"{r['size']['clinicians']} x {r['size']['weeks']}", r["queries"]["as_rebuilt"]["alerts_active"]["rows"],
          q(r, "as_rebuilt", "alerts_active"), q(r, "after_vacuum_analyze", "alerts_active"),
          q(r, "as_rebuilt", "as_of_middle"), q(r, "after_vacuum_analyze", "as_of_middle")] for r in runs],
    )
    print(f"\nCompliance projection rebuilt from zero (fresh process), one practice per database "
          f"(server autovacuum: {autovacuum})\n")
    print(table)
    print("\nWhere one evaluation's time goes (ms, means over the rebuild; rows at the end of the history)\n")
    print(phase_table)
    print(f"\nQueries in process (alerts: {args.queries} calls, as_of: {max(200, args.queries * 2 // 3)})\n")
    print(query_table)
    results = {"machine": machine(), "server_autovacuum": autovacuum, "loadavg_at_start": load_at_start,
               "params": vars(args), "total_seconds": round(time.perf_counter() - started, 1), "runs": runs,
               "tables": [table, phase_table, query_table]}
    path = write_results("compliance_rebuild", results)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
