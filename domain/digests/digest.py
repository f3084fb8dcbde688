"""The Digest aggregate: one member's daily digest or weekly report for one local date, sent once.

Its id follows from the member, the kind and the practice-local date it is sent on, so each digest
exists once however many sweeps or workers think of it. The lifecycle:

    opened + claimed -> sent | failed (given up) | retrying
    retrying -> claimed ...          (after the failure's pause)
    claimed -> claimed               (a takeover: the lease ran out without an outcome)

A worker saves the claim before it mails; the claim is an optimistic-concurrency write on this
aggregate, so of two workers only one holds it. The mail goes out with the digest's id as the
mailer's idempotency key, so a takeover after a crash between mailing and recording sends nothing
again: the mailer answers with the first message's id and the taker records Sent.

No event carries PHI: ids, dates, codes and counts only (never a client, a name or the text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.reminders.reminder import RetryPolicy
from domain.scheduling.appointment_types import CODE
from domain.scheduling.working_time import as_utc

DIGEST_NAMESPACE = UUID("8f3c2a61-0d4e-4b7a-9c15-6e2f7d90a4b8")
DAILY, WEEKLY = "daily", "weekly"
KINDS = (DAILY, WEEKLY)
DIGEST_RETRY = RetryPolicy(max_attempts=3, backoff=(timedelta(minutes=15), timedelta(hours=1)))
MAX_COUNTS = 64


def digest_id_for(member_id: UUID, kind: str, on: date) -> UUID:
    return uuid5(DIGEST_NAMESPACE, f"{member_id}:{kind}:{on.isoformat()}")


def digest_period(kind: str, on: date) -> tuple[date, date]:
    """The local dates (both included) a digest sent on `on` reports: yesterday for the daily
    digest, the Monday-to-Sunday week before for the weekly report (sent on a Monday)."""
    if kind == DAILY:
        return on - timedelta(days=1), on - timedelta(days=1)
    if kind == WEEKLY:
        if on.weekday() != 0:
            raise InvalidCommand("The weekly report is sent on a Monday.", field="on")
        return on - timedelta(days=7), on - timedelta(days=1)
    raise InvalidCommand(f"Unknown digest kind {kind!r}.", field="kind", allowed=list(KINDS))


@dataclass(frozen=True)
class DigestKey:
    """What names a digest in the due list."""

    practice_id: UUID
    member_id: UUID
    kind: str
    on: date

    @property
    def id(self) -> UUID:
        return digest_id_for(self.member_id, self.kind, self.on)


class DigestClosed(IllegalTransition):
    code = "digest_closed"


class DigestClaimHeld(IllegalTransition):
    code = "digest_claim_held"


class Digest(Aggregate):
    TOPIC = "careledger/digest"

    class Created(Aggregate.Created):
        TOPIC = "careledger/digest/created"

    class Opened(Created, Audited):
        TOPIC = "careledger/digest/opened"
        practice_id: UUID
        member_id: UUID
        kind: str
        on: date
        period_start: date
        period_end: date
        at: datetime

    class Claimed(Aggregate.Event, Audited):
        TOPIC = "careledger/digest/claimed"
        attempt: int
        worker: str
        at: datetime
        lease_until: datetime
        takeover: bool

    class Sent(Aggregate.Event, Audited):
        """`counts`: the figures the message reported (ints keyed by name; no PHI)."""

        TOPIC = "careledger/digest/sent"
        practice_id: UUID
        member_id: UUID
        kind: str
        period_start: date
        period_end: date
        counts: dict[str, int]
        message_key: str
        at: datetime

    class Failed(Aggregate.Event, Audited):
        TOPIC = "careledger/digest/failed"
        error: str
        at: datetime
        retry_at: datetime | None  # None: given up

    @classmethod
    def create_id(cls, member_id: UUID, kind: str, on: date, **_: Any) -> UUID:
        return digest_id_for(member_id, kind, on)

    @classmethod
    def open(cls, practice_id: UUID, member_id: UUID, kind: str, on: date, now: datetime) -> Digest:
        start, end = digest_period(kind, on)
        return cls(practice_id=practice_id, member_id=member_id, kind=kind, on=on, period_start=start,
                   period_end=end, at=as_utc(now, "now"))

    @event(Opened)
    def __init__(
        self, practice_id: UUID, member_id: UUID, kind: str, on: date, period_start: date, period_end: date,
        at: datetime,
    ) -> None:
        self.practice_id = practice_id
        self.member_id = member_id
        self.kind = kind
        self.on = on
        self.period_start = period_start
        self.period_end = period_end
        self.status = "open"
        self.attempts = 0
        self.claimed_by: str | None = None
        self.lease_until: datetime | None = None
        self.retry_at: datetime | None = None
        self.message_key: str | None = None
        self.error: str | None = None

    @property
    def key(self) -> DigestKey:
        return DigestKey(self.practice_id, self.member_id, self.kind, self.on)

    @property
    def done(self) -> bool:
        return self.status in ("sent", "failed")

    def held(self, now: datetime) -> bool:
        """Claimed and the lease still runs: its worker is (presumably) mailing."""
        return self.status == "claimed" and self.lease_until is not None and as_utc(now, "now") < self.lease_until

    def in_doubt(self, now: datetime) -> bool:
        """Claimed, the lease over, no outcome: the mail may or may not have gone out."""
        return self.status == "claimed" and not self.held(now)

    def waiting(self, now: datetime) -> bool:
        """A failed attempt whose pause before the next one still runs."""
        return self.status == "retrying" and self.retry_at is not None and as_utc(now, "now") < self.retry_at

    def ready(self, now: datetime) -> bool:
        """Open to a claim now: not done, not held, not pausing."""
        return not (self.done or self.held(now) or self.waiting(now))

    # --- commands -----------------------------------------------------------------------------

    def claim(self, worker: str, now: datetime, lease: timedelta) -> None:
        if self.done:
            raise DigestClosed(f"This digest is {self.status} already.", status=self.status)
        at = as_utc(now, "now")
        if self.held(at):
            raise DigestClaimHeld("Another worker holds this digest.", lease_until=self.lease_until)
        if self.waiting(at):
            raise IllegalTransition("This digest waits before its next attempt.", retry_at=self.retry_at)
        if lease <= timedelta(0):
            raise InvalidCommand("A claim needs a lease.", field="lease")
        if not worker:
            raise InvalidCommand("A claim names its worker.", field="worker")
        self._claimed(attempt=self.attempts + 1, worker=worker, at=at, lease_until=at + lease,
                      takeover=self.status == "claimed")

    @event(Claimed)
    def _claimed(self, attempt: int, worker: str, at: datetime, lease_until: datetime, takeover: bool) -> None:
        self.status = "claimed"
        self.attempts = attempt
        self.claimed_by = worker
        self.lease_until = lease_until
        self.retry_at = None

    def _ensure_claimed_by(self, by: str) -> None:
        if self.done:
            raise DigestClosed(f"This digest is {self.status} already.", status=self.status)
        if self.status != "claimed":
            raise IllegalTransition("Only a claimed digest has an outcome.", status=self.status)
        if self.claimed_by != by:
            raise DigestClaimHeld("Another worker holds this digest.", lease_until=self.lease_until)

    def record_sent(self, by: str, counts: dict[str, int], message_key: str, now: datetime) -> None:
        self._ensure_claimed_by(by)
        if not message_key:
            raise InvalidCommand("A sent digest names the mailer's message id.", field="message_key")
        _check_counts(counts)
        self._sent(practice_id=self.practice_id, member_id=self.member_id, kind=self.kind,
                   period_start=self.period_start, period_end=self.period_end, counts=dict(counts),
                   message_key=message_key, at=as_utc(now, "now"))

    @event(Sent)
    def _sent(
        self, practice_id: UUID, member_id: UUID, kind: str, period_start: date, period_end: date,
        counts: dict[str, int], message_key: str, at: datetime,
    ) -> None:
        self.status = "sent"
        self.message_key = message_key
        self.lease_until = None

    def record_failure(self, by: str, error: str, permanent: bool, now: datetime, retry: RetryPolicy) -> None:
        """Nothing went out (the mailer refused or could not reach the server). A permanent
        error, or any after the last attempt, gives the digest up."""
        self._ensure_claimed_by(by)
        if not CODE.match(error):
            raise InvalidCommand("An error is a code such as 'mail_failed'.", field="error")
        at = as_utc(now, "now")
        self._failed(error=error, at=at, retry_at=None if permanent else retry.retry_at(self.attempts, at))

    @event(Failed)
    def _failed(self, error: str, at: datetime, retry_at: datetime | None) -> None:
        self.status = "failed" if retry_at is None else "retrying"
        self.error = error
        self.retry_at = retry_at
        self.lease_until = None


def _check_counts(counts: dict[str, int]) -> None:
    if len(counts) > MAX_COUNTS:
        raise InvalidCommand("Too many counts.", field="counts")
    for name, value in counts.items():
        if not isinstance(name, str) or not CODE.match(name):
            raise InvalidCommand("A count is named by a code.", field="counts")
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidCommand(f"Count {name!r} is a whole number.", field="counts")
