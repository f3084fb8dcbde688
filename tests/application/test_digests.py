"""Daily digests and Monday weekly reports end to end: a scripted practice (written through the
aggregates), the read models, the service and real SMTP to a local aiosmtpd server, with a frozen
clock. Each test has a database of its own: `due` looks at every practice."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID, uuid4

import pytest

from adapters.clock import FrozenClock
from adapters.mail import SmtpMailer
from application.digests import DigestOutcome, DigestReads, DigestService
from application.mail import OutgoingMail
from domain.clients.client import Client
from domain.digests.digest import Digest, DigestKey, digest_id_for
from domain.identity.membership import Membership
from domain.scheduling.appointment import Appointment
from domain.scheduling.consents import ConsentRecord
from interfaces.sweeps import send_digests
from interfaces.workers.periodic import PERIODIC_SWEEPS
from tests.adapters.test_mail import Inbox, free_port, smtp  # noqa: F401  (fixture)
from tests.projections.compliance_script import FULL_DEMOGRAPHICS, PLAN, ComplianceScript

MONDAY = date(2026, 3, 9)  # the day after the clocks went forward in New York
CLIENT_NAMES = ("Zephyrine", "Quillfeather", "Bartholomew", "Ashgrove")
PROJECTIONS = ("members", "compliance", "attendance_metrics", "appointments", "clinical_notes")


@dataclass
class Practice:
    k: Any
    s: ComplianceScript
    clock: FrozenClock
    admin: UUID
    supervisor: UUID
    clinician: UUID
    front_desk: UUID
    left: UUID  # deactivated: gets nothing
    emails: dict[UUID, str]

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return self.s.at(day, hour, minute)

    def settle(self) -> None:
        for name in PROJECTIONS:
            self.k.runner(name).catch_up()

    def service(self, mailer: Any, worker: str = "test") -> DigestService:
        k = self.k
        reads = DigestReads(k.member_directory, k.compliance_view, k.attendance_metrics, k.appointment_book,
                            k.clinical_notes)
        return DigestService(k.store, self.clock, mailer, reads, worker=worker)

    def events(self, member: UUID, kind: str, on: date) -> list[Any]:
        return list(self.k.store.events.get(digest_id_for(member, kind, on)))


def member(s: ComplianceScript, name: str, role: str, license_type: str | None = None,
           supervisor: UUID | None = None) -> UUID:
    m = Membership.invite(s.practice_id, f"{uuid4().hex[:8]}@example.org", name, role, "h",
                          datetime(2030, 1, 1, tzinfo=s.zone), license_type=license_type)
    m.accept(uuid4())
    m.record_hipaa_training(s.trained_on, s.trained_on)
    if supervisor is not None:
        m.assign_supervisor(s.load(supervisor, Membership))
    s.save(m)
    return m.id


def client(s: ComplianceScript, clinician: UUID, first: str, last: str) -> UUID:
    c = Client.register(s.practice_id, "basic", first_name=first, last_name=last, date_of_birth=date(1990, 5, 5),
                        **FULL_DEMOGRAPHICS)
    c.assign(clinician, "clinician")
    c.record_consent(uuid4(), ConsentRecord("informed_consent", s.at(date(2025, 12, 1), 9), None, f"{first} {last}"))
    s.save(c)
    return c.id


def visit(s: ComplianceScript, clinician: UUID, client_id: UUID, day: date, hour: int, status: str) -> UUID:
    """A visit booked a week ahead; completed, marked no-show, cancelled or left open."""
    starts = s.at(day, hour, 0)
    a = Appointment.book(s.practice_id, client_id, clinician, "therapy_session", "in_person", starts,
                         starts + timedelta(minutes=50), booked_at=starts - timedelta(days=7))
    if status == "completed":
        a.complete(starts + timedelta(minutes=50))
    elif status == "no_show":
        a.mark_no_show(starts + timedelta(minutes=15))
    elif status == "cancelled":
        a.cancel("client", "schedule_conflict", starts - timedelta(days=2), timedelta(hours=24))
    s.save(a)
    return a.id


def scripted_practice(k: Any) -> Practice:
    """Dana Reed (clinician, supervised by Sam Lee) in New York:

    week before (23 Feb - 1 Mar): 3 booked, 2 completed (one note signed that day, one two days
    later), 1 no-show;
    last week (2 - 8 Mar): 6 booked, 4 completed (notes signed the same day on 3, 5 and 8 March;
    the 2 March note never signed), 1 cancelled, 1 no-show (8 March);
    today (Monday 9 March): visits at 09:00 and 14:00, one at 08:00 cancelled;
    a treatment plan last reviewed 17 December 2025 (day 82 today).
    """
    s = ComplianceScript(k, start=date(2026, 2, 1))
    admin = member(s, "Alex Admin", "admin")
    supervisor = member(s, "Sam Lee", "supervisor", "LCSW")
    clinician = member(s, "Dana Reed", "clinician", "LCSW", supervisor=supervisor)
    front_desk = member(s, "Fran Desk", "front_desk")
    left = member(s, "Lee Gone", "clinician", "LCSW")
    gone = s.load(left, Membership)
    gone.deactivate("left_practice")
    s.save(gone)
    zeph = client(s, clinician, "Zephyrine", "Quillfeather")
    bart = client(s, clinician, "Bartholomew", "Ashgrove")

    def seen(day: date, hour: int, client_id: UUID, signed: datetime | None) -> None:
        appointment = visit(s, clinician, client_id, day, hour, "completed")
        s.note(clinician, client_id, day, appointment, signed_at=signed)

    seen(date(2026, 2, 24), 10, zeph, s.at(date(2026, 2, 24), 17))
    seen(date(2026, 2, 25), 10, bart, s.at(date(2026, 2, 27), 9))
    visit(s, clinician, zeph, date(2026, 2, 26), 10, "no_show")
    seen(date(2026, 3, 2), 10, zeph, None)
    seen(date(2026, 3, 3), 10, bart, s.at(date(2026, 3, 3), 18))
    visit(s, clinician, zeph, date(2026, 3, 4), 10, "cancelled")
    seen(date(2026, 3, 5), 10, bart, s.at(date(2026, 3, 5), 23, 30))
    seen(date(2026, 3, 8), 10, zeph, s.at(date(2026, 3, 8), 16))
    visit(s, clinician, bart, date(2026, 3, 8), 12, "no_show")
    visit(s, clinician, zeph, MONDAY, 9, "open")
    visit(s, clinician, bart, MONDAY, 14, "open")
    visit(s, clinician, zeph, MONDAY, 8, "cancelled")
    s.note(clinician, bart, date(2025, 12, 17), None, kind="treatment_plan", sections=PLAN,
           signed_at=s.at(date(2025, 12, 17), 15))
    s.ticks(date(2026, 3, 2), MONDAY)
    p = Practice(k, s, FrozenClock(s.at(MONDAY, 6, 59)), admin, supervisor, clinician, front_desk, left, {})
    p.settle()
    p.emails.update({r.member_id: r.email for r in k.member_directory.list(s.practice_id, active_only=False)})
    return p


def by_recipient(inbox: Inbox) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for msg in inbox.messages():
        found.setdefault(str(msg["To"]), []).append(msg)  # type: ignore[arg-type]
    return found


def body(msg: Any) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def practice(isolated_container: Any) -> Practice:
    return scripted_practice(isolated_container)


CLINICIAN_DAILY = """Good morning, Dana Reed.

