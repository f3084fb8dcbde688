"""Booking gates from Georgia's consent rules (seed 001, Module 7, compliance rules 3, 5 and 6).

- Informed consent is renewed yearly; a missing or expired one blocks booking.
- A client under 18 on the appointment's local date needs a guardian's consent on file, unless
  emancipated.
- A telehealth appointment needs a separate telehealth consent.

A consent counts when it was signed before the appointment starts and has not expired by then
(`expires_at` <= start is expired). An informed consent recorded without an expiry lapses a year
after signing; other consents without an expiry stay valid until withdrawn (not on file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.errors import InvalidCommand
from domain.scheduling.working_time import as_utc, zone

INFORMED = "informed_consent"
GUARDIAN = "guardian_consent"
TELEHEALTH = "telehealth_consent"
CONSENT_TYPES = (INFORMED, GUARDIAN, TELEHEALTH)
INFORMED_CONSENT_VALID_FOR = timedelta(days=365)
AGE_OF_MAJORITY = 18


class ConsentsMissing(InvalidCommand):
    code = "consents_missing"


@dataclass(frozen=True)
class ConsentRecord:
    type: str
    signed_at: datetime
    expires_at: datetime | None
    signed_by: str
    guardian_name: str | None = None

    def __post_init__(self) -> None:
        if self.type not in CONSENT_TYPES:
            raise InvalidCommand(f"Unknown consent type {self.type!r}.", field="type", allowed=list(CONSENT_TYPES))
        as_utc(self.signed_at, "signed_at")
        if self.expires_at is not None and as_utc(self.expires_at, "expires_at") <= self.signed_at:
            raise InvalidCommand("A consent expires after it is signed.", field="expires_at")
        if not self.signed_by.strip():
            raise InvalidCommand("A consent names who signed it.", field="signed_by")
        if self.type == GUARDIAN and not (self.guardian_name or "").strip():
            raise InvalidCommand("A guardian's consent names the guardian.", field="guardian_name")

    @property
    def effective_expiry(self) -> datetime | None:
        if self.expires_at is None and self.type == INFORMED:
            return self.signed_at + INFORMED_CONSENT_VALID_FOR
        return self.expires_at

    def valid_at(self, at: datetime) -> bool:
        expiry = self.effective_expiry
        return self.signed_at <= at and (expiry is None or at < expiry)


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years; someone born on 29 February turns a year older on 1 March in common years."""
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def required_consents(
    date_of_birth: date, modality: str, appointment_day: date, emancipated: bool = False
) -> list[str]:
    required = [INFORMED]
    if age_on(date_of_birth, appointment_day) < AGE_OF_MAJORITY and not emancipated:
        required.append(GUARDIAN)
    if modality == "telehealth":
        required.append(TELEHEALTH)
    return required


def check_booking_consents(
    *,
    date_of_birth: date,
    modality: str,
    starts_at: datetime,
    time_zone: str,
    consents: Sequence[ConsentRecord],
    emancipated: bool = False,
) -> None:
    """Raise ConsentsMissing (an InvalidCommand) with `missing=[...]` naming every consent type
    the booking lacks; return None when it may go ahead. The age is taken on the appointment's
    date in the practice's time zone."""
    start = as_utc(starts_at, "starts_at")
    appointment_day = start.astimezone(zone(time_zone)).date()
    if date_of_birth > appointment_day:
        raise InvalidCommand("The date of birth is after the appointment.", field="date_of_birth")
    missing = [
        kind
        for kind in required_consents(date_of_birth, modality, appointment_day, emancipated)
        if not any(c.type == kind and c.valid_at(start) for c in consents)
    ]
    if missing:
        raise ConsentsMissing(
            "The client lacks consent needed for this appointment: " + ", ".join(missing) + ".",
            field="consents", missing=missing,
        )
