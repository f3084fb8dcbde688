"""The Reminder aggregate: one appointment reminder at one offset, sent at most once.

Its id follows from the appointment and the offset, so each reminder exists once however many
workers think of it. The lifecycle:

    scheduled -> claimed -> sent | failed | skipped
    claimed -> retrying -> claimed ...   (a retryable provider refusal)
    claimed -> claimed                   (a takeover: the lease ran out without an outcome)

A worker claims before it sends and saves the claim first; the claim is an optimistic-concurrency
write on this aggregate, so of two workers only one can hold it. A claim carries a lease: while it
runs, nobody else may claim. A claim that outlived its lease without an outcome is *in doubt* (the
worker may have died after the provider accepted the message); whoever takes it over must find
out whether the message went out before sending again. `in_doubt_since` is the time of the first
claim since the last definite outcome, the earliest moment a lost send could have happened.

The channel is fixed by the first claim and kept by later ones, so a reminder in doubt is never
sent a second time through another channel. No event carries PHI: numbers, addresses and texts
stay with the client and the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.scheduling.appointment_types import CODE
from domain.scheduling.working_time import as_utc

REMINDER_NAMESPACE = UUID("5d0c3f7e-2b8a-4c61-9e47-0a9b6f1d2c35")
CHANNELS = ("sms", "email")
SKIP_REASONS = (
    "appointment_not_open",  # cancelled, rescheduled, completed, no-show or checked in
    "too_late",  # the appointment has started
    "superseded",  # a later (smaller-offset) reminder is due too
    "reminders_disabled",  # the practice turned reminders off
    "opted_out",  # the client opted out of the reminder's channel (e.g. texted STOP)
    "client_unreachable",  # no channel: no opted-in phone or e-mail, discharged or erased
    "sms_not_configured",  # SMS is the only channel and no SMS provider is configured
)


def reminder_id_for(appointment_id: UUID, offset_hours: int) -> UUID:
    return uuid5(REMINDER_NAMESPACE, f"{appointment_id}:{offset_hours}")


@dataclass(frozen=True)
class ReminderKey:
    """What names a reminder in a queue message and in the due-work read model."""

    practice_id: UUID
    appointment_id: UUID
    offset_hours: int

    @property
    def id(self) -> UUID:
        return reminder_id_for(self.appointment_id, self.offset_hours)


@dataclass(frozen=True)
class RetryPolicy:
    """Retryable provider refusals are retried after these pauses, up to `max_attempts` claims."""

    max_attempts: int = 5
    backoff: tuple[timedelta, ...] = (
        timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
    )

    def retry_at(self, attempt: int, now: datetime) -> datetime | None:
        """When to try again after a failed `attempt` (1-based); None when attempts are used up."""
        if attempt >= self.max_attempts:
            return None
        return now + self.backoff[min(attempt, len(self.backoff)) - 1]


class ClaimHeld(IllegalTransition):
    code = "reminder_claim_held"


class ReminderClosed(IllegalTransition):
    code = "reminder_closed"


class ReminderEvent(Aggregate.Event, Audited):
    subject_field: ClassVar[str | None] = "client_id"
    client_id: UUID


class Reminder(Aggregate):
    TOPIC = "careledger/reminder"

    class Created(Aggregate.Created):
        TOPIC = "careledger/reminder/created"

    class Scheduled(Created, ReminderEvent):
        TOPIC = "careledger/reminder/scheduled"
        practice_id: UUID
        client_id: UUID
        appointment_id: UUID
        offset_hours: int
        due_at: datetime

    class Claimed(ReminderEvent):
        TOPIC = "careledger/reminder/claimed"
        attempt: int
        worker: str
        channel: str
        at: datetime
        lease_until: datetime
        takeover: bool

    class Sent(ReminderEvent):
        TOPIC = "careledger/reminder/sent"
        channel: str
        provider_id: str
        at: datetime
        reconciled: bool  # found at the provider after a lost claim, not sent again

    class Failed(ReminderEvent):
        TOPIC = "careledger/reminder/failed"
        reason_code: str
        permanent: bool
        at: datetime
        retry_at: datetime | None  # None: the reminder is given up

    class Skipped(ReminderEvent):
        TOPIC = "careledger/reminder/skipped"
        reason_code: str
        at: datetime

    @classmethod
    def create_id(cls, appointment_id: UUID, offset_hours: int, **_: Any) -> UUID:
        return reminder_id_for(appointment_id, offset_hours)

    @classmethod
    def schedule(
        cls, practice_id: UUID, client_id: UUID, appointment_id: UUID, offset_hours: int, due_at: datetime
    ) -> Reminder:
        if isinstance(offset_hours, bool) or not isinstance(offset_hours, int) or offset_hours < 1:
            raise InvalidCommand("A reminder offset is a whole number of hours.", field="offset_hours")
        return cls(
            practice_id=practice_id, client_id=client_id, appointment_id=appointment_id,
            offset_hours=offset_hours, due_at=as_utc(due_at, "due_at"),
        )

    @event(Scheduled)
    def __init__(
        self, practice_id: UUID, client_id: UUID, appointment_id: UUID, offset_hours: int, due_at: datetime
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.appointment_id = appointment_id
        self.offset_hours = offset_hours
        self.due_at = due_at
        self.status = "scheduled"
        self.attempts = 0
        self.channel: str | None = None
        self.claimed_by: str | None = None
        self.lease_until: datetime | None = None
        self.in_doubt_since: datetime | None = None
        self.retry_at: datetime | None = None
        self.provider_id: str | None = None
        self.outcome_reason: str | None = None

    @property
    def key(self) -> ReminderKey:
        return ReminderKey(self.practice_id, self.appointment_id, self.offset_hours)

    @property
    def done(self) -> bool:
        return self.status in ("sent", "failed", "skipped")

    def held(self, now: datetime) -> bool:
        """Claimed, and the claim's lease still runs: its worker is (presumably) sending."""
        return self.status == "claimed" and self.lease_until is not None and as_utc(now, "now") < self.lease_until

    def in_doubt(self, now: datetime) -> bool:
        """Claimed, the lease over, no outcome recorded: a send may or may not have happened."""
        return self.status == "claimed" and not self.held(now)

    def waiting(self, now: datetime) -> bool:
        """A retryable failure whose pause has not run out yet."""
        return self.status == "retrying" and self.retry_at is not None and as_utc(now, "now") < self.retry_at

    def _ensure_open(self) -> None:
        if self.done:
            raise ReminderClosed(f"This reminder is {self.status} already.", status=self.status)

    # --- commands -----------------------------------------------------------------------------

    def claim(self, worker: str, channel: str, now: datetime, lease: timedelta) -> None:
        """Take the reminder for one send attempt (or a takeover of a claim in doubt). A claim in
        doubt keeps its channel: `channel` is used only when no claim has fixed one yet."""
        self._ensure_open()
        at = as_utc(now, "now")
        if self.held(at):
            raise ClaimHeld("Another worker holds this reminder.", lease_until=self.lease_until)
        if self.waiting(at):
            raise IllegalTransition("This reminder waits before its next attempt.", retry_at=self.retry_at)
        chosen = self.channel or channel
        if chosen not in CHANNELS:
            raise InvalidCommand(f"Unknown channel {chosen!r}.", field="channel", allowed=list(CHANNELS))
        if lease <= timedelta(0):
            raise InvalidCommand("A claim needs a lease.", field="lease")
        self._claimed(
            client_id=self.client_id, attempt=self.attempts + 1, worker=worker, channel=chosen, at=at,
            lease_until=at + lease, takeover=self.status == "claimed",
        )

    @event(Claimed)
    def _claimed(
        self, client_id: UUID, attempt: int, worker: str, channel: str, at: datetime, lease_until: datetime,
        takeover: bool,
    ) -> None:
        if not takeover:
            self.in_doubt_since = at
        self.status = "claimed"
        self.attempts = attempt
        self.channel = channel
        self.claimed_by = worker
        self.lease_until = lease_until
        self.retry_at = None

    def _ensure_claimed_by(self, by: str, action: str) -> None:
        if self.status != "claimed":
            raise IllegalTransition(f"Only a claimed reminder can be {action}.", status=self.status)
        if self.claimed_by != by:
            raise ClaimHeld("Another worker holds this reminder.", lease_until=self.lease_until)

    def record_sent(
        self, by: str, channel: str, provider_id: str, now: datetime, reconciled: bool = False
    ) -> None:
        """Only the claim's holder records the send, and only once: a sent reminder refuses."""
        self._ensure_open()
        self._ensure_claimed_by(by, "sent")
        if channel != self.channel:
            raise InvalidCommand("A reminder is sent through the channel it was claimed for.", field="channel")
        if not provider_id:
            raise InvalidCommand("A sent reminder names the provider's message id.", field="provider_id")
        self._sent(client_id=self.client_id, channel=channel, provider_id=provider_id,
                   at=as_utc(now, "now"), reconciled=reconciled)

    @event(Sent)
    def _sent(self, client_id: UUID, channel: str, provider_id: str, at: datetime, reconciled: bool) -> None:
        self.status = "sent"
        self.provider_id = provider_id
        self.in_doubt_since = None
        self.lease_until = None

    def record_failure(
        self, by: str, reason_code: str, permanent: bool, now: datetime, retry: RetryPolicy
    ) -> None:
        """The provider refused the message (so nothing went out). A permanent refusal, or a
        retryable one after the last attempt, gives the reminder up."""
        self._ensure_open()
        self._ensure_claimed_by(by, "failed")
        _check_code(reason_code)
        at = as_utc(now, "now")
        retry_at = None if permanent else retry.retry_at(self.attempts, at)
        self._failed(client_id=self.client_id, reason_code=reason_code, permanent=permanent, at=at,
                     retry_at=retry_at)

    @event(Failed)
    def _failed(
        self, client_id: UUID, reason_code: str, permanent: bool, at: datetime, retry_at: datetime | None
    ) -> None:
        self.status = "failed" if retry_at is None else "retrying"
        self.retry_at = retry_at
        self.outcome_reason = reason_code
        self.in_doubt_since = None
        self.lease_until = None

    def skip(self, by: str, reason_code: str, now: datetime) -> None:
        """Not sent, for a reason (SKIP_REASONS). A claimed reminder is skipped only by its
        holder: a claim in doubt is first taken over and checked with the provider."""
        self._ensure_open()
        if self.status == "claimed":
            self._ensure_claimed_by(by, "skipped")
        if reason_code not in SKIP_REASONS:
            raise InvalidCommand(f"Unknown skip reason {reason_code!r}.", field="reason_code",
                                 allowed=list(SKIP_REASONS))
        self._skipped(client_id=self.client_id, reason_code=reason_code, at=as_utc(now, "now"))

    @event(Skipped)
    def _skipped(self, client_id: UUID, reason_code: str, at: datetime) -> None:
        self.status = "skipped"
        self.outcome_reason = reason_code
        self.in_doubt_since = None
        self.lease_until = None


def _check_code(reason_code: str) -> None:
    if not CODE.match(reason_code):
        raise InvalidCommand("A reason is a code such as 'twilio_21610'.", field="reason_code")
