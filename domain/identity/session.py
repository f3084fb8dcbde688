"""A sign-in session: one refresh-token family with rotation and reuse detection.

Only hashes of refresh tokens are kept. Presenting the current one rotates it; presenting one
that was already rotated away means a copy is in someone else's hands, so the whole family is
revoked (RFC 6819 5.2.2.3, OAuth 2.0 Security BCP 4.14).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError
from domain.events import Audited


class SessionEnded(DomainError):
    code = "session_ended"
    kind = "unauthenticated"


class RefreshTokenReused(DomainError):
    code = "refresh_token_reused"
    kind = "unauthenticated"


class Session(Aggregate):
    TOPIC = "careledger/session"

    class Created(Aggregate.Created):
        TOPIC = "careledger/session/created"

    class Started(Created, Audited):
        TOPIC = "careledger/session/started"
        user_id: UUID
        membership_id: UUID
        practice_id: UUID
        role: str
        refresh_hash: str
        started_at: datetime
        expires_at: datetime
        idle_timeout_seconds: int | None
        mfa_pending: bool

    class Rotated(Aggregate.Event, Audited):
        TOPIC = "careledger/session/rotated"
        refresh_hash: str
        at: datetime

    class Revoked(Aggregate.Event, Audited):
        TOPIC = "careledger/session/revoked"
        reason: str  # logout | refresh_token_reused | idle | membership_ended | password_changed | mfa_enrolled

    @event(Started)
    def __init__(
        self,
        user_id: UUID,
        membership_id: UUID,
        practice_id: UUID,
        role: str,
        refresh_hash: str,
        started_at: datetime,
        expires_at: datetime,
        idle_timeout_seconds: int | None,
        mfa_pending: bool,
    ) -> None:
        self.user_id = user_id
        self.membership_id = membership_id
        self.practice_id = practice_id
        self.role = role
        self.refresh_hash = refresh_hash
        self.used_hashes: list[str] = []
        self.expires_at = expires_at
        self.idle_timeout_seconds = idle_timeout_seconds
        self.mfa_pending = mfa_pending
        self.revoked: str | None = None

    def rotate(self, presented_hash: str, new_hash: str, at: datetime) -> bool:
        """Swap the presented refresh token for a new one (True), or revoke the family on reuse
        (False: the caller saves the revocation, then refuses)."""
        if self.revoked is not None:
            raise SessionEnded(f"This session has ended ({self.revoked}); sign in again.")
        if at >= self.expires_at:
            raise SessionEnded("This session has expired; sign in again.")
        if presented_hash in self.used_hashes:
            self.revoke("refresh_token_reused")
            return False
        if presented_hash != self.refresh_hash:
            raise SessionEnded("The refresh token is not valid.")
        self._rotated(refresh_hash=new_hash, at=at)
        return True

    @event(Rotated)
    def _rotated(self, refresh_hash: str, at: datetime) -> None:
        self.used_hashes = [*self.used_hashes, self.refresh_hash]
        self.refresh_hash = refresh_hash

    def idle_since(self, last_activity: datetime, at: datetime) -> bool:
        if self.idle_timeout_seconds is None:
            return False
        return (at - last_activity).total_seconds() > self.idle_timeout_seconds

    def revoke(self, reason: str) -> None:
        if self.revoked is None:
            self._revoked(reason=reason)

    @event(Revoked)
    def _revoked(self, reason: str) -> None:
        self.revoked = reason
