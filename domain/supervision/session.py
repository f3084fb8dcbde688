"""One clinical supervision session between a supervisee and their supervisor.

Logged by either party (the application checks who may), editable until the named supervisor
signs it, signed once and then fixed. Hours run from 0.25 to 8 in quarter-hour steps; the format is
individual or group. Both people are staff memberships of the practice, and nobody supervises
themself.

Topics are short subjects ("ethics", "treatment planning") for the licensing board's log, never
client names or other identifiers: no event here names a client, so none carries PHI. They are
capped in number and length to keep them short. All times and "today" are arguments.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, IllegalTransition, InvalidCommand
from domain.events import Audited

FORMATS = ("individual", "group")
MAX_HOURS = Decimal(8)
HOURS_STEP = Decimal("0.25")
MAX_TOPICS = 10
MAX_TOPIC_LENGTH = 80


class NotTheSupervisor(DomainError):
    code = "not_the_supervisor"
    kind = "forbidden"


def check_hours(hours: Decimal) -> Decimal:
    if not isinstance(hours, Decimal) or not hours.is_finite():
        raise InvalidCommand("Hours must be a number.", field="hours")
    if not Decimal(0) < hours <= MAX_HOURS or hours % HOURS_STEP:
        raise InvalidCommand(f"A session lasts 0.25 to {MAX_HOURS} hours in quarter-hour steps.", field="hours")
    return hours


def check_format(format: str) -> str:
    if format not in FORMATS:
        raise InvalidCommand(f"Unknown supervision format {format!r}.", field="format", allowed=list(FORMATS))
    return format


def check_topics(topics: list[str]) -> list[str]:
    if not isinstance(topics, list) or len(topics) > MAX_TOPICS:
        raise InvalidCommand(f"At most {MAX_TOPICS} topics.", field="topics")
    cleaned = []
    for topic in topics:
        if not isinstance(topic, str) or not topic.strip() or len(topic.strip()) > MAX_TOPIC_LENGTH:
            raise InvalidCommand(f"A topic is 1 to {MAX_TOPIC_LENGTH} characters.", field="topics")
        cleaned.append(topic.strip())
    return cleaned


def check_session_date(session_date: date, today: date) -> date:
    if session_date > today:
        raise InvalidCommand("A supervision session cannot be logged before it happens.", field="session_date")
    return session_date


class SupervisionSession(Aggregate):
    TOPIC = "careledger/supervision-session"

    class Created(Aggregate.Created):
        TOPIC = "careledger/supervision-session/created"

    class Logged(Created, Audited):
        TOPIC = "careledger/supervision-session/logged"
        practice_id: UUID
        supervisee_id: UUID
        supervisor_id: UUID
        session_date: date
        hours: Decimal
        format: str
        topics: list[str]
        logged_at: datetime
        by: UUID

    class Edited(Aggregate.Event, Audited):
        TOPIC = "careledger/supervision-session/edited"
        session_date: date
        hours: Decimal
        format: str
        topics: list[str]
        at: datetime
        by: UUID

    class Signed(Aggregate.Event, Audited):
        TOPIC = "careledger/supervision-session/signed"
        by: UUID
        at: datetime

    @classmethod
    def log(
        cls, practice_id: UUID, supervisee_id: UUID, supervisor_id: UUID, session_date: date, hours: Decimal,
        format: str, topics: list[str], *, today: date, logged_at: datetime, by: UUID,
        session_id: UUID | None = None,
    ) -> SupervisionSession:
        if supervisee_id == supervisor_id:
            raise InvalidCommand("Nobody supervises themself.", field="supervisor_id")
        fields: dict[str, Any] = {
            "practice_id": practice_id, "supervisee_id": supervisee_id, "supervisor_id": supervisor_id,
            "session_date": check_session_date(session_date, today), "hours": check_hours(hours),
            "format": check_format(format), "topics": check_topics(topics), "logged_at": logged_at, "by": by,
        }
        if session_id is not None:
            return cls._create(cls.Logged, id=session_id, **fields)
        return cls(**fields)

    @event(Logged)
    def __init__(
        self, practice_id: UUID, supervisee_id: UUID, supervisor_id: UUID, session_date: date, hours: Decimal,
        format: str, topics: list[str], logged_at: datetime, by: UUID,
    ) -> None:
        self.practice_id = practice_id
        self.supervisee_id = supervisee_id
        self.supervisor_id = supervisor_id
        self.session_date = session_date
        self.hours = hours
        self.format = format
        self.topics = list(topics)
        self.logged_at = logged_at
        self.logged_by = by
        self.signed_by: UUID | None = None
        self.signed_at: datetime | None = None

    @property
    def signed(self) -> bool:
        return self.signed_at is not None

    def edit(
        self, *, today: date, at: datetime, by: UUID, session_date: date | None = None,
        hours: Decimal | None = None, format: str | None = None, topics: list[str] | None = None,
    ) -> bool:
        """Changes what is given; False when that changes nothing."""
        if self.signed:
            raise IllegalTransition("A signed supervision session is not edited.", status="signed")
        new = (
            self.session_date if session_date is None else check_session_date(session_date, today),
            self.hours if hours is None else check_hours(hours),
            self.format if format is None else check_format(format),
            self.topics if topics is None else check_topics(topics),
        )
        if new == (self.session_date, self.hours, self.format, self.topics):
            return False
        self._edited(session_date=new[0], hours=new[1], format=new[2], topics=list(new[3]), at=at, by=by)
        return True

    @event(Edited)
    def _edited(
        self, session_date: date, hours: Decimal, format: str, topics: list[str], at: datetime, by: UUID
    ) -> None:
        self.session_date = session_date
        self.hours = hours
        self.format = format
        self.topics = list(topics)

    def sign(self, by: UUID, at: datetime) -> None:
        if by != self.supervisor_id:
            raise NotTheSupervisor("Only the session's supervisor signs it.")
        if self.signed:
            raise IllegalTransition("This supervision session is signed already.", status="signed")
        self._signed(by=by, at=at)

    @event(Signed)
    def _signed(self, by: UUID, at: datetime) -> None:
        self.signed_by = by
        self.signed_at = at
