"""Inbound texts: confirm, reschedule, opt out/in, help; once per Twilio MessageSid.

The caller (the webhook) has verified Twilio's signature and routed the message: the practice from
the number it was sent to, the client(s) from the number it came from. Recording comes first: an
`InboundSms` whose id follows from the MessageSid names the intent and the appointment it is about
(the client's next open one at that moment). Then the action, then `Handled`. A replayed webhook
finds the record and answers the same reply without acting again; one that finds the record
unhandled (a crash between) finishes the action for the recorded appointment. Several clients may
share a number: keywords about an appointment act on the soonest one among theirs; opt-out and
opt-in act on all of them, as the carrier does for the number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from application.errors import Conflict, NotFound
from application.ports import Clock
from application.store import EventStore, Saved
from domain.clients.client import Client
from domain.errors import IllegalTransition, InvalidCommand
from domain.messaging.inbound_sms import InboundSms, inbound_sms_id
from domain.messaging.sms_keywords import Intent, classify
from domain.practices.practice import Practice
from domain.scheduling.appointment import Appointment
from domain.scheduling.front_desk_task import FrontDeskTask, task_id_for

RESCHEDULE_REASON = "client_requested_reschedule"
TASK_KIND = "reschedule_request"
HINT = "Reply C to confirm your next appointment, R to ask for a new time, HELP for help, STOP to stop texts."


class UpcomingAppointment(Protocol):
    @property
    def appointment_id(self) -> UUID: ...

    @property
    def starts_at(self) -> datetime: ...

    @property
    def status(self) -> str: ...


class AppointmentBook(Protocol):
    """The appointment read model (`AppointmentBookView`)."""

    def next_open(self, practice_id: UUID, client_id: UUID, after: datetime) -> UpcomingAppointment | None: ...


class AppointmentCommands(Protocol):
    """The booking service (`SchedulingService`): it also frees the clinician's time on cancel."""

    def confirm(self, practice_id: UUID, appointment_id: UUID) -> Saved: ...

    def cancel(self, practice_id: UUID, appointment_id: UUID, by: str, reason_code: str) -> Saved: ...


@dataclass(frozen=True)
class InboundReply:
    text: str  # what to text back; "" = nothing (after STOP the carrier answers itself)
    outcome: str
    replayed: bool  # the MessageSid was handled before: nothing was done this time


