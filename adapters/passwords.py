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