Your daily digest from Practice {slug} for Monday 9 March 2026.

Yesterday (Sunday 8 March 2026)
- Sessions completed: 1 of 2 scheduled (kept visit rate 50.0%)
- No-shows: 1
- Notes signed the same day: 1 of 1 completed session

Pending tasks
- Unsigned notes: 1 (oldest: 7 days)
- Treatment plans due for review: 1
- Compliance alerts: 0 critical, 0 warning, 1 info
  - [info] Treatment plan last reviewed on 2025-12-17 is due for review by 2026-03-17 (day 82).
    Action: review the treatment plan

Today
- Appointments: 2, the first at 09:00 (America/New_York time)

--
CareLedger sends this digest every morning from 07:00 practice time.
It names no clients: open CareLedger for the details.
"""

CLINICIAN_WEEKLY = """Good morning, Dana Reed.

Your weekly performance report from Practice {slug}: last week, 2 March to 8 March 2026, against the week before.

Last week
- Sessions completed: 4 of 6 scheduled (week before: 2 of 3)
- No-shows: 1 (week before: 1)
- Cancellations: 1 (week before: 0)
- Notes signed the same day: 3 of 4 completed sessions

Against the benchmarks
- Kept visit rate: 66.7% (week before: 66.7%, no change); benchmark >= 85%: needs attention
- No-show rate: 16.7% (week before: 33.3%, -16.6 points); benchmark <= 10%: needs attention
- Cancellation rate: 16.7% (week before: 0.0%, +16.7 points); benchmark <= 15%: off target
- Same-day documentation: 75.0% (week before: 50.0%, +25.0 points); benchmark >= 90%: needs attention

