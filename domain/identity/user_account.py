"""A person who can sign in: credentials, second factor, lockout and the practices they belong to.

The account is global (one per e-mail address); what the person may do in a practice lives on
their `Membership` there. Times are passed in by the application (the domain has no clock).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.identity.password_policy import LockoutState, lockout_state

USER_NAMESPACE = UUID("5d0c2b8e-1f7a-4f8e-b7f0-0c1d9a7e4b21")
KEPT_FAILURES = 20
KEPT_SESSIONS = 50


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 320:
        raise InvalidCommand("That is not an e-mail address.", field="email")
    return email


def user_id_for(email: str) -> UUID:
    """An account's id follows from its e-mail address, so an address registers only once."""
    return uuid5(USER_NAMESPACE, normalise_email(email))


class UserAccount(Aggregate):
    TOPIC = "careledger/user"

    class Created(Aggregate.Created):
        TOPIC = "careledger/user/created"

    class Registered(Created, Audited):
        """The name is personal data, so it is encrypted under the account's own key."""

        TOPIC = "careledger/user/registered"
        subject_field: ClassVar[str | None] = "originator_id"
        phi_fields: ClassVar[tuple[str, ...]] = ("full_name",)
        email: str
        full_name: str
        password_hash: str

    class PracticeJoined(Aggregate.Event, Audited):
        TOPIC = "careledger/user/practice-joined"
        practice_id: UUID
        practice_slug: str
        membership_id: UUID

    class PasswordChanged(Aggregate.Event, Audited):
        TOPIC = "careledger/user/password-changed"
        password_hash: str
        method: str  # change | reset

    class PasswordResetRequested(Aggregate.Event, Audited):
        TOPIC = "careledger/user/password-reset-requested"
        token_hash: str
        expires_at: datetime

    class SignedIn(Aggregate.Event, Audited):
        TOPIC = "careledger/user/signed-in"
        practice_id: UUID
        session_id: UUID
        second_factor: str | None  # totp | recovery_code | delegated (CLI, tests) | None
        totp_step: int | None
        at: datetime

    class SignInFailed(Aggregate.Event, Audited):
        TOPIC = "careledger/user/sign-in-failed"
        reason: str  # password | second_factor | locked | deactivated | no_membership
        at: datetime

    class LockedOut(Aggregate.Event, Audited):
        TOPIC = "careledger/user/locked-out"
        until: datetime

    class MfaEnrolmentStarted(Aggregate.Event, Audited):
        TOPIC = "careledger/user/mfa-enrolment-started"
        subject_field: ClassVar[str | None] = "originator_id"
        phi_fields: ClassVar[tuple[str, ...]] = ("secret",)
        secret: str

    class MfaEnabled(Aggregate.Event, Audited):
        TOPIC = "careledger/user/mfa-enabled"
        recovery_code_hashes: list[str]
        totp_step: int

    class RecoveryCodeUsed(Aggregate.Event, Audited):
        TOPIC = "careledger/user/recovery-code-used"
        index: int

    class MfaDisabled(Aggregate.Event, Audited):
        TOPIC = "careledger/user/mfa-disabled"

    class Deactivated(Aggregate.Event, Audited):
        TOPIC = "careledger/user/deactivated"
        reason_code: str

    @classmethod
    def create_id(cls, email: str, **_: object) -> UUID:
        return user_id_for(email)

    @classmethod
    def register(cls, email: str, full_name: str, password_hash: str) -> UserAccount:
        if not full_name.strip():
            raise InvalidCommand("A user needs a name.", field="full_name")
        return cls(email=normalise_email(email), full_name=full_name.strip(), password_hash=password_hash)

    @event(Registered)
    def __init__(self, email: str, full_name: str, password_hash: str) -> None:
        self.email = email
        self.full_name = full_name
        self.password_hash = password_hash
        self.active = True
        self.memberships: dict[UUID, tuple[UUID, str]] = {}  # practice id -> (membership id, slug)
        self.failures: list[datetime] = []
        self.locked_until: datetime | None = None
        self.reset_token: tuple[str, datetime] | None = None
        self.pending_totp_secret: str | None = None
        self.totp_secret: str | None = None
        self.last_totp_step = 0
        self.recovery_code_hashes: list[str | None] = []
        self.session_ids: list[UUID] = []

    @property
    def mfa_enabled(self) -> bool:
        return self.totp_secret is not None

    def join(self, practice_id: UUID, practice_slug: str, membership_id: UUID) -> None:
        if self.memberships.get(practice_id, (None,))[0] != membership_id:
            self._joined(practice_id=practice_id, practice_slug=practice_slug, membership_id=membership_id)

    @event(PracticeJoined)
    def _joined(self, practice_id: UUID, practice_slug: str, membership_id: UUID) -> None:
        self.memberships[practice_id] = (membership_id, practice_slug)

    # --- sign-in ------------------------------------------------------------------------------

    def lockout(self, at: datetime) -> LockoutState:
        return lockout_state(self.failures, at)

    def sign_in_failed(self, reason: str, at: datetime) -> LockoutState:
        """Records the failure; the fifth within 15 minutes locks the account (a LockedOut event)."""
        self._failed(reason=reason, at=at)
        state = lockout_state(self.failures, at)
        if state.locked and state.until is not None and state.until != self.locked_until:
            self._locked(until=state.until)
        return state

    @event(SignInFailed)
    def _failed(self, reason: str, at: datetime) -> None:
        if reason != "locked":
            self.failures = [*self.failures, at][-KEPT_FAILURES:]

    @event(LockedOut)
    def _locked(self, until: datetime) -> None:
        self.locked_until = until

    def signed_in(
        self, practice_id: UUID, session_id: UUID, second_factor: str | None, totp_step: int | None, at: datetime
    ) -> None:
        if not self.active:
            raise IllegalTransition("This account is deactivated.")
        if totp_step is not None and totp_step <= self.last_totp_step:
            raise InvalidCommand("That code was used already; wait for the next one.", field="totp")
        self._signed_in(
            practice_id=practice_id, session_id=session_id, second_factor=second_factor, totp_step=totp_step, at=at
        )

    @event(SignedIn)
    def _signed_in(
        self, practice_id: UUID, session_id: UUID, second_factor: str | None, totp_step: int | None, at: datetime
    ) -> None:
        self.failures = []
        self.session_ids = [*self.session_ids, session_id][-KEPT_SESSIONS:]
        if totp_step is not None:
            self.last_totp_step = totp_step

    # --- passwords ----------------------------------------------------------------------------

    def change_password(self, password_hash: str, method: str) -> None:
        if not self.active:
            raise IllegalTransition("This account is deactivated.")
        self._password_changed(password_hash=password_hash, method=method)

    @event(PasswordChanged)
    def _password_changed(self, password_hash: str, method: str) -> None:
        self.password_hash = password_hash
        self.reset_token = None
        self.failures = []
        self.locked_until = None

    def request_password_reset(self, token_hash: str, expires_at: datetime) -> None:
        if self.active:
            self._reset_requested(token_hash=token_hash, expires_at=expires_at)

    @event(PasswordResetRequested)
    def _reset_requested(self, token_hash: str, expires_at: datetime) -> None:
        self.reset_token = (token_hash, expires_at)

    def reset_token_valid(self, token_hash: str, at: datetime) -> bool:
        """Single use (a password change clears it) and good for one hour."""
        return self.reset_token is not None and self.reset_token[0] == token_hash and at < self.reset_token[1]

    # --- second factor ------------------------------------------------------------------------

    def start_mfa_enrolment(self, secret: str) -> None:
        self._mfa_started(secret=secret)

    @event(MfaEnrolmentStarted)
    def _mfa_started(self, secret: str) -> None:
        self.pending_totp_secret = secret

    def enable_mfa(self, recovery_code_hashes: list[str], totp_step: int) -> None:
        if self.pending_totp_secret is None:
            raise IllegalTransition("Start MFA enrolment first.")
        self._mfa_enabled(recovery_code_hashes=recovery_code_hashes, totp_step=totp_step)

    @event(MfaEnabled)
    def _mfa_enabled(self, recovery_code_hashes: list[str], totp_step: int) -> None:
        self.totp_secret = self.pending_totp_secret
        self.pending_totp_secret = None
        self.recovery_code_hashes = list(recovery_code_hashes)
        self.last_totp_step = max(self.last_totp_step, totp_step)

    def use_recovery_code(self, index: int) -> None:
        if not 0 <= index < len(self.recovery_code_hashes) or self.recovery_code_hashes[index] is None:
            raise IllegalTransition("That recovery code was used already.")
        self._recovery_used(index=index)

    @event(RecoveryCodeUsed)
    def _recovery_used(self, index: int) -> None:
        codes = list(self.recovery_code_hashes)
        codes[index] = None
        self.recovery_code_hashes = codes

    def disable_mfa(self) -> None:
        if not self.mfa_enabled:
            raise IllegalTransition("MFA is not enabled.")
        self._mfa_disabled()

    @event(MfaDisabled)
    def _mfa_disabled(self) -> None:
        self.totp_secret = None
        self.recovery_code_hashes = []

    def deactivate(self, reason_code: str) -> None:
        if not self.active:
            raise IllegalTransition("This account is already deactivated.")
        self._deactivated(reason_code=reason_code)

    @event(Deactivated)
    def _deactivated(self, reason_code: str) -> None:
        self.active = False
