"""The daily digest and the Monday weekly performance report (seed 001, Module 7), mailed once per
member and local date.

`due(now)` lists, for every practice whose local time is past 07:00, each active staff member
with an e-mail address whose digest for today (and, on a Monday, whose weekly report) is not sent
or given up. `send(key)` decides on the `Digest` aggregate, so it is safe to call any number of
times from any number of workers:

1. Sent or given up: nothing to do. Claimed by someone whose lease still runs: busy. A failed
   attempt still pausing: waiting.
2. The figures are gathered from the read models and worded (`domain.digests.content`).
3. The digest is claimed and the claim saved before anything is mailed: of two racing workers
   the store lets one save; the other stops.
4. The mail goes out with the digest's id as the mailer's idempotency key, then Sent is recorded
   with the mailer's message id. A refusal records Failed (retried after 15 and 60 minutes, then
   given up; a bad address at once).

A worker that dies after mailing and before recording leaves the claim in doubt; after the lease
the next sweep takes it over, and the mailer, seeing the key again, sends nothing and answers with
the first message's id, which is recorded. So a digest is mailed at most once; with `SmtpMailer`
a worker killed inside the SMTP transaction leaves the key claimed and that digest is lost, never
duplicated (see application/reminders.py). The counts of a digest recorded by a takeover are the
ones computed at the takeover.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from application import audit
from application.errors import NotFound
from application.mail import Mailer, OutgoingMail
from application.ports import Clock
from application.store import EventStore
from domain.clinical.note_types import NOTE_TYPES
from domain.compliance.rules import PLAN_REVIEW
from domain.digests.content import (
    Alert,
    DailyFacts,
    Letter,
    Rollup,
    Visits,
    WeeklyFacts,
    daily_digest,
    weekly_report,
)
from domain.digests.digest import DAILY, DIGEST_RETRY, WEEKLY, Digest, DigestKey
from domain.practices.practice import Practice
from domain.reminders.reminder import RetryPolicy
from domain.scheduling.working_time import local_to_utc

log = logging.getLogger(__name__)

ACTOR = "system:digests"
SEND_FROM = time(7)
ADMIN_ROLES = frozenset({"owner", "admin"})
CASELOAD_ROLES = frozenset({"clinician"})  # always shown their sessions; others when they had any
NOT_HELD = frozenset({"cancelled", "rescheduled"})
NOTES_LOOKED_AT = 2000  # a member's most recent notes by service date: weeks of work, for same-day signing


# --- ports: the read models, as the service uses them -----------------------------------------


class StaffRow(Protocol):
    @property
    def member_id(self) -> UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def supervisor_id(self) -> UUID | None: ...


class StaffDirectory(Protocol):
    def list(
        self, practice_id: UUID, role: str | None = None, active_only: bool = True, staff_only: bool = False
    ) -> Sequence[StaffRow]: ...


class AlertRow(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def clinician_id(self) -> UUID | None: ...
    @property
    def supervisor_id(self) -> UUID | None: ...


class ComplianceAlerts(Protocol):
    def practices(self) -> list[tuple[UUID, str]]: ...

    def alerts(
        self, practice_id: UUID, *, concerning: Collection[UUID] | None, status: str | None = None,
        kind: str | None = None, severity: str | None = None, limit: int = 200,
    ) -> Sequence[AlertRow]: ...


class AttendanceReport(Protocol):
    @property
    def counts(self) -> Mapping[str, int]: ...


class Attendance(Protocol):
    def report(
        self, practice_id: UUID, period: str, day: date, clinician_id: UUID | None = None
    ) -> AttendanceReport: ...


class AppointmentRow(Protocol):
    @property
    def appointment_id(self) -> UUID: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...


class AppointmentBook(Protocol):
    def clinician_calendar(
        self, practice_id: UUID, clinician_id: UUID, start: datetime, end: datetime
    ) -> Sequence[AppointmentRow]: ...


class NoteRow(Protocol):
    @property
    def note_type(self) -> str: ...
    @property
    def service_date(self) -> date: ...
    @property
    def appointment_id(self) -> UUID | None: ...
    @property
    def signed_at(self) -> datetime | None: ...


class NoteMetadata(Protocol):
    def find(
        self, practice_id: UUID, *, only_clients: Collection[UUID] | None, care_team_any: Collection[UUID] | None,
        client_id: UUID | None = None, author_id: UUID | None = None, status: str | None = None, limit: int = 100,
    ) -> Sequence[NoteRow]: ...

    def unsigned(
        self, practice_id: UUID, author_id: UUID, *, only_clients: Collection[UUID] | None,
        care_team_any: Collection[UUID] | None, limit: int = 200,
    ) -> Sequence[NoteRow]: ...

    def awaiting_cosign(
        self, practice_id: UUID, supervisor_id: UUID, *, only_clients: Collection[UUID] | None,
        care_team_any: Collection[UUID] | None, limit: int = 200,
    ) -> Sequence[NoteRow]: ...


@dataclass(frozen=True)
class DigestReads:
    directory: StaffDirectory
    compliance: ComplianceAlerts
    attendance: Attendance
    appointments: AppointmentBook
    notes: NoteMetadata


@dataclass(frozen=True)
class DigestOutcome:
    """What one `send` did. outcome: sent | failed (given up) | retrying | busy (another worker
    holds it) | waiting (a retry not yet due) | done (sent or given up before) | in_doubt (mailed,
    but another worker recorded first) | skipped (the member no longer gets digests)."""

    digest_id: UUID
    kind: str
    outcome: str
    message_key: str | None = None
    error: str | None = None


# --- gathering the figures --------------------------------------------------------------------


class PracticeFigures:
    """One practice's figures for one local date, each read once (a sweep shares it between the
    practice's members)."""

    def __init__(self, reads: DigestReads, practice_id: UUID, zone: ZoneInfo, today: date, name: str) -> None:
        self.reads = reads
        self.practice_id = practice_id
        self.zone = zone
        self.today = today
        self.name = name
        self.staff = [m for m in reads.directory.list(practice_id, staff_only=True) if m.status == "active"]
        self.names = {m.member_id: m.full_name for m in self.staff}
        self._alerts: list[AlertRow] | None = None
        self._visits: dict[tuple[UUID | None, date], Visits] = {}
        self._unsigned: dict[UUID, tuple[int, int | None]] = {}
        self._notes: dict[UUID, dict[UUID, datetime]] = {}

    def member(self, member_id: UUID) -> StaffRow | None:
        return next((m for m in self.staff if m.member_id == member_id), None)

    def midnight(self, day: date) -> datetime:
        """The instant the local date begins (the first one after a skipped midnight)."""
        return local_to_utc(day, time(), self.zone)

    @property
    def alerts(self) -> list[AlertRow]:
        if self._alerts is None:
            self._alerts = list(self.reads.compliance.alerts(
                self.practice_id, concerning=None, status="active", limit=100_000))
        return self._alerts

    def alerts_for(self, m: StaffRow) -> tuple[Alert, ...]:
        """Alerts addressed to the member: as the clinician concerned, as the supervisor told, or
        as an administrator for the practice's administrators."""
        mine = [a for a in self.alerts if (a.target == "clinician" and a.clinician_id == m.member_id)
                or (a.target == "supervisor" and a.supervisor_id == m.member_id)
                or (a.target == "admin" and m.role in ADMIN_ROLES)]
        return tuple(Alert(a.severity, a.message, a.action, self._about(a.clinician_id, m.member_id)) for a in mine)

    def _about(self, clinician_id: UUID | None, recipient: UUID) -> str | None:
        if clinician_id is None or clinician_id == recipient:
            return None
        return self.names.get(clinician_id)

    def plans_due(self, member_id: UUID) -> int:
        return sum(1 for a in self.alerts if a.kind == PLAN_REVIEW and a.clinician_id == member_id)

    def visits(self, member_id: UUID | None, period: str, day: date) -> Visits:
        """A member's (None: the practice's) appointments of the day or ISO week of `day`."""
        key = (member_id, day if period == "day" else day - timedelta(days=day.weekday()))
        if key not in self._visits:
            counts = self.reads.attendance.report(self.practice_id, period, day, member_id).counts
            first = key[1]
            last = first + timedelta(days=0 if period == "day" else 6)
            if member_id is None:
                same_day = sum(self._signed_same_day(m.member_id, first, last) for m in self.staff)
            else:
                same_day = self._signed_same_day(member_id, first, last)
            self._visits[key] = Visits(counts["scheduled"], counts["completed"], counts["no_shows"],
                                       counts["cancelled"], min(same_day, counts["completed"]))
        return self._visits[key]

    def _signed_same_day(self, member_id: UUID, first: date, last: date) -> int:
        """Completed visits of the member between the dates whose session note the member signed on
        the visit's local date."""
        start, end = self.midnight(first), self.midnight(last + timedelta(days=1))
        completed = [a for a in self.reads.appointments.clinician_calendar(self.practice_id, member_id, start, end)
                     if a.status == "completed" and start <= a.starts_at < end]
        if not completed:
            return 0
        signed = self._session_notes_signed(member_id)
        return sum(
            1 for a in completed
            if a.appointment_id in signed
            and signed[a.appointment_id].astimezone(self.zone).date() == a.starts_at.astimezone(self.zone).date()
        )

    def _session_notes_signed(self, member_id: UUID) -> dict[UUID, datetime]:
        """Appointment -> the earliest signature of a session note the member wrote for it."""
        if member_id not in self._notes:
            signed: dict[UUID, datetime] = {}
            for n in self.reads.notes.find(self.practice_id, only_clients=None, care_team_any=None,
                                           author_id=member_id, limit=NOTES_LOOKED_AT):
                kind = NOTE_TYPES.get(n.note_type)
                if n.appointment_id is None or n.signed_at is None or kind is None or not kind.session_note:
                    continue
                earlier = signed.get(n.appointment_id)
                signed[n.appointment_id] = n.signed_at if earlier is None else min(earlier, n.signed_at)
            self._notes[member_id] = signed
        return self._notes[member_id]

    def unsigned(self, member_id: UUID) -> tuple[int, int | None]:
        """How many of the member's notes are not fully signed, and the oldest one's age in days."""
        if member_id not in self._unsigned:
            rows = self.reads.notes.unsigned(self.practice_id, member_id, only_clients=None, care_team_any=None,
                                             limit=100_000)
            oldest = min((n.service_date for n in rows), default=None)
            self._unsigned[member_id] = (len(rows), (self.today - oldest).days if oldest is not None else None)
        return self._unsigned[member_id]

    def awaiting_cosign(self, member_id: UUID) -> int:
        return len(self.reads.notes.awaiting_cosign(self.practice_id, member_id, only_clients=None,
                                                    care_team_any=None, limit=100_000))

    def today_appointments(self, member_id: UUID) -> tuple[int, time | None]:
        start, end = self.midnight(self.today), self.midnight(self.today + timedelta(days=1))
        held = sorted(a.starts_at for a in self.reads.appointments.clinician_calendar(
            self.practice_id, member_id, start, end) if a.status not in NOT_HELD and start <= a.starts_at < end)
        return len(held), (held[0].astimezone(self.zone).time() if held else None)

    def team(self, member_id: UUID) -> list[StaffRow]:
        return [m for m in self.staff if m.supervisor_id == member_id and m.member_id != member_id]

    def rollup(self, people: Sequence[StaffRow] | None, period: str, day: date) -> Rollup:
        """A team's figures (`people`), or with None the practice's."""
        members = self.staff if people is None else people
        ids = {m.member_id for m in members}
        who: list[UUID | None] = [None] if people is None else list(ids)

        def total(on: date) -> Visits:
            return sum((self.visits(i, period, on) for i in who), Visits())

        alerts = self.alerts if people is None else [a for a in self.alerts if a.clinician_id in ids]
        return Rollup(
            people=len(members), visits=total(day),
            previous=total(day - timedelta(days=7)) if period == "week" else Visits(),
            unsigned_notes=sum(self.unsigned(i)[0] for i in ids), alerts=len(alerts),
            critical_alerts=sum(1 for a in alerts if a.severity == "critical"),
        )


