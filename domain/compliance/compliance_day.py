"""A practice's compliance day: the event that moves the compliance engine's clock.

Time-driven rules (day 5, day 90, month end, expiry) change their answer when a local date
begins, not when anything is recorded. The sweep (server and worker) starts each practice's
local day once, as an event, so the compliance read model re-evaluates at that moment and a
rebuild from zero re-evaluates at exactly the same moments. The id is derived from the practice
and the date, so a second sweep on the same day is refused by the store (one event per day).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.events import Audited
from domain.scheduling.working_time import as_utc


def compliance_day_id(practice_id: UUID, on: date) -> UUID:
    return uuid5(NAMESPACE_URL, f"careledger:compliance-day:{practice_id}:{on.isoformat()}")


class ComplianceDay(Aggregate):
    TOPIC = "careledger/compliance-day"

    class Created(Aggregate.Created):
        TOPIC = "careledger/compliance-day/created"

    class Started(Created, Audited):
        TOPIC = "careledger/compliance-day/started"
        practice_id: UUID
        on: date
        at: datetime

    @classmethod
    def start(cls, practice_id: UUID, on: date, now: datetime) -> ComplianceDay:
        return cls._create(
            cls.Started, id=compliance_day_id(practice_id, on), practice_id=practice_id, on=on,
            at=as_utc(now, "now"),
        )

    @event(Started)
    def __init__(self, practice_id: UUID, on: date, at: datetime) -> None:
        self.practice_id = practice_id
        self.on = on
        self.at = at
