"""Sign-in, sessions (refresh rotation, reuse detection, idle timeout), passwords and MFA."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.errors import Conflict, NotFound
from application.identity import tokens
from application.identity.policy import IdentityPolicy, anonymously, as_account
from application.mail import Mailer, OutgoingMail
from application.ports import Clock, Credentials, SessionActivity
from application.store import EventStore
from domain.errors import DomainError, InvalidCommand
from domain.identity.membership import Membership
from domain.identity.password_policy import check_password
from domain.identity.session import RefreshTokenReused, Session, SessionEnded
from domain.identity.sign_in_attempt import UnknownAccountSignIn
from domain.identity.user_account import UserAccount, normalise_email, user_id_for
from domain.practices.practice import Practice, practice_id_for

T = TypeVar("T")


class SignInRefused(DomainError):
    code = "invalid_credentials"
    kind = "unauthenticated"


class AccountLocked(DomainError):
    code = "account_locked"
    kind = "unauthenticated"


class SecondFactorRequired(DomainError):
    code = "mfa_required"
    kind = "unauthenticated"


class PracticeRequired(DomainError):
    code = "practice_required"
    kind = "invalid"


@dataclass(frozen=True)
class SessionTokens:
    session_id: UUID
    user_id: UUID
    member_id: UUID
    practice_id: UUID
    role: str
    refresh_token: str
    mfa_pending: bool
    issued_at: datetime


@dataclass(frozen=True)
class MfaEnrolment:
    secret: str
    provisioning_uri: str


def _retry_on_conflict(attempt: Callable[[], T]) -> T:
    """Two requests racing on one account or session: the loser re-reads and decides again."""
    try:
        return attempt()
    except IntegrityError:
        return attempt()


class AccountService:
    def __init__(
        self,
        store: EventStore,
        credentials: Credentials,
        activity: SessionActivity,
        clock: Clock,
        mailer: Mailer,
        policy: IdentityPolicy,
    ) -> None:
        self.store = store
        self.credentials = credentials
        self.activity = activity
        self.clock = clock
        self.mailer = mailer
        self.policy = policy

    # --- sign-in ------------------------------------------------------------------------------

    def login(self, email: str, password: str, totp: str | None = None, practice: str | None = None) -> SessionTokens:
        at = self.clock.now()
        try:
            address = normalise_email(email)
        except InvalidCommand:
            raise SignInRefused("The e-mail address or password is wrong.") from None
        user_id = user_id_for(address)
        if not self.store.exists(user_id):
            self.credentials.burn(password)
            with anonymously():
                self.store.save(UnknownAccountSignIn(email=address, at=at))
            raise SignInRefused("The e-mail address or password is wrong.")
        return _retry_on_conflict(lambda: self._login(user_id, password, totp, practice, at))

    def _login(
        self, user_id: UUID, password: str, totp: str | None, practice: str | None, at: datetime
    ) -> SessionTokens:
        user: UserAccount = self.store.load(user_id, UserAccount)
        with as_account(user_id):
            lock = user.lockout(at)
            if lock.locked:
                self.credentials.burn(password)
                self._refuse(user, "locked", at)
            if not self.credentials.verify_password(user.password_hash, password):
                self._refuse(user, "password", at)
            if not user.active:
                self._refuse(user, "deactivated", at)
            member = self._membership(user, practice, at)
        with as_account(user_id, member.practice_id):
            second_factor, step, recovery_index = None, None, None
            if user.mfa_enabled:
                if not totp:
                    raise SecondFactorRequired("Enter the code from your authenticator app (or a recovery code).")
                second_factor, step, recovery_index = self._second_factor(user, totp, at)
            practice_agg: Practice = self.store.load(member.practice_id, Practice)
            mfa_pending = member.is_staff and practice_agg.require_staff_mfa and not user.mfa_enabled
            session, refresh = self._new_session(user.id, member, at, mfa_pending)
            user.signed_in(member.practice_id, session.id, second_factor, step, at)
            if recovery_index is not None:
                user.use_recovery_code(recovery_index)
            self.store.save(user, session)
        self.activity.touch(session.id, at, self._ttl())
        return self._tokens(session, refresh, at)

    def _new_session(
        self, user_id: UUID, member: Membership, at: datetime, mfa_pending: bool
    ) -> tuple[Session, str]:
        """A session and its first refresh secret; staff sessions get the idle timeout."""
        refresh = tokens.new_secret()
        idle = int(self.policy.staff_idle_timeout.total_seconds()) if member.is_staff else None
        session = Session(
            user_id=user_id, membership_id=member.id, practice_id=member.practice_id, role=member.role,
            refresh_hash=tokens.digest(refresh), started_at=at, expires_at=at + self.policy.refresh_ttl,
            idle_timeout_seconds=idle, mfa_pending=mfa_pending,
        )
        return session, refresh

    def _ttl(self) -> int:
        return int(self.policy.refresh_ttl.total_seconds())

    def _refuse(self, user: UserAccount, reason: str, at: datetime) -> None:
        state = user.sign_in_failed(reason, at)
        self.store.save(user)
        if state.locked and state.until is not None:
            raise AccountLocked(
                f"Too many failed sign-ins: the account is locked until {state.until.isoformat()}.",
                locked_until=state.until.isoformat(),
            )
        raise SignInRefused("The e-mail address or password is wrong.")

    def _membership(self, user: UserAccount, practice: str | None, at: datetime) -> Membership:
        candidates = []
        for practice_id, (member_id, slug) in user.memberships.items():
            if practice and practice_id != practice_id_for(practice) and practice != slug:
                continue
            member: Membership = self.store.load(member_id, Membership)
            if member.active:
                candidates.append((slug, member))
        if not candidates:
            self._refuse(user, "no_membership", at)
        if len(candidates) > 1:
            raise PracticeRequired(
                "You belong to several practices; say which one.",
                field="practice", allowed=sorted(slug for slug, _ in candidates),
            )
        return candidates[0][1]

    def _second_factor(self, user: UserAccount, code: str, at: datetime) -> tuple[str, int | None, int | None]:
        assert user.totp_secret is not None
        step = self.credentials.totp_step(user.totp_secret, code, at)
        if step is not None and step > user.last_totp_step:
            return "totp", step, None
        if step is None:
            for index, code_hash in enumerate(user.recovery_code_hashes):
                if code_hash is not None and self.credentials.verify_recovery_code(code_hash, code):
                    return "recovery_code", None, index
        self._refuse(user, "second_factor", at)
        raise AssertionError("unreachable")

    def _tokens(self, session: Session, refresh: str, at: datetime) -> SessionTokens:
        return SessionTokens(
            session_id=session.id,
            user_id=session.user_id,
            member_id=session.membership_id,
            practice_id=session.practice_id,
            role=session.role,
            refresh_token=tokens.compose(session.id, refresh),
            mfa_pending=session.mfa_pending,
            issued_at=at,
        )

    def start_session(self, member_id: UUID) -> SessionTokens:
        """A session for a member without the password step (CLI `careledger token`, tests),
        recorded under the current actor (the CLI user), not the member."""
        at = self.clock.now()
        member: Membership = self.store.load(member_id, Membership)
        if member.user_id is None or not member.active:
            raise Conflict("The membership is not active.")
        user: UserAccount = self.store.load(member.user_id, UserAccount)
        session, refresh = self._new_session(user.id, member, at, mfa_pending=False)
        user.signed_in(member.practice_id, session.id, "delegated", None, at)
        self.store.save(user, session)
        self.activity.touch(session.id, at, self._ttl())
        return self._tokens(session, refresh, at)

    # --- refresh, activity, logout ------------------------------------------------------------

    def refresh(self, refresh_token: str) -> SessionTokens:
        session_id, secret = tokens.parse(refresh_token, SessionEnded)
        return _retry_on_conflict(lambda: self._refresh(session_id, secret))

    def _refresh(self, session_id: UUID, secret: str) -> SessionTokens:
        at = self.clock.now()
        try:
            session: Session = self.store.load(session_id, Session)
        except NotFound:
            raise SessionEnded("The refresh token is not valid.") from None
        with as_account(session.user_id, session.practice_id):
            if session.revoked is None and session.idle_timeout_seconds is not None:
                seen, _ = self.activity.touch(session.id, at, self._ttl())
                if seen is None or session.idle_since(seen, at):
                    self._end(session, "idle")
                    raise SessionEnded("The session was idle for too long; sign in again.")
            new_secret = tokens.new_secret()
            rotated = session.rotate(tokens.digest(secret), tokens.digest(new_secret), at)
            member: Membership = self.store.load(session.membership_id, Membership)
            if rotated and not member.active:
                self._end(session, "membership_ended")
                raise SessionEnded("Your membership of this practice has ended.")
            self.store.save(session)
            if not rotated:
                self.activity.revoke(session.id, self._ttl())
                raise RefreshTokenReused(
                    "This refresh token was used before, so it may have been stolen: every token of this "
                    "sign-in is now revoked. Sign in again."
                )
        self.activity.touch(session.id, at, self._ttl())
        return SessionTokens(
            session_id=session.id, user_id=session.user_id, member_id=member.id, practice_id=session.practice_id,
            role=member.role, refresh_token=tokens.compose(session.id, new_secret), mfa_pending=session.mfa_pending,
            issued_at=at,
        )

    def _end(self, session: Session, reason: str) -> None:
        session.revoke(reason)
        self.store.save(session)
        self.activity.revoke(session.id, self._ttl())

    def check_activity(self, session_id: UUID, idle_timeout: bool) -> None:
        """Per request: refuses revoked sessions and, for staff, sessions idle past the timeout."""
        at = self.clock.now()
        seen, revoked = self.activity.touch(session_id, at, self._ttl())
        if revoked:
            raise SessionEnded("This session has ended; sign in again.")
        limit = self.policy.staff_idle_timeout
        if idle_timeout and (seen is None or at - seen > limit):
            try:
                session: Session = self.store.load(session_id, Session)
                with as_account(session.user_id, session.practice_id):
                    self._end(session, "idle")
            except (NotFound, IntegrityError):
                self.activity.revoke(session_id, self._ttl())
            raise SessionEnded("The session was idle for more than 15 minutes; sign in again.")

    def logout(self, session_id: UUID) -> None:
        session: Session = self.store.load(session_id, Session)
        with as_account(session.user_id, session.practice_id):
            self._end(session, "logout")

    def _end_sessions(
        self, user: UserAccount, keep: UUID | None, reason: str, membership_id: UUID | None = None
    ) -> None:
        for sid in user.session_ids:
            if sid == keep:
                continue
            try:
                session: Session = self.store.load(sid, Session)
            except NotFound:
                continue
            if session.revoked is None and membership_id in (None, session.membership_id):
                self._end(session, reason)

    def end_member_sessions(self, member_id: UUID, reason: str = "membership_ended") -> None:
        """Ends every session of a membership (deactivation), so a later reactivation starts clean."""
        member: Membership = self.store.load(member_id, Membership)
        if member.user_id is None:
            return
        user: UserAccount = self.store.load(member.user_id, UserAccount)
        self._end_sessions(user, None, reason, membership_id=member_id)

    # --- passwords ----------------------------------------------------------------------------

    def request_password_reset(self, email: str) -> None:
        """Mails a one-hour, single-use reset link when the account exists; silent otherwise."""
        try:
            user_id = user_id_for(email)
        except InvalidCommand:
            return
        if not self.store.exists(user_id):
            return
        at = self.clock.now()
        user: UserAccount = self.store.load(user_id, UserAccount)
        if not user.active:
            return
        secret = tokens.new_secret()
        with as_account(user_id):
            user.request_password_reset(tokens.digest(secret), at + self.policy.reset_ttl)
            self.store.save(user)
        token = tokens.compose(user_id, secret)
        link = f"{self.policy.public_url}/reset-password?token={token}"
        self.mailer.send(OutgoingMail(
            to=user.email,
            subject="Reset your CareLedger password",
            text=(f"Someone (we hope you) asked to reset your CareLedger password.\n\n"
                  f"Reset it within the hour: {link}\n\nReset token: {token}\n\n"
                  "If it was not you, ignore this message; your password stays as it is."),
            idempotency_key=f"password-reset/{user_id}/{tokens.digest(secret)[:16]}",
        ))

    def reset_password(self, token: str, new_password: str) -> None:
        user_id, secret = tokens.parse(token)
        try:
            user: UserAccount = self.store.load(user_id, UserAccount)
        except NotFound:
            raise tokens.InvalidToken("The reset token is not valid.") from None
        at = self.clock.now()
        if not user.reset_token_valid(tokens.digest(secret), at):
            raise tokens.InvalidToken("The reset token is not valid, was used already or has expired.")
        check_password(new_password, email=user.email)
        with as_account(user_id):
            user.change_password(self.credentials.hash_password(new_password), "reset")
            self.store.save(user)
            self._end_sessions(user, None, "password_changed")

    def change_password(self, user_id: UUID, session_id: UUID, current: str, new_password: str) -> None:
        user: UserAccount = self.store.load(user_id, UserAccount)
        if not self.credentials.verify_password(user.password_hash, current):
            raise InvalidCommand("The current password is wrong.", field="current_password")
        check_password(new_password, email=user.email)
        with as_account(user_id):
            user.change_password(self.credentials.hash_password(new_password), "change")
            self.store.save(user)
            self._end_sessions(user, session_id, "password_changed")

    # --- second factor ------------------------------------------------------------------------

    def start_mfa(self, user_id: UUID) -> MfaEnrolment:
        user: UserAccount = self.store.load(user_id, UserAccount)
        if user.mfa_enabled:
            raise Conflict("MFA is already on; disable it first to enrol a new authenticator.")
        secret = self.credentials.new_totp_secret()
        with as_account(user_id):
            user.start_mfa_enrolment(secret)
            self.store.save(user)
        return MfaEnrolment(secret, self.credentials.provisioning_uri(secret, user.email))

    def confirm_mfa(self, user_id: UUID, session_id: UUID, code: str) -> list[str]:
        """Turns MFA on once a code from the new authenticator checks out; returns the recovery
        codes (shown once). A session that was waiting for enrolment ends: sign in with a code."""
        user: UserAccount = self.store.load(user_id, UserAccount)
        if user.pending_totp_secret is None:
            raise Conflict("Start MFA enrolment first (POST /api/v1/auth/mfa/enrol).")
        step = self.credentials.totp_step(user.pending_totp_secret, code, self.clock.now())
        if step is None:
            raise InvalidCommand("That code does not match the authenticator; try the current one.", field="code")
        codes = self.credentials.new_recovery_codes()
        with as_account(user_id):
            user.enable_mfa([self.credentials.hash_recovery_code(c) for c in codes], step)
            self.store.save(user)
            session: Session = self.store.load(session_id, Session)
            if session.mfa_pending:
                self._end(session, "mfa_enrolled")
        return codes

    def disable_mfa(self, user_id: UUID, password: str, code: str) -> None:
        user: UserAccount = self.store.load(user_id, UserAccount)
        at = self.clock.now()
        if not self.credentials.verify_password(user.password_hash, password):
            raise InvalidCommand("The password is wrong.", field="password")
        if not user.mfa_enabled or user.totp_secret is None:
            raise Conflict("MFA is not on.")
        if self.credentials.totp_step(user.totp_secret, code, at) is None:
            raise InvalidCommand("That code does not match the authenticator.", field="code")
        with as_account(user_id):
            user.disable_mfa()
            self.store.save(user)

    def account(self, user_id: UUID) -> UserAccount:
        user: UserAccount = self.store.load(user_id, UserAccount)
        return user
