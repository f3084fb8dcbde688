"""InboundSmsService against the real store, the booking service and the appointment book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from adapters.clock import FrozenClock
from application import audit
from application.messaging.inbound_sms import InboundReply, InboundSmsService
from application.scheduling.booking import SchedulingService
from domain.clients.client import Client
from domain.messaging.inbound_sms import InboundSms, inbound_sms_id
from domain.messaging.sms_keywords import Intent
from domain.scheduling.appointment import Appointment
from domain.scheduling.front_desk_task import FrontDeskTask, task_id_for
from tests.messaging_support import SmsWorld

PHONE = "+14045550123"


def sid() -> str:
    return "SM" + uuid4().hex


@pytest.fixture
def world(container: Any) -> SmsWorld:
    return SmsWorld.open(container)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def service(container: Any, clock: FrozenClock) -> InboundSmsService:
    return InboundSmsService(container.store, clock, container.appointment_book, SchedulingService(container.store, clock))


def handle(world: SmsWorld, service: InboundSmsService, clients: list[UUID], body: str,
           message_sid: str | None = None) -> InboundReply:
    world.catch_up()
    with audit.acting(audit.system("webhook:twilio", practice_id=world.pid)):
        return service.handle(world.pid, clients, message_sid or sid(), body)


def test_confirm_the_next_appointment_once(world: SmsWorld, service: InboundSmsService) -> None:
    client = world.client(PHONE)
    soon = world.book(client, timedelta(days=2))
    later = world.book(client, timedelta(days=9))
    message = sid()
    reply = handle(world, service, [client], " Yes! ", message)
    assert reply.outcome == "confirmed" and not reply.replayed
    assert reply.text.startswith(f"{world.name}: thank you, your appointment on ")
    assert world.load(soon, Appointment).status == "confirmed"
    assert world.load(later, Appointment).status == "scheduled"
    version = world.load(soon, Appointment).version

    again = handle(world, service, [client], " Yes! ", message)
    assert again == InboundReply(reply.text, "confirmed", replayed=True)
    assert world.load(soon, Appointment).version == version
    sms = world.load(inbound_sms_id(message), InboundSms)
    assert (sms.intent, sms.keyword, sms.appointment_id, sms.client_id) == (Intent.CONFIRM, "YES", soon, client)


def test_confirming_an_already_confirmed_visit_answers_the_same(world: SmsWorld, service: InboundSmsService) -> None:
    client = world.client(PHONE)
    appt = world.book(client, timedelta(days=2))
    first = handle(world, service, [client], "C")
    second = handle(world, service, [client], "confirm")
    assert (first.outcome, second.outcome) == ("confirmed", "already_confirmed")
    assert first.text == second.text
    assert world.load(appt, Appointment).status == "confirmed"


def test_reschedule_cancels_and_opens_one_front_desk_task(
    world: SmsWorld, service: InboundSmsService, container: Any
) -> None:
    client = world.client(PHONE)
    soon = world.book(client, timedelta(days=3))
    later = world.book(client, timedelta(days=10))
    message = sid()
    reply = handle(world, service, [client], "R", message)
    assert reply.outcome == "cancelled"
    assert "is cancelled" in reply.text and world.contact_phone in reply.text
    cancelled = world.load(soon, Appointment)
    assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", "client")
    events = list(container.store.events.get(soon))
    assert events[-1].reason_code == "client_requested_reschedule"

    task = world.load(task_id_for(inbound_sms_id(message), "reschedule_request"), FrontDeskTask)
    assert (task.client_id, task.appointment_id, task.clinician_id, task.source, task.is_open) == (
        client, soon, world.clinician_id, "sms", True)

    # Twilio delivers the webhook again: the later visit is left alone, no second task.
    assert handle(world, service, [client], "R", message).replayed
    assert world.load(later, Appointment).status == "scheduled"
    world.catch_up()
    tasks = container.front_desk_tasks.list(world.pid, client_ids=None, clinician_ids=None, status="open")
    assert [t.task_id for t in tasks] == [task.id]


def test_a_retry_after_a_crash_finishes_the_recorded_action(
    world: SmsWorld, service: InboundSmsService, clock: FrozenClock, container: Any
) -> None:
    """The first delivery recorded the message and cancelled the visit, then died before `Handled`."""
    client = world.client(PHONE)
    soon = world.book(client, timedelta(days=3))
    later = world.book(client, timedelta(days=10))
    message = sid()
    with audit.acting(audit.system("webhook:twilio", practice_id=world.pid)):
        starts_at = world.load(soon, Appointment).starts_at
        container.store.save(InboundSms.receive(world.pid, client, message, Intent.RESCHEDULE, "R", soon, starts_at,
                                                clock.now()))
        SchedulingService(container.store, clock).cancel(world.pid, soon, "client", "client_requested_reschedule")
    reply = handle(world, service, [client], "R", message)
    assert (reply.outcome, reply.replayed) == ("cancelled", False)
    assert world.load(later, Appointment).status == "scheduled"
    assert world.load(task_id_for(inbound_sms_id(message), "reschedule_request"), FrontDeskTask).appointment_id == soon
    assert world.load(inbound_sms_id(message), InboundSms).outcome == "cancelled"


def test_no_open_appointment(world: SmsWorld, service: InboundSmsService) -> None:
    client = world.client(PHONE)
    for body in ("C", "R"):
        reply = handle(world, service, [client], body)
        assert reply.outcome == "no_open_appointment"
        assert "could not find an upcoming appointment" in reply.text and world.contact_phone in reply.text


def test_a_shared_phone_acts_on_the_soonest_visit_and_opts_everyone_out(
    world: SmsWorld, service: InboundSmsService
) -> None:
    parent, child = world.client(PHONE), world.client(PHONE)
    parents = world.book(parent, timedelta(days=5))
    childs = world.book(child, timedelta(days=2))
    assert handle(world, service, [parent, child], "C").outcome == "confirmed"
    assert (world.load(childs, Appointment).status, world.load(parents, Appointment).status) == (
        "confirmed", "scheduled")

    stop = handle(world, service, [parent, child], "Stop.")
    assert (stop.outcome, stop.text) == ("opted_out", "")
    assert all(world.load(c, Client).sms_opted_out for c in (parent, child))
    assert world.load(parent, Client).reminder_channel() is None

    start = handle(world, service, [parent, child], "start")
    assert start.outcome == "opted_in" and "STOP" in start.text
    assert not any(world.load(c, Client).sms_opted_out for c in (parent, child))
    assert world.load(parent, Client).reminder_channel() == "sms"


@pytest.mark.parametrize("word", ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"])
def test_every_carrier_opt_out_word_opts_out_and_cancels_nothing(
    world: SmsWorld, service: InboundSmsService, word: str
) -> None:
    client = world.client(PHONE)
    appt = world.book(client, timedelta(days=2))
    reply = handle(world, service, [client], word.lower())
    assert (reply.outcome, reply.text) == ("opted_out", "")
    assert world.load(client, Client).sms_opted_out
    assert world.load(appt, Appointment).status == "scheduled"


def test_help_names_the_practice_and_its_contact(world: SmsWorld, service: InboundSmsService) -> None:
    reply = handle(world, service, [world.client(PHONE)], "HELP")
    assert reply.outcome == "help"
    assert world.name in reply.text and world.contact_phone in reply.text
    assert "CANCEL" not in reply.text.upper()


def test_anything_else_gets_a_hint_and_is_recorded_without_its_text(
    world: SmsWorld, service: InboundSmsService, container: Any
) -> None:
    client = world.client(PHONE)
    message = sid()
    reply = handle(world, service, [client], "Can I come at 3 instead? My divorce hearing moved", message)
    assert reply.outcome == "unknown"
    assert "Reply C to confirm" in reply.text and "CANCEL" not in reply.text.upper()
    stored = container.store.recorder.select_events(inbound_sms_id(message))
    assert stored and all(b"divorce" not in e.state for e in stored)
    with audit.acting(audit.system("system:test", practice_id=world.pid)):
        history = [type(e).__name__ for _, e in container.store.history(client)]
    assert history[-2:] == ["Received", "Handled"]


def test_the_message_needs_a_client(world: SmsWorld, service: InboundSmsService) -> None:
    from domain.errors import InvalidCommand

    with pytest.raises(InvalidCommand):
        handle(world, service, [], "C")


def test_the_same_message_delivered_concurrently_acts_once(
    world: SmsWorld, service: InboundSmsService, container: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from eventsourcing.persistence import IntegrityError

    client = world.client(PHONE)
    soon = world.book(client, timedelta(days=3))
    later = world.book(client, timedelta(days=10))
    world.catch_up()
    message = sid()

    def deliver(_: int) -> str:
        with audit.acting(audit.system("webhook:twilio", practice_id=world.pid)):
            try:
                reply = service.handle(world.pid, [client], message, "R")
            except IntegrityError:
                return "retry"  # answered 409: Twilio delivers it again later
            return "replayed" if reply.replayed else reply.outcome

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(deliver, range(8)))
    assert results.count("cancelled") == 1, results
    assert set(results) <= {"cancelled", "replayed", "retry"}
    assert world.load(later, Appointment).status == "scheduled"
    cancels = [e for e in container.store.events.get(soon) if isinstance(e, Appointment.Cancelled)]
    assert len(cancels) == 1
    assert [type(e).__name__ for e in container.store.events.get(inbound_sms_id(message))] == ["Received", "Handled"]
    assert handle(world, service, [client], "R", message).replayed