def compose(figures: PracticeFigures, m: StaffRow, kind: str) -> Letter:
    """The member's letter of that kind for the figures' date."""
    f = figures
    today = f.today
    team = f.team(m.member_id)
    admin = m.role in ADMIN_ROLES
    unsigned, oldest = f.unsigned(m.member_id)
    if kind == DAILY:
        yesterday = today - timedelta(days=1)
        count, first = f.today_appointments(m.member_id)
        return daily_digest(DailyFacts(
            practice=f.name, recipient=m.full_name, on=today, time_zone=f.zone.key,
            sees_clients=m.role in CASELOAD_ROLES, yesterday=f.visits(m.member_id, "day", yesterday),
            unsigned_notes=unsigned, oldest_unsigned_days=oldest, awaiting_cosign=f.awaiting_cosign(m.member_id),
            plans_due=f.plans_due(m.member_id), alerts=f.alerts_for(m), appointments_today=count, first_start=first,
            team=f.rollup(team, "day", yesterday) if team else None,
            practice_totals=f.rollup(None, "day", yesterday) if admin else None,
        ))
    last_week = today - timedelta(days=7)
    return weekly_report(WeeklyFacts(
        practice=f.name, recipient=m.full_name, week_start=last_week, sees_clients=m.role in CASELOAD_ROLES,
        last_week=f.visits(m.member_id, "week", last_week),
        week_before=f.visits(m.member_id, "week", last_week - timedelta(days=7)),
        unsigned_notes=unsigned, oldest_unsigned_days=oldest, alerts=f.alerts_for(m),
        team=f.rollup(team, "week", last_week) if team else None,
        practice_totals=f.rollup(None, "week", last_week) if admin else None,
    ))


