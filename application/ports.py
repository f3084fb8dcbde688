"""Ports: what the application needs from the outside, implemented in `adapters/`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.reminders.reminder import ReminderKey


class Clock(Protocol):
    def now(self) -> datetime: ...


class PhiCipher(Protocol):
    """Per-subject (per-client) data keys wrapped by a master key."""

    def encrypt(
        self, subject_id: UUID, plaintext: bytes, aad: bytes, new_subject: bool = False
    ) -> tuple[bytes, bytes | None]:
        """Returns the ciphertext and, when the subject had no key yet, the new wrapped key
        that must be stored in the same transaction as the events. `new_subject` says the
        event creates the subject itself, so no stored key can exist."""

    def decrypt(self, subject_id: UUID, ciphertext: bytes, aad: bytes) -> bytes | None:
        """Returns None when the subject's key has been destroyed (crypto-shredded)."""

    def confirm_stored(self, subject_ids: Sequence[UUID]) -> None: ...

    def prefetch(self, subject_ids: Sequence[UUID]) -> None: ...

    def forget(self, subject_id: UUID) -> None: ...


class EventLog(Protocol):
    """Direct reads of the event store for auditors (history by subject)."""

    def select_subject_notifications(
        self, subject_id: UUID, topics: Sequence[str] = (), limit: int = 10_000
    ) -> Sequence[Notification]: ...

    def select_subjects_between(self, first: int, last: int) -> Sequence[UUID]: ...


class Credentials(Protocol):
    """Password hashing and second factors (argon2id, TOTP, recovery codes)."""

    def hash_password(self, password: str) -> str: ...

    def verify_password(self, password_hash: str, password: str) -> bool: ...

    def burn(self, password: str) -> None:
        """Spend the time a verification would, so unknown accounts answer as slowly as known ones."""

    def new_totp_secret(self) -> str: ...

    def provisioning_uri(self, secret: str, email: str) -> str: ...

    def totp_step(self, secret: str, code: str, at: datetime) -> int | None:
        """The time step the code belongs to (within one step either side of `at`), else None."""

    def new_recovery_codes(self) -> list[str]: ...

    def hash_recovery_code(self, code: str) -> str: ...

    def verify_recovery_code(self, code_hash: str, code: str) -> bool: ...


class SessionActivity(Protocol):
    """Fast per-request session state beside the event store: last activity and revocations."""

    def touch(self, session_id: UUID, at: datetime, ttl_seconds: int) -> tuple[datetime | None, bool]:
        """Records activity at `at` unless revoked; returns the previous activity time (None
        when unknown) and whether the session is revoked."""

    def revoke(self, session_id: UUID, ttl_seconds: int) -> None: ...

    def is_revoked(self, session_id: UUID) -> bool: ...


class SmsRejected(Exception):
    """The SMS provider refused or could not take a message. `permanent`: retrying the same message
    cannot succeed (invalid or unsubscribed number ...); otherwise a later retry may. `code` is the
    provider's error code (Twilio's, e.g. 21211 invalid number, 21610 unsubscribed), None when the
    provider could not be reached."""

    def __init__(self, code: int | None, permanent: bool, status: int | None = None) -> None:
        super().__init__(f"SMS rejected: code={code} status={status} permanent={permanent}")
        self.code = code
        self.permanent = permanent
        self.status = status


class SmsGateway(Protocol):
    """Text messages through a provider (Twilio). Bodies and numbers are PHI: never log them."""

    def send(self, to: str, body: str, sender: str | None = None) -> str:
        """Sends one message; returns the provider's message id (Twilio's MessageSid)."""

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """The id of a message with exactly this body sent to `to` at or after `since`, if the
        provider has one: how a restarted worker learns whether a send it cannot remember
        finishing did reach the provider."""


class DueReminders(Protocol):
    """The due-work read model for appointment reminders (projections/reminder_schedule.py)."""

    def due(self, now: datetime, limit: int = 500) -> Sequence[ReminderKey]:
        """Reminders to work on at `now`, the longest due first."""
