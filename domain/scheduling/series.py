"""A recurring series: which appointments were booked together, so the rest of it can be
cancelled as one. The occurrences are ordinary Appointments carrying the series id."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidCommand
from domain.events import Audited
from domain.scheduling.recurrence import FREQUENCIES


class AppointmentSeries(Aggregate):
    TOPIC = "careledger/appointment-series"

    class Created(Aggregate.Created):
        TOPIC = "careledger/appointment-series/created"

    class Booked(Created, Audited):
        TOPIC = "careledger/appointment-series/booked"
        subject_field: ClassVar[str | None] = "client_id"
        practice_id: UUID
        client_id: UUID
        clinician_id: UUID
        frequency: str
        occurrences: list[UUID]
        starts: list[datetime]

    @classmethod
    def book(
        cls, series_id: UUID, practice_id: UUID, client_id: UUID, clinician_id: UUID, frequency: str,
        occurrences: list[tuple[UUID, datetime]],
    ) -> AppointmentSeries:
        if frequency not in FREQUENCIES:
            raise InvalidCommand(f"Unknown frequency {frequency!r}.", field="frequency", allowed=list(FREQUENCIES))
        if not occurrences:
            raise InvalidCommand("A series has at least one occurrence.", field="count")
        return cls._create(
            cls.Booked, id=series_id, practice_id=practice_id, client_id=client_id, clinician_id=clinician_id,
            frequency=frequency, occurrences=[i for i, _ in occurrences], starts=[s for _, s in occurrences],
        )

    @event(Booked)
    def __init__(
        self, practice_id: UUID, client_id: UUID, clinician_id: UUID, frequency: str, occurrences: list[UUID],
        starts: list[datetime],
    ) -> None:
        self.practice_id = practice_id
        self.client_id = client_id
        self.clinician_id = clinician_id
        self.frequency = frequency
        self.occurrences = list(zip(occurrences, starts, strict=True))

    def from_occurrence(self, appointment_id: UUID) -> list[UUID]:
        """This occurrence and every later one, in order."""
        ids = [i for i, _ in self.occurrences]
        if appointment_id not in ids:
            raise InvalidCommand("That appointment is not part of this series.", field="appointment_id")
        return ids[ids.index(appointment_id):]
