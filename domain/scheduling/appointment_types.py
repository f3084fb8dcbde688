"""Appointment types: what is booked, for how long, with which buffers and booking limits.

The built-in codes are seed 001's appointment types. Seed 001 gives no durations, so the defaults
are the usual ones for a mental-health practice (a 53-minute therapy session is the CPT 90837
threshold). Buffers, notice and booking window default to seed 004's appointment_types columns
(0 minutes before, 10 after, 2 hours' notice, 90 days ahead). Prices default to zero: each practice
sets its own fees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from domain.errors import InvalidCommand

MODALITIES = ("in_person", "telehealth")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MAX_DURATION_MINUTES = 8 * 60
MAX_BUFFER_MINUTES = 120
MAX_NOTICE_HOURS = 30 * 24
MAX_BOOKING_WINDOW_DAYS = 2 * 365


@dataclass(frozen=True)
class AppointmentType:
    code: str
    name: str
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 10
    min_notice_hours: int = 2
    booking_window_days: int = 90
    modality: str = "in_person"
    price: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        if not CODE.match(self.code):
            raise InvalidCommand("A type code is 2-40 lower-case letters, digits or underscores.", field="code")
        if not self.name.strip():
            raise InvalidCommand("An appointment type needs a name.", field="name")
        _check_range("duration_minutes", self.duration_minutes, 5, MAX_DURATION_MINUTES)
        _check_range("buffer_before_minutes", self.buffer_before_minutes, 0, MAX_BUFFER_MINUTES)
        _check_range("buffer_after_minutes", self.buffer_after_minutes, 0, MAX_BUFFER_MINUTES)
        _check_range("min_notice_hours", self.min_notice_hours, 0, MAX_NOTICE_HOURS)
        _check_range("booking_window_days", self.booking_window_days, 1, MAX_BOOKING_WINDOW_DAYS)
        if self.modality not in MODALITIES:
            raise InvalidCommand(f"Unknown modality {self.modality!r}.", field="modality", allowed=list(MODALITIES))
        if (
            not isinstance(self.price, Decimal)
            or not self.price.is_finite()
            or self.price < 0
            or self.price != self.price.quantize(Decimal("0.01"))
        ):
            raise InvalidCommand("A price is a non-negative amount in cents precision.", field="price")

    def with_changes(self, **changes: Any) -> AppointmentType:
        """A copy with some settings changed, validated like a new one."""
        return replace(self, **changes)

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer_before(self) -> timedelta:
        return timedelta(minutes=self.buffer_before_minutes)

    @property
    def buffer_after(self) -> timedelta:
        return timedelta(minutes=self.buffer_after_minutes)

    @property
    def min_notice(self) -> timedelta:
        return timedelta(hours=self.min_notice_hours)

    @property
    def booking_window(self) -> timedelta:
        return timedelta(days=self.booking_window_days)


def _check_range(field: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidCommand(f"{field} must be a whole number from {low} to {high}.", field=field)


BUILT_IN_TYPES: dict[str, AppointmentType] = {
    t.code: t
    for t in (
        AppointmentType("initial_evaluation", "Initial Evaluation", 60),
        AppointmentType("follow_up", "Follow-Up", 30),
        AppointmentType("medication_management", "Medication Management", 20),
        AppointmentType("therapy_session", "Therapy Session", 53),
        AppointmentType("group", "Group Therapy", 90),
        AppointmentType("family", "Family Therapy", 60),
    )
}


def built_in(code: str) -> AppointmentType:
    try:
        return BUILT_IN_TYPES[code]
    except KeyError:
        raise InvalidCommand(
            f"Unknown appointment type {code!r}.", field="appointment_type", allowed=sorted(BUILT_IN_TYPES)
        ) from None
