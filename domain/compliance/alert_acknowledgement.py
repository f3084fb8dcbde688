"""Acknowledging a compliance alert: an audited command by the person told (seed 001 alerts).

The alert itself lives in the compliance read model (it opens and resolves as the rules say);
acknowledging is a person's act, so it is an event. The aggregate's id is the alert's id, so an
alert is acknowledged once.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidCommand
from domain.events import Audited
from domain.scheduling.working_time import as_utc

MAX_NOTE = 500


class AlertAcknowledgement(Aggregate):
    TOPIC = "careledger/compliance-alert-acknowledgement"

    class Created(Aggregate.Created):
        TOPIC = "careledger/compliance-alert-acknowledgement/created"

    class Acknowledged(Created, Audited):
        """`note` is a short operational remark ("coaching booked"); never client details."""

        TOPIC = "careledger/compliance-alert-acknowledgement/acknowledged"
        practice_id: UUID
        by: UUID
        note: str | None
        at: datetime

    @classmethod
    def acknowledge(
        cls, alert_id: UUID, practice_id: UUID, by: UUID, now: datetime, note: str | None = None
    ) -> AlertAcknowledgement:
        if note is not None:
            note = note.strip() or None
            if note is not None and len(note) > MAX_NOTE:
                raise InvalidCommand(f"The note is at most {MAX_NOTE} characters.", field="note")
        return cls._create(
            cls.Acknowledged, id=alert_id, practice_id=practice_id, by=by, note=note, at=as_utc(now, "now")
        )

    @event(Acknowledged)
    def __init__(self, practice_id: UUID, by: UUID, note: str | None, at: datetime) -> None:
        self.practice_id = practice_id
        self.by = by
        self.note = note
        self.at = at
