"""Sending appointment reminders exactly once, by SMS or e-mail.

`deliver(key)` runs for one reminder (one appointment, one offset) and is safe to call any number
of times, from any number of workers at once:

1. The Reminder aggregate is loaded (or created: its id follows from the key). Done reminders,
   claims whose lease still runs and retries not yet due end the call.
2. A claim in doubt (lease over, no outcome: the last worker died or lost its answer) is taken
   over first and reconciled: for SMS the provider is asked for a message with exactly this body
   to this number since the first unresolved claim (`SmsGateway.find_sent`); one found is recorded
   as Sent (`reconciled`) and nothing is sent again. For e-mail the Mailer's idempotency key (the
   reminder id) makes the repeated send a no-op if the first one reached the outbox.
3. Reasons not to send (appointment no longer open, too late or superseded, reminders off, client
   opted out or unreachable, SMS not configured) record Skipped.
4. Otherwise the reminder is claimed (saved before anything is sent: optimistic concurrency lets
   one worker win), the message goes out and Sent is recorded with the provider's id. A provider
   refusal records Failed, retryable ones with a backoff until the attempts are used up. A send
   whose answer was lost (no provider code) is left claimed: in doubt, reconciled after the lease.

The lease must be longer than the provider's request timeout, or a slow send could be taken over
and reconciled before it reaches the provider.

E-mail limit: `SmtpMailer` claims the idempotency key before the SMTP transaction, so a worker
killed inside the transaction leaves the key claimed and the retry sends nothing: e-mail reminders
are at most once (a crash mid-transaction can lose one, then recorded Sent with the outbox id while
its outbox row stays `sending`), never duplicated.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from application.errors import NotFound
from application.mail import Mailer, OutgoingMail
from application.ports import Clock, DueReminders, SmsGateway, SmsRejected
from application.store import EventStore
from domain.clients.client import Client
from domain.practices.practice import Practice
from domain.practices.scheduling_policy import SchedulingPolicy
from domain.reminders.message import ReminderMessage, compose
from domain.reminders.reach import reachable, unreachable_reason
from domain.reminders.reminder import Reminder, ReminderKey, RetryPolicy
from domain.reminders.timing import due_at, lateness
from domain.scheduling.appointment import OPEN, Appointment
from domain.scheduling.appointment_types import BUILT_IN_TYPES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What one `deliver` call did. outcome: sent | reconciled | skipped | failed | retrying |
    in_doubt (left claimed, reconciled later) | busy (another worker holds it) | waiting (retry
    not yet due) | done (an earlier call finished it)."""

    reminder_id: UUID
    outcome: str
    reason: str | None = None
    provider_id: str | None = None