Goals for this week
- Kept visit rate: back to >= 85% (last week 66.7%)
- No-show rate: back to <= 10% (last week 16.7%)
- Cancellation rate: back to <= 15% (last week 16.7%)
- Same-day documentation: back to >= 90% (last week 75.0%)

Action items
- Unsigned notes: 1 (oldest: 7 days)
- [info] Treatment plan last reviewed on 2025-12-17 is due for review by 2026-03-17 (day 82).
  Action: review the treatment plan

--
CareLedger sends this report every Monday from 07:00 practice time.
It names no clients: open CareLedger for the details.
"""

SUPERVISOR_DAILY = """Good morning, Sam Lee.

Your daily digest from Practice {slug} for Monday 9 March 2026.

Pending tasks
- Unsigned notes: 0
- Treatment plans due for review: 0
- Compliance alerts: 2 critical, 1 warning, 0 info
  - [critical] (Dana Reed) {overdue}
    Action: review the documentation backlog
  - [critical] (Dana Reed) Note for the session on 2026-03-02 is unsigned after 7 days (Georgia 7-day rule).
    Action: sign the note
  - [warning] (Dana Reed) KVR below 70% for 2 weeks running (latest 66.7%).
    Action: schedule coaching

Your team (1 person), yesterday
- Sessions completed: 1 of 2 scheduled; no-shows: 1
- Unsigned notes: 1
- Active compliance alerts: 4 (2 critical)

--
CareLedger sends this digest every morning from 07:00 practice time.
It names no clients: open CareLedger for the details.
"""

FRONT_DESK_DAILY = """Good morning, Fran Desk.

Your daily digest from Practice {slug} for Monday 9 March 2026.

Pending tasks
- Unsigned notes: 0
- Treatment plans due for review: 0
- Compliance alerts: none

