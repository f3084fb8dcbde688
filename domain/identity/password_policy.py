"""Password policy and login lockout: pure rules, standard library only.

`check_password` raises `InvalidCommand(field="password", missing=[...])`, naming every
requirement the password fails (never the password itself):

- ``min_length``: at least 12 characters
- ``max_length``: at most 128 characters
- ``uppercase`` / ``lowercase`` / ``digit``: at least one of each
- ``symbol``: at least one character that is neither a letter, a digit nor white space
- ``not_email``: must not contain the e-mail's local part (case-insensitive, when it has 3+ characters)

`lockout_state` implements "locked for 15 minutes after 5 failed attempts".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InvalidCommand

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_EMAIL_LOCAL_PART = 3
LOCKOUT_ATTEMPTS = 5
LOCKOUT_MINUTES = 15
LOCKOUT_WINDOW = timedelta(minutes=LOCKOUT_MINUTES)

REQUIREMENTS = ("min_length", "max_length", "uppercase", "lowercase", "digit", "symbol", "not_email")
_DESCRIPTIONS = {
    "min_length": f"at least {MIN_LENGTH} characters",
    "max_length": f"at most {MAX_LENGTH} characters",
    "uppercase": "an upper-case letter",
    "lowercase": "a lower-case letter",
    "digit": "a digit",
    "symbol": "a symbol",
    "not_email": "nothing from the e-mail address",
}


def is_symbol(ch: str) -> bool:
    return not ch.isalnum() and not ch.isspace()


def _email_local_part(email: str | None) -> str | None:
    if not email:
        return None
    local = email.rpartition("@")[0] if "@" in email else email
    local = local.strip().casefold()
    return local if len(local) >= MIN_EMAIL_LOCAL_PART else None


def unmet_requirements(password: str, *, email: str | None = None) -> list[str]:
    """The requirements (from REQUIREMENTS, in that order) the password does not meet."""
    failed = {
        "min_length": len(password) < MIN_LENGTH,
        "max_length": len(password) > MAX_LENGTH,
        "uppercase": not any(ch.isupper() for ch in password),
        "lowercase": not any(ch.islower() for ch in password),
        "digit": not any(ch.isdigit() for ch in password),
        "symbol": not any(is_symbol(ch) for ch in password),
    }
    local = _email_local_part(email)
    failed["not_email"] = local is not None and local in password.casefold()
    return [name for name in REQUIREMENTS if failed[name]]


def check_password(password: str, *, email: str | None = None) -> None:
    missing = unmet_requirements(password, email=email)
    if missing:
        wanted = ", ".join(_DESCRIPTIONS[m] for m in missing)
        raise InvalidCommand(
            f"The password does not meet the policy: it needs {wanted}.", field="password", missing=missing
        )


@dataclass(frozen=True)
class LockoutState:
    locked: bool
    until: datetime | None
    remaining_attempts: int


def lockout_state(failures: Iterable[datetime], now: datetime) -> LockoutState:
    """Whether a login is locked `now`, given the times of its failed attempts.

    The 5th failure within a 15-minute window locks the login for 15 minutes from that failure.
    Failures while a lock runs do not count (nor extend it); after a lock, counting starts afresh.
    Failures after `now` are ignored. All datetimes must be timezone-aware (or all naive).
    """
    counted: list[datetime] = []
    until: datetime | None = None
    for failure in sorted(f for f in failures if f <= now):
        if until is not None and failure < until:
            continue
        counted = [c for c in counted if c > failure - LOCKOUT_WINDOW]
        counted.append(failure)
        if len(counted) >= LOCKOUT_ATTEMPTS:
            until, counted = failure + LOCKOUT_WINDOW, []
    if until is not None and now < until:
        return LockoutState(locked=True, until=until, remaining_attempts=0)
    recent = sum(1 for c in counted if c > now - LOCKOUT_WINDOW)
    return LockoutState(locked=False, until=None, remaining_attempts=LOCKOUT_ATTEMPTS - recent)
