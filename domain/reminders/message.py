"""The reminder text, in the practice's local time.

Minimum necessary: the client's first name, the practice, the kind of visit and when, nothing else
(no clinician, no diagnosis, no last name), since a phone's lock screen is not private. The text
asks for `C` or `R` and never for CANCEL: CANCEL (like STOP) is a carrier opt-out word, so a client
answering "CANCEL" would silently unsubscribe from every text instead of cancelling the visit.
The same inputs always give the same text, which is how a restarted worker recognises a message
it may already have sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.scheduling.working_time import as_utc, zone

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)
REPLY_OPTIONS = "Reply C to confirm or R to reschedule."
SMS_OPT_OUT = "Reply STOP to opt out."


@dataclass(frozen=True)
class ReminderMessage:
    subject: str
    sms: str
    email: str

    def body(self, channel: str) -> str:
        return self.sms if channel == "sms" else self.email


def local_when(starts_at: datetime, time_zone: str) -> str:
    """'Tuesday, March 10 at 10:00 AM EDT', without the locale's help."""
    local = as_utc(starts_at, "starts_at").astimezone(zone(time_zone))
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return (f"{DAYS[local.weekday()]}, {MONTHS[local.month - 1]} {local.day} at {hour}:{local.minute:02d} {half} "
            f"{local.tzname()}")


def compose(
    first_name: str, practice_name: str, visit: str, starts_at: datetime, time_zone: str,
    contact_phone: str | None = None,
) -> ReminderMessage:
    greeting = f"Hi {first_name.strip()}," if first_name.strip() else "Hello,"
    what = f"a reminder from {practice_name}: your {visit} is on {local_when(starts_at, time_zone)}."
    call = f" Questions? Call {contact_phone}." if contact_phone else ""
    sms = f"{greeting} {what} {REPLY_OPTIONS}{call} {SMS_OPT_OUT}"
    email = (
        f"{greeting}\n\nThis is {what}\n\n"
        + (f"To confirm or reschedule, call us at {contact_phone}." if contact_phone
           else "To confirm or reschedule, please contact the practice.")
        + f"\n\n{practice_name}\n"
    )
    return ReminderMessage(subject=f"Appointment reminder from {practice_name}", sms=sms, email=email)