class ReminderService:
    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        sms: SmsGateway | None,
        mailer: Mailer,
        schedule: DueReminders,
        *,
        lease: timedelta = timedelta(minutes=2),
        retry: RetryPolicy | None = None,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.sms = sms
        self.mailer = mailer
        self.schedule = schedule
        self.lease = lease
        self.retry = retry or RetryPolicy()
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"

    def sweep(self, now: datetime | None = None, limit: int = 500) -> list[ReminderKey]:
        """The reminders due for a delivery attempt now (read model: may lag a little; `deliver`
        decides on the aggregate)."""
        return list(self.schedule.due(now or self.clock.now(), limit))

    def deliver(self, key: ReminderKey) -> Delivery:
        now = self.clock.now()
        appointment: Appointment = self.store.load(key.appointment_id, Appointment)
        if appointment.practice_id != key.practice_id:
            raise NotFound(f"No appointment {key.appointment_id}.")
        reminder = self._load_or_schedule(key, appointment)
        if reminder.done:
            return Delivery(reminder.id, "done", reminder.outcome_reason, reminder.provider_id)
        if reminder.held(now):
            return Delivery(reminder.id, "busy")
        if reminder.waiting(now):
            return Delivery(reminder.id, "waiting")
        practice: Practice = self.store.load(appointment.practice_id, Practice)
        client: Client = self.store.load(appointment.client_id, Client)
        policy = practice.scheduling
        message = self._compose(practice, client, appointment, policy)
        me = f"{self.worker}/{uuid4().hex[:8]}"

        if reminder.in_doubt(now):
            since = reminder.in_doubt_since
            assert reminder.channel is not None
            assert since is not None
            reminder.claim(me, reminder.channel, now, self.lease)
            if not self._save(reminder):
                return Delivery(reminder.id, "busy")
            try:
                found = self._find_sent(reminder.channel, client, message, since)
            except SmsRejected:
                if now >= appointment.starts_at:  # moot now, and the provider cannot tell us
                    return self._skip(reminder, me, "too_late", now)
                log.warning("reminder %s: provider unreachable for reconciliation; left in doubt", reminder.id)
                return Delivery(reminder.id, "in_doubt")
            if found is not None:
                reminder.record_sent(me, reminder.channel, found, self.clock.now(), reconciled=True)
                if not self._save(reminder):
                    return Delivery(reminder.id, "busy")
                log.info("reminder %s: found at the provider after a lost claim; not sent again", reminder.id)
                return Delivery(reminder.id, "reconciled", provider_id=found)

        channel, reason = self._channel(reminder, appointment, client, policy, key.offset_hours, now)
        if reason is not None or channel is None:
            return self._skip(reminder, me, reason or "client_unreachable", now)
        if reminder.status != "claimed":
            reminder.claim(me, channel, now, self.lease)
            if not self._save(reminder):
                return Delivery(reminder.id, "busy")
        return self._send(reminder, me, channel, client, message, policy, appointment.practice_id)

    # --- steps --------------------------------------------------------------------------------

    def _load_or_schedule(self, key: ReminderKey, appointment: Appointment) -> Reminder:
        try:
            reminder: Reminder = self.store.load(key.id, Reminder)
            return reminder
        except NotFound:
            return Reminder.schedule(
                appointment.practice_id, appointment.client_id, appointment.id, key.offset_hours,
                due_at(appointment.starts_at, key.offset_hours),
            )

    def _save(self, reminder: Reminder) -> bool:
        """False when another worker changed the reminder first (it owns this turn)."""
        try:
            self.store.save(reminder)
        except IntegrityError:
            return False
        return True

    def _skip(self, reminder: Reminder, me: str, reason: str, now: datetime) -> Delivery:
        reminder.skip(me, reason, now)
        if not self._save(reminder):
            return Delivery(reminder.id, "busy")
        return Delivery(reminder.id, "skipped", reason)

    def _channel(
        self, reminder: Reminder, appointment: Appointment, client: Client, policy: SchedulingPolicy,
        offset_hours: int, now: datetime,
    ) -> tuple[str | None, str | None]:
        """(channel, None) to send through, or (None, skip reason)."""
        if appointment.status not in OPEN:
            return None, "appointment_not_open"
        late = lateness(offset_hours, appointment.starts_at, appointment.booked_at, policy.reminder_offsets_hours, now)
        if late is not None:
            return None, late
        if not policy.reminders_enabled:
            return None, "reminders_disabled"
        if reminder.channel is not None:  # fixed by an earlier claim: never switch while in doubt
            channel = reminder.channel
            if not reachable(client, channel):
                return None, unreachable_reason(client, channel)
        else:
            preferred = client.reminder_channel()
            if preferred is None:
                return None, unreachable_reason(client)
            channel = preferred
            if channel == "sms" and self.sms is None:
                channel = "email" if reachable(client, "email") else ""
        if not channel or (channel == "sms" and self.sms is None):
            return None, "sms_not_configured"
        return channel, None

    def _find_sent(self, channel: str, client: Client, message: ReminderMessage, since: datetime) -> str | None:
        phone = client.demographics.get("phone")
        if channel != "sms" or self.sms is None or not phone:
            return None
        return self.sms.find_sent(str(phone), message.sms, since)

    def _send(
        self, reminder: Reminder, me: str, channel: str, client: Client, message: ReminderMessage,
        policy: SchedulingPolicy, practice_id: UUID,
    ) -> Delivery:
        try:
            if channel == "sms":
                assert self.sms is not None
                provider_id = self.sms.send(str(client.demographics["phone"]), message.sms, policy.sms_number)
            else:
                provider_id = self.mailer.send(OutgoingMail(
                    to=str(client.demographics["email"]), subject=message.subject, text=message.email,
                    idempotency_key=f"reminder/{reminder.id}", practice_id=practice_id,
                ))
        except SmsRejected as e:
            if e.code is None:  # no answer: the provider may have taken it
                log.warning("reminder %s: no answer from the SMS provider; left in doubt", reminder.id)
                return Delivery(reminder.id, "in_doubt")
            return self._fail(reminder, me, f"sms_{e.code}", e.permanent)
        except ValueError:
            return self._fail(reminder, me, "invalid_address", True)
        except Exception:
            if channel == "sms":
                raise  # unknown outcome: stays claimed, reconciled once the lease is over
            log.exception("reminder %s: mail not sent", reminder.id)
            return self._fail(reminder, me, "mail_failed", False)  # SmtpMailer marked the key failed
        reminder.record_sent(me, channel, provider_id, self.clock.now())
        if not self._save(reminder):
            log.warning("reminder %s: sent, but another worker recorded the outcome first", reminder.id)
            return Delivery(reminder.id, "in_doubt", provider_id=provider_id)
        return Delivery(reminder.id, "sent", provider_id=provider_id)

    def _fail(self, reminder: Reminder, me: str, reason: str, permanent: bool) -> Delivery:
        reminder.record_failure(me, reason, permanent, self.clock.now(), self.retry)
        if not self._save(reminder):
            return Delivery(reminder.id, "busy")
        outcome = "failed" if reminder.status == "failed" else "retrying"
        return Delivery(reminder.id, outcome, reason)

    @staticmethod
    def _compose(
        practice: Practice, client: Client, appointment: Appointment, policy: SchedulingPolicy
    ) -> ReminderMessage:
        code = appointment.appointment_type
        kind = practice.own_types.get(code) or BUILT_IN_TYPES.get(code)
        visit = kind.name if kind is not None else code.replace("_", " ")
        return compose(
            str(client.demographics.get("first_name") or ""), practice.name, visit, appointment.starts_at,
            practice.time_zone, policy.contact_phone,
        )