class InboundSmsService:
    def __init__(
        self, store: EventStore, clock: Clock, appointments: AppointmentBook, scheduling: AppointmentCommands
    ) -> None:
        self.store = store
        self.clock = clock
        self.appointments = appointments
        self.scheduling = scheduling

    def handle(self, practice_id: UUID, client_ids: Sequence[UUID], message_sid: str, body: str) -> InboundReply:
        if not client_ids:
            raise InvalidCommand("An inbound message needs the client it came from.", field="From")
        practice: Practice = self.store.load(practice_id, Practice)
        sms = self._existing(message_sid)
        if sms is None:
            sms = self._receive(practice_id, client_ids, message_sid, body)
            if sms.handled:
                return self._reply(practice, sms, replayed=True)
        elif sms.handled:
            return self._reply(practice, sms, replayed=True)
        return self._act(practice, sms, client_ids)

    # --- steps ----------------------------------------------------------------------------------

    def _existing(self, message_sid: str) -> InboundSms | None:
        sms_id = inbound_sms_id(message_sid)
        if not self.store.exists(sms_id):
            return None
        try:
            found: InboundSms = self.store.load(sms_id, InboundSms)
        except NotFound:
            raise Conflict("This MessageSid was recorded for another practice.") from None
        return found

    def _receive(self, practice_id: UUID, client_ids: Sequence[UUID], message_sid: str, body: str) -> InboundSms:
        keyword = classify(body)
        now = self.clock.now()
        client_id, target = client_ids[0], None
        if keyword.intent in {Intent.CONFIRM, Intent.RESCHEDULE}:
            client_id, target = self._soonest(practice_id, client_ids, now)
        sms = InboundSms.receive(
            practice_id, client_id, message_sid, keyword.intent, keyword.keyword,
            target.appointment_id if target else None, target.starts_at if target else None, now,
        )
        try:
            self.store.save(sms)
        except IntegrityError:  # the same message, delivered twice at once: the other one records it
            other = self._existing(message_sid)
            if other is None:
                raise
            return other
        return sms

    def _soonest(
        self, practice_id: UUID, client_ids: Sequence[UUID], now: datetime
    ) -> tuple[UUID, UpcomingAppointment | None]:
        found = [(a, c) for c in client_ids if (a := self.appointments.next_open(practice_id, c, now)) is not None]
        if not found:
            return client_ids[0], None
        appointment, client_id = min(found, key=lambda f: (f[0].starts_at, str(f[1])))
        return client_id, appointment

    def _act(self, practice: Practice, sms: InboundSms, client_ids: Sequence[UUID]) -> InboundReply:
        changed: list[Client | FrontDeskTask] = []
        task_id: UUID | None = None
        if sms.intent is Intent.CONFIRM:
            outcome = self._confirm(sms)
        elif sms.intent is Intent.RESCHEDULE:
            outcome = self._cancel(sms)
            if outcome == "cancelled":
                task = self._task(sms)
                task_id = task.id
                changed.append(task)
        elif sms.intent in {Intent.OPT_OUT, Intent.OPT_IN}:
            opted_out = sms.intent is Intent.OPT_OUT
            changed.extend(self._opt(client_ids, opted_out, sms.keyword or ""))
            outcome = "opted_out" if opted_out else "opted_in"
        elif sms.intent is Intent.HELP:
            outcome = "help"
        else:
            outcome = "unknown"
        sms.handle(outcome, self.clock.now(), task_id)
        try:
            self.store.save(*changed, sms)
        except IntegrityError:  # handled concurrently by a second delivery of the same message
            other = self._existing(sms.message_sid)
            if other is None or not other.handled:
                raise
            return self._reply(practice, other, replayed=True)
        return self._reply(practice, sms, replayed=False)

    def _confirm(self, sms: InboundSms) -> str:
        if sms.appointment_id is None:
            return "no_open_appointment"
        try:
            self.scheduling.confirm(sms.practice_id, sms.appointment_id)
        except IllegalTransition as e:
            return "already_confirmed" if e.details.get("status") == "confirmed" else "no_open_appointment"
        except NotFound:
            return "no_open_appointment"
        return "confirmed"

    def _cancel(self, sms: InboundSms) -> str:
        if sms.appointment_id is None:
            return "no_open_appointment"
        try:
            self.scheduling.cancel(sms.practice_id, sms.appointment_id, by="client", reason_code=RESCHEDULE_REASON)
        except IllegalTransition as e:
            # Cancelled already: by this message before a crash (finish the job), or otherwise.
            return "cancelled" if e.details.get("status") == "cancelled" else "no_open_appointment"
        except NotFound:
            return "no_open_appointment"
        return "cancelled"

    def _task(self, sms: InboundSms) -> FrontDeskTask:
        """The message's follow-up task: opened once, however often the message is retried."""
        task_id = task_id_for(sms.id, TASK_KIND)
        if self.store.exists(task_id):
            existing: FrontDeskTask = self.store.load(task_id, FrontDeskTask)
            return existing
        assert sms.appointment_id is not None
        appointment: Appointment = self.store.load(sms.appointment_id, Appointment)
        return FrontDeskTask.open(
            sms.practice_id, sms.client_id, TASK_KIND, self.clock.now(), appointment_id=appointment.id,
            clinician_id=appointment.clinician_id, source="sms", task_id=task_id,
        )

    def _opt(self, client_ids: Sequence[UUID], opted_out: bool, keyword: str) -> list[Client]:
        changed = []
        for client_id in client_ids:
            client: Client = self.store.load(client_id, Client)
            if not client.erased and client.change_sms_opt_out(opted_out, keyword):
                changed.append(client)
        return changed

    # --- replies --------------------------------------------------------------------------------

    def _reply(self, practice: Practice, sms: InboundSms, replayed: bool) -> InboundReply:
        outcome = sms.outcome or "unknown"
        return InboundReply(reply_text(practice, outcome, sms.appointment_starts_at), outcome, replayed)


def reply_text(practice: Practice, outcome: str, starts_at: datetime | None) -> str:
    """What the client reads back. Never asks them to reply CANCEL (a carrier opt-out word)."""
    contact = practice.scheduling.contact_phone
    call = f" or call us at {contact}" if contact else ""
    when = _local(starts_at, practice.time_zone) if starts_at else "your appointment"
    if outcome in {"confirmed", "already_confirmed"}:
        return f"{practice.name}: thank you, your appointment on {when} is confirmed."
    if outcome == "cancelled":
        again = f" Or call us at {contact}." if contact else ""
        return f"{practice.name}: your appointment on {when} is cancelled. We will be in touch to rebook.{again}"
    if outcome == "no_open_appointment":
        return f"{practice.name}: we could not find an upcoming appointment. Please contact the office{call}."
    if outcome == "opted_out":
        return ""
    if outcome == "opted_in":
        return f"{practice.name}: you will receive appointment texts again. Reply STOP to stop, HELP for help."
    if outcome == "help":
        reach = f"Call us at {contact}. " if contact else ""
        return f"{practice.name}: {reach}{HINT}"
    return f"{practice.name}: sorry, we did not understand. {HINT}"


def _local(at: datetime, zone: str) -> str:
    local = at.astimezone(ZoneInfo(zone))
    hour = local.strftime("%I").lstrip("0")
    return f"{local.strftime('%a %b')} {local.day} at {hour}:{local.strftime('%M %p')}"
