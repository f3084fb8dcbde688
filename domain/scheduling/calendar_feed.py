"""A clinician's calendar feed: the one subscription URL their calendar app polls.

One CalendarFeed per clinician (its id follows from the clinician's id). The feed URL carries a
bearer secret that ends up in third-party calendar apps, so only the SHA-256 of the secret is
stored, at most one secret is valid at a time, and issuing a new one revokes the old one first
(the log says so explicitly). Revoking is final until the next issue.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.scheduling.appointment_types import CODE
from domain.scheduling.working_time import as_utc

CALENDAR_FEED_NAMESPACE = UUID("b7e2c0d4-6a1f-4f3b-8d2e-9c5a7e1f4b36")
REPLACED = "replaced"


def calendar_feed_id_for(clinician_id: UUID) -> UUID:
    return uuid5(CALENDAR_FEED_NAMESPACE, str(clinician_id))


class CalendarFeed(Aggregate):
    TOPIC = "careledger/calendar-feed"

    class Created(Aggregate.Created):
        TOPIC = "careledger/calendar-feed/created"

    class Opened(Created, Audited):
        TOPIC = "careledger/calendar-feed/opened"
        practice_id: UUID
        clinician_id: UUID

    class Issued(Aggregate.Event, Audited):
        TOPIC = "careledger/calendar-feed/issued"
        token_hash: str
        at: datetime

    class Revoked(Aggregate.Event, Audited):
        TOPIC = "careledger/calendar-feed/revoked"
        reason_code: str  # coded: replaced | lost_device | left_practice ...
        at: datetime

    @classmethod
    def create_id(cls, practice_id: UUID, clinician_id: UUID) -> UUID:
        return calendar_feed_id_for(clinician_id)

    @classmethod
    def open(cls, practice_id: UUID, clinician_id: UUID) -> CalendarFeed:
        return cls(practice_id=practice_id, clinician_id=clinician_id)

    @event(Opened)
    def __init__(self, practice_id: UUID, clinician_id: UUID) -> None:
        self.practice_id = practice_id
        self.clinician_id = clinician_id
        self.token_hash: str | None = None
        self.issued_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.token_hash is not None

    def issue(self, token_hash: str, now: datetime) -> None:
        """A new secret; the one before it (if any) stops working in the same save."""
        if len(token_hash) != 64:
            raise InvalidCommand("A feed token is stored as its SHA-256 hex digest.", field="token_hash")
        at = as_utc(now, "now")
        if self.active:
            self._revoked(reason_code=REPLACED, at=at)
        self._issued(token_hash=token_hash, at=at)

    @event(Issued)
    def _issued(self, token_hash: str, at: datetime) -> None:
        self.token_hash = token_hash
        self.issued_at = at

    def revoke(self, reason_code: str, now: datetime) -> None:
        if not CODE.match(reason_code):
            raise InvalidCommand("A reason is a code such as 'lost_device'.", field="reason_code")
        if not self.active:
            raise IllegalTransition("This calendar feed has no active link to revoke.")
        self._revoked(reason_code=reason_code, at=as_utc(now, "now"))

    @event(Revoked)
    def _revoked(self, reason_code: str, at: datetime) -> None:
        self.token_hash = None
        self.issued_at = None

    def accepts(self, token_hash: str) -> bool:
        """Constant-time comparison with the current secret's hash; False when revoked."""
        current = self.token_hash or ""
        return hmac.compare_digest(current.encode(), token_hash.encode()) and bool(current)