# --- the service --------------------------------------------------------------------------------


class DigestService:
    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        mailer: Mailer,
        reads: DigestReads,
        *,
        lease: timedelta = timedelta(minutes=10),
        retry: RetryPolicy = DIGEST_RETRY,
        worker: str | None = None,
        send_from: time = SEND_FROM,
    ) -> None:
        self.store = store
        self.clock = clock
        self.mailer = mailer
        self.reads = reads
        self.lease = lease
        self.retry = retry
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.send_from = send_from

    def _zones(self) -> dict[UUID, str]:
        return dict(self.reads.compliance.practices())

    def due(self, now: datetime | None = None) -> list[DigestKey]:
        """Digests to work on now (read models may lag a little; `send` decides on the aggregate)."""
        now = now or self.clock.now()
        keys = []
        for practice_id, zone in self.reads.compliance.practices():
            local = now.astimezone(ZoneInfo(zone))
            if local.time() < self.send_from:
                continue
            today = local.date()
            kinds = (DAILY, WEEKLY) if today.weekday() == 0 else (DAILY,)
            for m in self.reads.directory.list(practice_id, staff_only=True):
                if m.status != "active" or not m.email:
                    continue
                for kind in kinds:
                    key = DigestKey(practice_id, m.member_id, kind, today)
                    if self._ready(key, now):
                        keys.append(key)
        return keys

    def run(self) -> list[DigestOutcome]:
        """Send every due digest; one member's error is logged and does not stop the others."""
        figures: dict[tuple[UUID, date], PracticeFigures] = {}
        outcomes = []
        for key in self.due():
            try:
                outcomes.append(self.send(key, figures))
            except Exception:
                log.exception("digest %s (%s) not sent", key.id, key.kind)
        return outcomes

    def send(self, key: DigestKey, shared: dict[tuple[UUID, date], PracticeFigures] | None = None) -> DigestOutcome:
        now = self.clock.now()
        with audit.acting(audit.system(ACTOR, practice_id=key.practice_id)):
            digest = self._load(key)
            if digest is None:
                digest = Digest.open(key.practice_id, key.member_id, key.kind, key.on, now)
            if digest.done:
                return DigestOutcome(digest.id, key.kind, "done", digest.message_key, digest.error)
            if digest.held(now):
                return DigestOutcome(digest.id, key.kind, "busy")
            if digest.waiting(now):
                return DigestOutcome(digest.id, key.kind, "waiting")
            figures = self._figures(key, shared)
            member = figures.member(key.member_id)
            if member is None or not member.email:
                return DigestOutcome(digest.id, key.kind, "skipped")
            letter = compose(figures, member, key.kind)
            me = f"{self.worker}/{uuid4().hex[:8]}"
            digest.claim(me, now, self.lease)
            if not self._save(digest):
                return DigestOutcome(digest.id, key.kind, "busy")
            return self._mail(digest, me, member.email, letter)

    # --- steps --------------------------------------------------------------------------------

    def _ready(self, key: DigestKey, now: datetime) -> bool:
        if not self.store.exists(key.id):
            return True
        with audit.acting(audit.system(ACTOR, practice_id=key.practice_id)):
            digest = self._load(key)
        return digest is None or digest.ready(now)

    def _load(self, key: DigestKey) -> Digest | None:
        try:
            digest: Digest = self.store.load(key.id, Digest)
        except NotFound:
            return None
        return digest

    def _figures(self, key: DigestKey, shared: dict[tuple[UUID, date], PracticeFigures] | None) -> PracticeFigures:
        cache = {} if shared is None else shared
        found = cache.get((key.practice_id, key.on))
        if found is None:
            zone = ZoneInfo(self._zones().get(key.practice_id, "UTC"))
            practice: Practice = self.store.load(key.practice_id, Practice)
            found = cache[(key.practice_id, key.on)] = PracticeFigures(
                self.reads, key.practice_id, zone, key.on, practice.name)
        return found

    def _save(self, digest: Digest) -> bool:
        """False when another worker changed the digest first (it owns this turn)."""
        try:
            self.store.save(digest)
        except IntegrityError:
            return False
        return True

    def _mail(self, digest: Digest, me: str, to: str, letter: Letter) -> DigestOutcome:
        try:
            message_key = self.mailer.send(OutgoingMail(
                to=to, subject=letter.subject, text=letter.text, idempotency_key=str(digest.id),
                practice_id=digest.practice_id,
            ))
        except ValueError:
            return self._fail(digest, me, "invalid_address", permanent=True)
        except Exception:
            log.exception("digest %s: mail not sent", digest.id)
            return self._fail(digest, me, "mail_failed", permanent=False)
        digest.record_sent(me, letter.counts, message_key, self.clock.now())
        if not self._save(digest):
            log.warning("digest %s: mailed, but another worker recorded the outcome first", digest.id)
            return DigestOutcome(digest.id, digest.kind, "in_doubt", message_key)
        return DigestOutcome(digest.id, digest.kind, "sent", message_key)

    def _fail(self, digest: Digest, me: str, error: str, permanent: bool) -> DigestOutcome:
        digest.record_failure(me, error, permanent, self.clock.now(), self.retry)
        if not self._save(digest):
            return DigestOutcome(digest.id, digest.kind, "busy")
        return DigestOutcome(digest.id, digest.kind, "failed" if digest.status == "failed" else "retrying",
                             error=error)
