"""A killed worker sends every due reminder exactly once after restart.

`careledger worker` runs as a real subprocess (dramatiq on Redis, the test database, Twilio through
the real SDK against the local stand-in). It is SIGKILLed while the stand-in holds one send in
flight (the message reached "Twilio", the answer never came back), restarted, SIGKILLed again at
a random moment, and restarted once more. In the end the stand-in has received each reminder's
message exactly once and the store holds exactly one Sent per reminder.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from application import audit
from domain.clients.client import Client
from domain.practices.practice import Practice, practice_id_for
from domain.reminders.message import compose
from domain.reminders.reminder import Reminder, ReminderKey
from domain.scheduling.appointment import Appointment
from tests.standins.fixtures import twilio_standin  # noqa: F401  (fixture)
from tests.standins.twilio_server import TwilioStandin
from tests.support import open_practice

ROOT = Path(__file__).resolve().parents[2]
N = 12
ZONE = "America/Chicago"


def phone(i: int) -> str:
    return f"+1312555{1000 + i:04d}"


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A Redis namespace of the test's own (dramatiq queues included), deleted afterwards."""
    name = f"cl-once-{uuid.uuid4().hex[:8]}"
    yield name
    r = redis.Redis.from_url(redis_url)
    for k in r.scan_iter(f"{name}*"):
        r.delete(k)
    r.close()


def book_due_reminders(k: Any, pid: uuid.UUID) -> list[tuple[ReminderKey, str, str]]:
    """N appointments about 23 hours ahead, booked days ago, in a practice reminding 24 hours
    before: each has one reminder, due now. Returns (key, phone, expected text) per reminder."""
    now = datetime.now(UTC)
    out = []
    with audit.acting(audit.system("system:test", practice_id=pid)):
        open_practice(k, "Lakeside Counseling", "once", ZONE)
        practice: Practice = k.store.load(pid, Practice)
        practice.change_settings({"reminder_offsets_hours": [24]})
        k.store.save(practice)
        for i in range(N):
            client = Client.register(pid, "basic", first_name=f"Client{i}", last_name="Doe",
                                     date_of_birth=date(1985, 1, 1 + i), phone=phone(i))
            starts = now + timedelta(hours=23, minutes=i)
            appt = Appointment.book(pid, client.id, uuid.uuid4(), "follow_up", "in_person", starts,
                                    starts + timedelta(minutes=30), booked_at=now - timedelta(days=3))
            k.store.save(client, appt)
            text = compose(f"Client{i}", "Lakeside Counseling", "Follow-Up", appt.starts_at, ZONE).sms
            out.append((ReminderKey(pid, appt.id, 24), phone(i), text))
    return out


def statuses(k: Any, keys: list[ReminderKey]) -> list[str]:
    return [k.store.load(key.id, Reminder).status if k.store.exists(key.id) else "new" for key in keys]


def sent_events(k: Any, key: ReminderKey) -> list[Any]:
    return [e for e in k.store.events.get(key.id) if isinstance(e, Reminder.Sent)]


def test_a_killed_worker_sends_every_due_reminder_exactly_once(
    isolated_container: Any, twilio_standin: TwilioStandin, redis_url: str, prefix: str, tmp_path: Path,  # noqa: F811
) -> None:
    k = isolated_container
    pid = practice_id_for("once")
    booked = book_due_reminders(k, pid)
    keys = [key for key, _, _ in booked]
    k.runner("reminder_schedule").catch_up()
    assert {key.id for key in k.reminders.sweep()} == {key.id for key in keys}

    env = {
        **os.environ, **twilio_standin.env(), "DATABASE_URL": k.database_url, "REDIS_URL": redis_url,
        "CARELEDGER_REDIS_PREFIX": prefix, "CARELEDGER_REMINDER_LEASE_SECONDS": "3", "CARELEDGER_LOG_LEVEL": "INFO",
    }
    cmd = [sys.executable, "-m", "interfaces.cli.main", "worker", "--threads", "2", "--sweep-seconds", "0.2"]
    logs: list[Path] = []

    def start() -> subprocess.Popen[bytes]:
        logs.append(tmp_path / f"worker-{len(logs)}.log")
        with logs[-1].open("wb") as log:
            return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def kill(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL

    def log_text() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in logs)

    # 1. Killed while a send is in flight: "Twilio" has the message, the worker never hears back.
    hold = twilio_standin.hold(record=True)
    first = start()
    assert hold.arrived.wait(90), log_text()
    kill(first)
    hold.release.set()  # the stand-in now answers a dead connection
    by_phone = {to: key for key, to, _ in booked}
    # Messages the provider has whose reminder has no outcome: the held one (and any other send
    # whose answer the kill cut off). Each must end up reconciled, not sent again.
    unanswered = [m for m in twilio_standin.messages if not sent_events(k, by_phone[m["to"]])]
    assert unanswered, log_text()

    # 2. Restarted and killed again at a random moment.
    second = start()
    time.sleep(random.uniform(0.5, 3.0))
    kill(second)

    # 3. Restarted for good: it must finish every reminder.
    third = start()
    deadline = time.monotonic() + 120
    states = statuses(k, keys)
    while time.monotonic() < deadline and not all(s == "sent" for s in states):
        time.sleep(0.2)
        states = statuses(k, keys)
    third.send_signal(signal.SIGTERM)
    third.wait(60)
    assert third.returncode == 0, log_text()
    assert all(s == "sent" for s in states), (states, log_text())

    for key, to, text in booked:
        received = twilio_standin.sent_to(to)
        assert [m["body"] for m in received] == [text], (to, log_text())
        sent = sent_events(k, key)
        assert len(sent) == 1
        assert sent[0].provider_id == received[0]["sid"]
    for message in unanswered:
        [sent] = sent_events(k, by_phone[message["to"]])
        assert sent.reconciled and sent.provider_id == message["sid"]
