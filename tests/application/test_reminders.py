"""Reminders end to end in one process: the due-work read model, the service's decisions and its
sends through the real Twilio SDK against the local Twilio stand-in (and the recording mailer)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from adapters.clock import FrozenClock
from adapters.twilio_sms import TwilioSms
from application import audit
from application.reminders import Delivery, ReminderService
from domain.clients.client import Client
from domain.practices.practice import Practice, practice_id_for
from domain.reminders.message import compose
from domain.reminders.reminder import Reminder, ReminderKey, RetryPolicy
from domain.scheduling.appointment import Appointment
from tests.standins.fixtures import twilio_standin  # noqa: F401  (fixture)
from tests.standins.twilio_server import TwilioStandin
from tests.support import open_practice

LEASE = timedelta(minutes=2)
ZONE = "America/New_York"


@dataclass
class World:
    k: Any
    standin: TwilioStandin
    clock: FrozenClock
    pid: UUID = field(default_factory=uuid4)
    name: str = ""
    sms: TwilioSms | None = None
    service: ReminderService | None = None

    def ctx(self) -> audit.AuditContext:
        return audit.system("system:test", practice_id=self.pid)

    def with_service(self, sms: bool = True, retry: RetryPolicy | None = None) -> ReminderService:
        self.sms = TwilioSms(self.standin.account_sid, self.standin.auth_token, "+15005550006",
                             api_base=self.standin.base_url) if sms else None
        self.service = ReminderService(self.k.store, self.clock, self.sms, self.k.mailer, self.k.reminder_schedule,
                                       lease=LEASE, retry=retry, worker="test")
        return self.service

    def client(self, phone: str | None = None, email: str | None = None, first_name: str = "Ana") -> UUID:
        client = Client.register(self.pid, "basic", first_name=first_name, last_name="Lopez",
                                 date_of_birth=date(1990, 4, 1), phone=phone, email=email)
        with audit.acting(self.ctx()):
            self.k.store.save(client)
        return client.id

    def book(self, client_id: UUID, starts_in: timedelta, booked_ago: timedelta = timedelta(days=7),
             kind: str = "therapy_session") -> Appointment:
        now = self.clock.now()
        appt = Appointment.book(self.pid, client_id, uuid4(), kind, "in_person", now + starts_in,
                                now + starts_in + timedelta(minutes=53), booked_at=now - booked_ago)
        with audit.acting(self.ctx()):
            self.k.store.save(appt)
        return appt

    def change(self, aggregate_id: UUID, cls: type[Any], act: Any) -> Any:
        with audit.acting(self.ctx()):
            aggregate = self.k.store.load(aggregate_id, cls)
            act(aggregate)
            self.k.store.save(aggregate)
        return aggregate

    def catch_up(self) -> None:
        self.k.runner("reminder_schedule").catch_up()

    def rows(self, appointment_id: UUID) -> list[tuple[int, str, datetime]]:
        self.catch_up()
        return [(r.offset_hours, r.state, r.due_at) for r in self.k.reminder_schedule.for_appointment(appointment_id)]

    def due(self) -> list[ReminderKey]:
        self.catch_up()
        assert self.service is not None
        return [key for key in self.service.sweep(self.clock.now(), limit=10_000) if key.practice_id == self.pid]

    def deliver(self, key: ReminderKey) -> Delivery:
        assert self.service is not None
        with audit.acting(audit.system("system:worker", practice_id=self.pid)):
            return self.service.deliver(key)

    def events(self, key: ReminderKey) -> list[str]:
        return [type(e).__name__ for e in self.k.store.events.get(key.id)]


@pytest.fixture
def world(container: Any, twilio_standin: TwilioStandin) -> World:  # noqa: F811
    return practice_world(container, twilio_standin)


def practice_world(k: Any, standin: TwilioStandin, settings: dict[str, Any] | None = None) -> World:
    slug = f"rem-{uuid4().hex[:10]}"
    w = World(k, standin, FrozenClock(datetime.now(UTC).replace(microsecond=0)), practice_id_for(slug),
              f"Practice {slug}")
    with audit.acting(w.ctx()):
        open_practice(k, w.name, slug, ZONE)
    if settings:
        w.change(w.pid, Practice, lambda p: p.change_settings(settings))
    w.with_service()
    return w


def key(w: World, appt: Appointment, offset: int) -> ReminderKey:
    return ReminderKey(w.pid, appt.id, offset)


# --- the due-work read model --------------------------------------------------------------------


def test_offsets_come_from_the_practice_settings(container: Any, twilio_standin: TwilioStandin) -> None:  # noqa: F811
    w = practice_world(container, twilio_standin, {"reminder_offsets_hours": [72, 3]})
    client = w.client(phone="+14045550101")
    appt = w.book(client, timedelta(days=5))
    assert [(h, s) for h, s, _ in w.rows(appt.id)] == [(72, "due"), (3, "due")]
    assert [at for _, _, at in w.rows(appt.id)] == [appt.starts_at - timedelta(hours=72),
                                                    appt.starts_at - timedelta(hours=3)]

    w.change(w.pid, Practice, lambda p: p.change_settings({"reminder_offsets_hours": [24]}))
    later = w.book(client, timedelta(days=5))
    assert [h for h, _, _ in w.rows(later.id)] == [24]  # settings apply to later bookings

    w.change(w.pid, Practice, lambda p: p.change_settings({"reminders_enabled": False}))
    assert w.rows(w.book(client, timedelta(days=5)).id) == []


def test_default_offsets_skip_those_already_past_at_booking(world: World) -> None:
    client = world.client(phone="+14045550102")
    ahead = world.book(client, timedelta(days=3), booked_ago=timedelta(0))
    assert [h for h, _, _ in world.rows(ahead.id)] == [48, 24, 2]
    soon = world.book(client, timedelta(hours=10), booked_ago=timedelta(0))
    assert [h for h, _, _ in world.rows(soon.id)] == [2]  # 48 h and 24 h were past at booking
    assert world.rows(world.book(client, timedelta(hours=1), booked_ago=timedelta(0)).id) == []


def test_cancelling_removes_due_work(world: World) -> None:
    client = world.client(phone="+14045550103")
    appt = world.book(client, timedelta(hours=20))  # the 48 h and 24 h reminders are due now
    assert {k.offset_hours for k in world.due() if k.appointment_id == appt.id} == {48, 24}
    world.change(appt.id, Appointment,
                 lambda a: a.cancel("client", "illness", world.clock.now(), timedelta(hours=24)))
    assert {s for _, s, _ in world.rows(appt.id)} == {"withdrawn"}
    assert not [k for k in world.due() if k.appointment_id == appt.id]


def test_rescheduling_moves_the_due_work(world: World) -> None:
    client = world.client(phone="+14045550104")
    old = world.book(client, timedelta(days=3))
    now = world.clock.now()
    new = Appointment.book(world.pid, client, old.clinician_id, old.appointment_type, "in_person",
                           old.starts_at + timedelta(days=2), old.ends_at + timedelta(days=2),
                           rescheduled_from=old.id, booked_at=now)
    old.reschedule(new.id, "client", "schedule_conflict", now, timedelta(hours=24))
    with audit.acting(world.ctx()):
        world.k.store.save(old, new)
    assert {s for _, s, _ in world.rows(old.id)} == {"withdrawn"}
    assert world.rows(new.id) == [(h, "due", new.starts_at - timedelta(hours=h)) for h in (48, 24, 2)]


# --- delivery ---------------------------------------------------------------------------------


def test_a_due_reminder_is_sent_once_by_sms_in_the_practice_time(world: World) -> None:
    client = world.client(phone="+14045550105", first_name="Maya")
    appt = world.book(client, timedelta(hours=23, minutes=30))
    [due] = [k for k in world.due() if k.appointment_id == appt.id and k.offset_hours == 24]
    result = world.deliver(due)
    assert result.outcome == "sent"
    [message] = world.standin.sent_to("+14045550105")
    assert message["sid"] == result.provider_id
    expected = compose("Maya", world.name, "Therapy Session", appt.starts_at, ZONE)
    assert message["body"] == expected.sms
    assert "Reply C to confirm or R to reschedule" in message["body"] and "CANCEL" not in message["body"].upper()
    assert world.events(due) == ["Scheduled", "Claimed", "Sent"]
    assert (24, "sent") in [(h, s) for h, s, _ in world.rows(appt.id)]

    assert world.deliver(due).outcome == "done"  # a repeated message changes nothing
    assert len(world.standin.sent_to("+14045550105")) == 1
    # The 48 h reminder is superseded: the 24 h one went out.
    assert world.deliver(key(world, appt, 48)) == Delivery(key(world, appt, 48).id, "skipped", "superseded")


def test_email_reminders_go_through_the_mailer_once(world: World) -> None:
    client = world.client(email="maya@example.test")
    appt = world.book(client, timedelta(hours=1, minutes=50))
    result = world.deliver(key(world, appt, 2))
    assert result.outcome == "sent"
    mails = world.k.mailer.list(to="maya@example.test")
    assert [m.id for m in mails] == [UUID(result.provider_id)]
    assert "Therapy Session" in mails[0].text and "cancel" not in mails[0].text.lower()
    assert world.deliver(key(world, appt, 2)).outcome == "done"


def test_opted_out_and_unreachable_clients_are_skipped(world: World) -> None:
    stopped = world.client(phone="+14045550106")
    world.change(stopped, Client, lambda c: c.change_sms_opt_out(True, "STOP"))
    nowhere = world.client()
    for client, reason in ((stopped, "opted_out"), (nowhere, "client_unreachable")):
        appt = world.book(client, timedelta(hours=1))
        assert world.deliver(key(world, appt, 2)) == Delivery(key(world, appt, 2).id, "skipped", reason)
        assert world.events(key(world, appt, 2)) == ["Scheduled", "Skipped"]
    assert world.standin.sent_to("+14045550106") == []


def test_closed_appointments_and_started_ones_are_skipped(world: World) -> None:
    client = world.client(phone="+14045550107")
    cancelled = world.book(client, timedelta(hours=1))
    world.change(cancelled.id, Appointment,
                 lambda a: a.cancel("practice", "clinician_ill", world.clock.now(), timedelta(hours=24)))
    assert world.deliver(key(world, cancelled, 2)).reason == "appointment_not_open"
    started = world.book(client, -timedelta(minutes=5))
    assert key(world, started, 2) not in world.due()  # the sweep leaves started appointments alone
    assert world.deliver(key(world, started, 2)).reason == "too_late"
    assert world.standin.sent_to("+14045550107") == []


def test_without_twilio_sms_reminders_are_skipped_or_go_by_mail(world: World) -> None:
    world.with_service(sms=False)
    sms_only = world.client(phone="+14045550108")
    both = world.client(phone="+14045550109", email="both@example.test")
    a = world.book(sms_only, timedelta(hours=1))
    assert world.deliver(key(world, a, 2)).reason == "sms_not_configured"
    b = world.book(both, timedelta(hours=1))
    assert world.deliver(key(world, b, 2)).outcome == "sent"
    assert len(world.k.mailer.list(to="both@example.test")) == 1


def test_a_permanent_refusal_fails_once(world: World) -> None:
    client = world.client(phone="+14045550110")
    appt = world.book(client, timedelta(hours=1))
    world.standin.fail(21610, status=400)  # unsubscribed recipient
    result = world.deliver(key(world, appt, 2))
    assert (result.outcome, result.reason) == ("failed", "sms_21610")
    assert world.deliver(key(world, appt, 2)).outcome == "done"
    world.clock.advance(timedelta(minutes=30))
    assert world.deliver(key(world, appt, 2)).outcome == "done"
    assert world.events(key(world, appt, 2)) == ["Scheduled", "Claimed", "Failed"]
    assert world.standin.sent_to("+14045550110") == []
    assert [s for h, s, _ in world.rows(appt.id) if h == 2] == ["failed"]


def test_a_retryable_refusal_is_retried_after_a_pause(world: World) -> None:
    world.with_service(retry=RetryPolicy(max_attempts=3, backoff=(timedelta(minutes=1), timedelta(minutes=5))))
    client = world.client(phone="+14045550111")
    appt = world.book(client, timedelta(hours=1))
    due = key(world, appt, 2)
    world.standin.fail(20429, status=429)
    assert world.deliver(due) == Delivery(due.id, "retrying", "sms_20429")
    assert due not in world.due()  # not before its retry time
    assert world.deliver(due).outcome == "waiting"
    world.clock.advance(timedelta(minutes=1))
    assert due in world.due()
    assert world.deliver(due).outcome == "sent"
    assert len(world.standin.sent_to("+14045550111")) == 1
    assert world.events(due) == ["Scheduled", "Claimed", "Failed", "Claimed", "Sent"]


def test_retries_end_after_the_last_attempt(world: World) -> None:
    world.with_service(retry=RetryPolicy(max_attempts=2, backoff=(timedelta(minutes=1),)))
    client = world.client(phone="+14045550112")
    due = key(world, world.book(client, timedelta(hours=1)), 2)
    world.standin.fail(20500, status=500, times=None)
    assert world.deliver(due).outcome == "retrying"
    world.clock.advance(timedelta(minutes=1))
    assert world.deliver(due).outcome == "failed"
    world.clock.advance(timedelta(minutes=10))
    assert world.deliver(due).outcome == "done"


# --- never twice ------------------------------------------------------------------------------


def test_a_reminder_in_flight_is_not_sent_by_a_second_call(world: World) -> None:
    client = world.client(phone="+14045550113")
    due = key(world, world.book(client, timedelta(hours=1)), 2)
    hold = world.standin.hold()
    results: list[Delivery] = []
    first = threading.Thread(target=lambda: results.append(world.deliver(due)))
    first.start()
    assert hold.arrived.wait(20)
    assert world.deliver(due).outcome == "busy"  # the claim is held
    hold.release.set()
    first.join(20)
    assert [r.outcome for r in results] == ["sent"]
    assert len(world.standin.sent_to("+14045550113")) == 1


def test_concurrent_deliveries_send_each_reminder_once(world: World) -> None:
    keys = [key(world, world.book(world.client(phone=f"+1404555{200 + i:04d}"), timedelta(hours=1)), 2)
            for i in range(6)]
    outcomes: dict[UUID, list[str]] = {k.id: [] for k in keys}
    gate = threading.Barrier(4 * len(keys))
    lock = threading.Lock()

    def run(k: ReminderKey) -> None:
        gate.wait(20)
        outcome = world.deliver(k).outcome
        with lock:
            outcomes[k.id].append(outcome)

    threads = [threading.Thread(target=run, args=(k,)) for k in keys for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, k in enumerate(keys):
        assert sorted(outcomes[k.id]).count("sent") == 1, outcomes[k.id]
        assert set(outcomes[k.id]) <= {"sent", "busy", "done"}
        assert len(world.standin.sent_to(f"+1404555{200 + i:04d}")) == 1
        assert world.events(k).count("Sent") == 1


def test_a_claim_left_by_a_dead_worker_is_reconciled_not_resent(world: World) -> None:
    client = world.client(phone="+14045550114", first_name="Lee")
    appt = world.book(client, timedelta(hours=1))
    due = key(world, appt, 2)
    body = compose("Lee", world.name, "Therapy Session", appt.starts_at, ZONE).sms
    dead = Reminder.schedule(world.pid, client, appt.id, 2, appt.starts_at - timedelta(hours=2))
    dead.claim("dead-worker", "sms", world.clock.now(), LEASE)
    with audit.acting(world.ctx()):
        world.k.store.save(dead)
    assert world.sms is not None
    sid = world.sms.send("+14045550114", body)  # it reached the provider, then the worker died

    assert world.deliver(due).outcome == "busy"  # the lease still runs
    world.clock.advance(LEASE)
    assert due in world.due()
    assert world.deliver(due) == Delivery(due.id, "reconciled", provider_id=sid)
    assert len(world.standin.sent_to("+14045550114")) == 1
    assert world.events(due) == ["Scheduled", "Claimed", "Claimed", "Sent"]


def test_a_claim_whose_send_never_arrived_is_sent_after_the_lease(world: World) -> None:
    client = world.client(phone="+14045550115")
    appt = world.book(client, timedelta(hours=1))
    due = key(world, appt, 2)
    dead = Reminder.schedule(world.pid, client, appt.id, 2, appt.starts_at - timedelta(hours=2))
    dead.claim("dead-worker", "sms", world.clock.now(), LEASE)
    with audit.acting(world.ctx()):
        world.k.store.save(dead)
    world.clock.advance(LEASE + timedelta(seconds=1))
    assert world.deliver(due).outcome == "sent"
    assert len(world.standin.sent_to("+14045550115")) == 1


def test_a_lost_answer_leaves_the_reminder_in_doubt_until_reconciled(world: World) -> None:
    client = world.client(phone="+14045550116")
    due = key(world, world.book(client, timedelta(hours=1)), 2)
    lost = world.standin.hold(record=False)  # the connection drops: no answer, nothing recorded
    lost.release.set()
    assert world.deliver(due).outcome == "in_doubt"
    assert world.standin.sent_to("+14045550116") == []
    world.clock.advance(LEASE)
    assert world.deliver(due).outcome == "sent"  # nothing found at the provider: sent now
    assert len(world.standin.sent_to("+14045550116")) == 1


def test_a_rebuild_gives_the_same_schedule(world: World) -> None:
    client = world.client(phone="+14045550117")
    sent = world.book(client, timedelta(hours=1))
    world.deliver(key(world, sent, 2))
    cancelled = world.book(client, timedelta(days=3))
    world.change(cancelled.id, Appointment,
                 lambda a: a.cancel("client", "illness", world.clock.now(), timedelta(hours=24)))
    world.book(client, timedelta(days=4))
    world.catch_up()

    def snapshot() -> list[dict[str, Any]]:
        return world.k.reminder_schedule.query(
            "SELECT * FROM reminder_schedule WHERE practice_id = %s ORDER BY reminder_id", (world.pid,))

    before = snapshot()
    assert {r["state"] for r in before} == {"sent", "withdrawn", "due"}
    world.k.runner("reminder_schedule").rebuild()
    assert snapshot() == before