--
CareLedger sends this digest every morning from 07:00 practice time.
It names no clients: open CareLedger for the details.
"""


def use(p: Practice, port: int) -> Any:
    """The container's own wiring (k.digests, the worker's sweep) on the frozen clock and SMTP."""
    k = p.k
    k.clock = p.clock
    k.mailer = SmtpMailer("127.0.0.1", port, pool=k.pool)
    [sweep] = [s for s in PERIODIC_SWEEPS if s.name == "digests"]
    assert (sweep.every_seconds, sweep.run) == (300.0, send_digests)
    return sweep.run


def subjects(inbox: Inbox, to: str) -> list[str]:
    return sorted(str(m["Subject"]) for m in by_recipient(inbox).get(to, []))


def test_each_member_gets_the_digest_and_the_monday_report_once(
    practice: Practice, smtp: tuple[Inbox, int]  # noqa: F811
) -> None:
    inbox, port = smtp
    p = practice
    sweep = use(p, port)
    assert p.k.digests.due() == []  # 06:59 in New York
    assert sweep(p.k) == [] and inbox.envelopes == []

    p.clock.set(p.at(MONDAY, 7, 0))
    outcomes: list[DigestOutcome] = sweep(p.k)
    assert sorted(o.outcome for o in outcomes) == ["sent"] * 8
    daily, weekly = (f"Daily digest for Monday 9 March 2026 - Practice {p.s.slug}",
                     f"Weekly performance report, week of Monday 2 March 2026 - Practice {p.s.slug}")
    for who in (p.admin, p.supervisor, p.clinician, p.front_desk):
        assert subjects(inbox, p.emails[who]) == [daily, weekly]
    assert p.emails[p.left] not in by_recipient(inbox) and len(inbox.envelopes) == 8

    mail = {(str(m["To"]), str(m["Subject"]).split(" ")[0]): m for m in inbox.messages()}
    slug = p.s.slug
    assert body(mail[p.emails[p.clinician], "Daily"]) == CLINICIAN_DAILY.format(slug=slug)
    assert body(mail[p.emails[p.clinician], "Weekly"]) == CLINICIAN_WEEKLY.format(slug=slug)
    assert body(mail[p.emails[p.supervisor], "Daily"]) == SUPERVISOR_DAILY.format(
        slug=slug, overdue="1 notes unsigned for 7 days or more (oldest from 2026-03-02).")
    assert body(mail[p.emails[p.front_desk], "Daily"]) == FRONT_DESK_DAILY.format(slug=slug)
    assert (
        "Practice totals (4 staff members), yesterday\n"
        "- Sessions completed: 1 of 2 scheduled; no-shows: 1\n"
        "- Unsigned notes: 1\n"
        "- Active compliance alerts: 4 (2 critical)\n"
    ) in body(mail[p.emails[p.admin], "Daily"])
    assert (
        "Practice totals (4 staff members), last week\n"
        "- Sessions completed: 4 of 6 scheduled; no-shows: 1\n"
        "- Kept visit rate: 66.7% (benchmark >= 85%: needs attention)\n"
        "- No-show rate: 16.7% (benchmark <= 10%: needs attention)\n"
        "- Cancellation rate: 16.7% (benchmark <= 15%: off target)\n"
        "- Same-day documentation: 75.0% (benchmark >= 90%: needs attention)\n"
    ) in body(mail[p.emails[p.admin], "Weekly"])
    for m in inbox.messages():
        text = f"{m['Subject']}\n{body(m)}"
        assert not [name for name in CLIENT_NAMES if name.lower() in text.lower()]

    [opened, claimed, sent] = p.events(p.clinician, "daily", MONDAY)
    assert (type(opened), type(claimed), type(sent)) == (Digest.Opened, Digest.Claimed, Digest.Sent)
    assert (sent.practice_id, sent.member_id, sent.kind, sent.period_start, sent.period_end, sent.at) == (
        p.s.practice_id, p.clinician, "daily", date(2026, 3, 8), date(2026, 3, 8), p.at(MONDAY, 7, 0))
    assert sent.counts == {
        "scheduled": 2, "completed": 1, "no_shows": 1, "signed_same_day": 1, "unsigned_notes": 1,
        "oldest_unsigned_days": 7, "awaiting_cosign": 0, "plans_due": 1, "alerts_critical": 0, "alerts_warning": 0,
        "alerts_info": 1, "appointments_today": 2,
    }
    assert f"<{sent.message_key}@careledger.test>" == mail[p.emails[p.clinician], "Daily"]["Message-ID"]
    weekly_sent = p.events(p.clinician, "weekly", MONDAY)[-1]
    assert (weekly_sent.period_start, weekly_sent.period_end) == (date(2026, 3, 2), date(2026, 3, 8))
    assert {k: weekly_sent.counts[k] for k in ("scheduled", "completed", "no_shows", "cancelled", "signed_same_day",
                                                "prior_scheduled", "prior_completed", "goals")} == {
        "scheduled": 6, "completed": 4, "no_shows": 1, "cancelled": 1, "signed_same_day": 3, "prior_scheduled": 3,
        "prior_completed": 2, "goals": 4}

    p.clock.set(p.at(MONDAY, 7, 5))  # the sweep's next turn, and a second process's
    assert sweep(p.k) == [] and p.k.digests.run() == [] and len(inbox.envelopes) == 8
    p.clock.set(p.at(MONDAY, 23, 59))
    assert p.k.digests.due() == []

    p.clock.set(p.at(MONDAY + timedelta(days=1), 7, 1))  # Tuesday: the daily digest only
    assert sorted(o.outcome for o in sweep(p.k)) == ["sent"] * 4
    assert len(inbox.envelopes) == 12
    assert subjects(inbox, p.emails[p.clinician]) == [
        f"Daily digest for Monday 9 March 2026 - Practice {slug}",
        f"Daily digest for Tuesday 10 March 2026 - Practice {slug}",
        f"Weekly performance report, week of Monday 2 March 2026 - Practice {slug}",
    ]
    assert sweep(p.k) == [] and len(inbox.envelopes) == 12


def test_two_workers_racing_send_each_digest_once(practice: Practice, smtp: tuple[Inbox, int]) -> None:  # noqa: F811
    inbox, port = smtp
    p = practice
    p.clock.set(p.at(MONDAY, 7, 30))
    workers = [p.service(SmtpMailer("127.0.0.1", port, pool=p.k.pool), worker=f"w{i}") for i in (1, 2)]
    start = threading.Barrier(2)
    results: list[list[DigestOutcome]] = [[], []]

    def work(i: int) -> None:
        start.wait()
        results[i] = workers[i].run()

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    outcomes = results[0] + results[1]
    assert sum(1 for o in outcomes if o.outcome == "sent") == 8
    assert {o.outcome for o in outcomes} <= {"sent", "busy", "done"}
    assert len(inbox.envelopes) == 8
    assert sorted(len(v) for v in by_recipient(inbox).values()) == [2, 2, 2, 2]
    for who in (p.admin, p.supervisor, p.clinician, p.front_desk):
        for kind in ("daily", "weekly"):
            assert [type(e).__name__ for e in p.events(who, kind, MONDAY)] == ["Opened", "Claimed", "Sent"]


class Crash(BaseException):
    """The worker dies (after the mail went out, before the outcome is saved)."""


@dataclass
class DyingMailer:
    mailer: SmtpMailer

    def send(self, message: OutgoingMail) -> str:
        self.mailer.send(message)
        raise Crash


def test_a_crash_between_mailing_and_recording_sends_nothing_twice(
    practice: Practice, smtp: tuple[Inbox, int]  # noqa: F811
) -> None:
    inbox, port = smtp
    p = practice
    p.clock.set(p.at(MONDAY, 7, 0))
    key = DigestKey(p.s.practice_id, p.clinician, "daily", MONDAY)
    with pytest.raises(Crash):
        p.service(DyingMailer(SmtpMailer("127.0.0.1", port, pool=p.k.pool))).send(key)
    [first] = inbox.messages()
    assert [type(e).__name__ for e in p.events(p.clinician, "daily", MONDAY)] == ["Opened", "Claimed"]

    service = p.service(SmtpMailer("127.0.0.1", port, pool=p.k.pool), worker="next")
    p.clock.set(p.at(MONDAY, 7, 9))  # the dead worker's lease (10 minutes) still runs
    assert key not in service.due() and len(service.due()) == 7
    assert service.send(key).outcome == "busy"
    p.clock.set(p.at(MONDAY, 7, 10))
    assert key in service.due()
    outcome = service.send(key)
    assert outcome.outcome == "sent" and len(inbox.envelopes) == 1  # the mailer knew the key: not sent again
    assert first["Message-ID"] == f"<{outcome.message_key}@careledger.test>"
    events = p.events(p.clinician, "daily", MONDAY)
    assert [type(e).__name__ for e in events] == ["Opened", "Claimed", "Claimed", "Sent"]
    assert (events[2].takeover, events[2].attempt, events[3].message_key) == (True, 2, outcome.message_key)
    assert service.send(key).outcome == "done" and len(inbox.envelopes) == 1


def test_a_failed_send_is_retried_after_a_pause(practice: Practice, smtp: tuple[Inbox, int]) -> None:  # noqa: F811
    inbox, port = smtp
    p = practice
    p.clock.set(p.at(MONDAY, 7, 0))
    key = DigestKey(p.s.practice_id, p.front_desk, "weekly", MONDAY)
    down = p.service(SmtpMailer("127.0.0.1", free_port(), pool=p.k.pool, timeout=2))
    failed = down.send(key)
    assert (failed.outcome, failed.error) == ("retrying", "mail_failed") and inbox.envelopes == []
    [*_, event] = p.events(p.front_desk, "weekly", MONDAY)
    assert isinstance(event, Digest.Failed)
    assert (event.error, event.at, event.retry_at) == ("mail_failed", p.at(MONDAY, 7, 0), p.at(MONDAY, 7, 15))

    up = p.service(SmtpMailer("127.0.0.1", port, pool=p.k.pool))
    p.clock.set(p.at(MONDAY, 7, 14))
    assert key not in up.due() and up.send(key).outcome == "waiting"
    p.clock.set(p.at(MONDAY, 7, 15))
    assert up.send(key).outcome == "sent"
    [msg] = inbox.messages()
    assert (str(msg["To"]), str(msg["Subject"])) == (
        p.emails[p.front_desk], f"Weekly performance report, week of Monday 2 March 2026 - Practice {p.s.slug}")
    assert [type(e).__name__ for e in p.events(p.front_desk, "weekly", MONDAY)] == [
        "Opened", "Claimed", "Failed", "Claimed", "Sent"]
