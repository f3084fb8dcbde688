"""Password hashing (argon2id), TOTP second factors (RFC 6238) and one-time recovery codes.

Hashes are self-describing PHC strings (`$argon2id$v=19$m=...`); store them as they are.
Verification never raises on a mismatch or a malformed hash: it answers False.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher, profiles
from argon2.exceptions import Argon2Error, InvalidHashError

# RFC 9106 "second recommended option": argon2id, t=3, 64 MiB, p=4, 16-byte salt, 32-byte tag.
_HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)

TOTP_DIGITS = 6
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: easy to read back and type
RECOVERY_GROUP = 4
RECOVERY_GROUPS = 2


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (Argon2Error, InvalidHashError, TypeError, ValueError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (or is not an argon2 hash)."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except (Argon2Error, InvalidHashError, TypeError, ValueError):
        return True


# --- TOTP ------------------------------------------------------------------------------------


def new_totp_secret() -> str:
    """A random base32 secret (160 bits), as authenticator apps expect."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_email: str, issuer: str = "CareLedger") -> str:
    """The `otpauth://totp/...` URI to show as a QR code."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS).provisioning_uri(name=account_email, issuer_name=issuer)


def verify_totp(secret: str, code: str, at: datetime | None = None, valid_window: int = 1) -> bool:
    """Whether `code` is the TOTP at `at` (default: now), give or take `valid_window` 30-second steps.

    Spaces in the code are ignored. `at` should be timezone-aware (naive means local time).
    This does not stop replays inside the window: callers remember the last accepted step.
    """
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return False
    try:
        return pyotp.TOTP(secret, digits=TOTP_DIGITS).verify(code, for_time=at, valid_window=valid_window)
    except (TypeError, ValueError):  # a malformed secret (binascii.Error is a ValueError) or time
        return False


# --- recovery codes --------------------------------------------------------------------------


def recovery_codes(n: int = 10) -> list[str]:
    """`n` distinct one-time codes like `k7qm-x3tp` (about 40 bits each)."""
    codes: list[str] = []
    while len(codes) < n:
        groups = (
            "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP)) for _ in range(RECOVERY_GROUPS)
        )
        code = "-".join(groups)
        if code not in codes:
            codes.append(code)
    return codes


def _normalise_recovery_code(code: str) -> str:
    """Case, spaces and hyphens do not matter when a code is typed back."""
    return "".join(ch for ch in code.lower() if ch not in "- \t\r\n")


def hash_recovery_code(code: str) -> str:
    return _HASHER.hash(_normalise_recovery_code(code))


def verify_recovery_code(code_hash: str, code: str) -> bool:
    return verify_password(code_hash, _normalise_recovery_code(code))


def totp_step(secret: str, code: str, at: datetime, valid_window: int = 1) -> int | None:
    """The 30-second step whose code `code` is (within `valid_window` steps of `at`), else None.

    Returning the step lets the caller refuse a code at or before the last one accepted (replay).
    """
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    try:
        totp = pyotp.TOTP(secret, digits=TOTP_DIGITS)
        now_step = totp.timecode(at)
        for step in range(now_step - valid_window, now_step + valid_window + 1):
            if secrets.compare_digest(totp.generate_otp(step), code):
                return step
    except (TypeError, ValueError):
        return None
    return None


_DUMMY_HASH = _HASHER.hash("careledger-dummy-password")


class Argon2Credentials:
    """The application's `Credentials` port over the functions above."""

    def hash_password(self, password: str) -> str:
        return hash_password(password)

    def verify_password(self, password_hash: str, password: str) -> bool:
        return verify_password(password_hash, password)

    def burn(self, password: str) -> None:
        verify_password(_DUMMY_HASH, password)

    def new_totp_secret(self) -> str:
        return new_totp_secret()

    def provisioning_uri(self, secret: str, email: str) -> str:
        return provisioning_uri(secret, email)

    def totp_step(self, secret: str, code: str, at: datetime) -> int | None:
        return totp_step(secret, code, at)

    def new_recovery_codes(self) -> list[str]:
        return recovery_codes()

    def hash_recovery_code(self, code: str) -> str:
        return hash_recovery_code(code)

    def verify_recovery_code(self, code_hash: str, code: str) -> bool:
        return verify_recovery_code(code_hash, code)
