"""Practice memberships: invitations by mail, acceptance, roles, scope and HIPAA training."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from application import audit
from application.errors import Conflict, NotFound
from application.identity import tokens
from application.identity.policy import IdentityPolicy, anonymously, as_account
from application.mail import Mailer, OutgoingMail
from application.ports import Clock, Credentials
from application.store import EventStore, Saved
from domain.clients.client import Client
from domain.errors import InvalidCommand
from domain.identity.membership import Membership, membership_id_for
from domain.identity.password_policy import check_password
from domain.identity.user_account import UserAccount, user_id_for
from domain.practices.practice import Practice


@dataclass(frozen=True)
class Invitation:
    saved: Saved
    mail_id: str


@dataclass(frozen=True)
class SweepResult:
    reminded: list[UUID]
    lapsed: list[UUID]


class MemberService:
    def __init__(
        self,
        store: EventStore,
        credentials: Credentials,
        clock: Clock,
        mailer: Mailer,
        policy: IdentityPolicy,
    ) -> None:
        self.store = store
        self.credentials = credentials
        self.clock = clock
        self.mailer = mailer
        self.policy = policy

    def get(self, practice_id: UUID, member_id: UUID) -> Membership:
        member: Membership = self.store.load(member_id, Membership)
        if member.practice_id != practice_id:
            raise NotFound(f"No membership {member_id}.")
        return member

    def _check_clients(self, practice_id: UUID, client_ids: Iterable[UUID]) -> None:
        for client_id in client_ids:
            client: Client = self.store.load(client_id, Client)
            if client.practice_id != practice_id:
                raise NotFound(f"No client {client_id}.")

    # --- invitations --------------------------------------------------------------------------

    def _invitation(
        self,
        practice_id: UUID,
        email: str,
        full_name: str,
        role: str,
        license_type: str | None,
        client_ids: list[UUID] | None,
        overrides: dict[str, bool] | None,
        hipaa_training_on: date | None,
    ) -> tuple[Membership, Practice, str]:
        practice: Practice = self.store.load(practice_id, Practice)
        if self.store.exists(membership_id_for(practice_id, email)):
            raise Conflict(f"{email} is already a member of (or invited to) this practice.", field="email")
        self._check_clients(practice_id, client_ids or [])
        at = self.clock.now()
        secret = tokens.new_secret()
        member = Membership.invite(
            practice_id, email, full_name, role, tokens.digest(secret), at + self.policy.invitation_ttl,
            license_type=license_type, client_ids=client_ids, overrides=overrides,
        )
        if hipaa_training_on is not None:
            member.record_hipaa_training(hipaa_training_on, at.date())
        return member, practice, secret

    def invite(
        self,
        practice_id: UUID,
        email: str,
        full_name: str,
        role: str,
        license_type: str | None = None,
        client_ids: list[UUID] | None = None,
        overrides: dict[str, bool] | None = None,
        hipaa_training_on: date | None = None,
    ) -> Invitation:
        member, practice, secret = self._invitation(
            practice_id, email, full_name, role, license_type, client_ids, overrides, hipaa_training_on
        )
        saved = self.store.save_one(member)
        return Invitation(saved, self._mail_invitation(practice, member, secret))

    def _mail_invitation(self, practice: Practice, member: Membership, secret: str) -> str:
        token = tokens.compose(member.id, secret)
        assert member.invitation is not None
        expires = member.invitation[1]
        return self.mailer.send(OutgoingMail(
            to=member.email,
            subject=f"You are invited to {practice.name} on CareLedger",
            text=(f"Hello {member.full_name},\n\n{practice.name} invited you to CareLedger as {member.role}.\n\n"
                  f"Accept by {expires:%Y-%m-%d %H:%M} UTC: "
                  f"{self.policy.public_url}/accept-invitation?token={token}\n\n"
                  f"Invitation token: {token}\n"),
            idempotency_key=f"invitation/{member.id}/{tokens.digest(secret)[:16]}",
            practice_id=practice.id,
        ))

    def reissue_invitation(self, practice_id: UUID, member_id: UUID) -> Invitation:
        member = self.get(practice_id, member_id)
        practice: Practice = self.store.load(practice_id, Practice)
        secret = tokens.new_secret()
        member.reissue_invitation(tokens.digest(secret), self.clock.now() + self.policy.invitation_ttl)
        saved = self.store.save_one(member)
        return Invitation(saved, self._mail_invitation(practice, member, secret))

    def accept(self, token: str, full_name: str | None, password: str) -> UUID:
        """Accept an invitation: a new person registers (name, password); someone who already has
        an account proves it with their password. Both aggregates change in one transaction."""
        member_id, secret = tokens.parse(token)
        with anonymously():
            try:
                member: Membership = self.store.load(member_id, Membership)
            except NotFound:
                raise tokens.InvalidToken("The invitation is not valid.") from None
        if not member.invitation_valid(tokens.digest(secret), self.clock.now()):
            raise tokens.InvalidToken("The invitation is not valid, was used already or has expired.")
        practice: Practice = self.store.load(member.practice_id, Practice)
        user_id = user_id_for(member.email)
        if self.store.exists(user_id):
            user: UserAccount = self.store.load(user_id, UserAccount)
            if not self.credentials.verify_password(user.password_hash, password):
                raise InvalidCommand("You have an account already: enter its password to accept.", field="password")
        else:
            check_password(password, email=member.email)
            user = UserAccount.register(member.email, full_name or member.full_name,
                                        self.credentials.hash_password(password))
        with as_account(user_id, member.practice_id):
            user.join(practice.id, practice.slug, member.id)
            member.accept(user.id)
            self.store.save(user, member)
        return user_id

    # --- changes by an admin ------------------------------------------------------------------

    def change_role(self, practice_id: UUID, member_id: UUID, role: str, reason: str) -> Saved:
        member = self.get(practice_id, member_id)
        member.change_role(role)
        with audit.because(reason):
            return self.store.save_one(member)

    def override_permissions(self, practice_id: UUID, member_id: UUID, overrides: dict[str, bool]) -> Saved:
        member = self.get(practice_id, member_id)
        member.override_permissions(overrides)
        return self.store.save_one(member)

    def assign_supervisor(self, practice_id: UUID, member_id: UUID, supervisor_id: UUID | None) -> Saved:
        member = self.get(practice_id, member_id)
        supervisor = None
        if supervisor_id is not None:
            try:
                supervisor = self.get(practice_id, supervisor_id)
            except NotFound:
                raise InvalidCommand("The supervisor must be a member of this practice.",
                                     field="supervisor_id") from None
        member.assign_supervisor(supervisor)
        return self.store.save_one(member)

    def change_license(self, practice_id: UUID, member_id: UUID, license_type: str | None) -> Saved:
        member = self.get(practice_id, member_id)
        member.change_license(license_type)
        return self.store.save_one(member)

    def link_clients(self, practice_id: UUID, member_id: UUID, client_ids: list[UUID]) -> Saved:
        member = self.get(practice_id, member_id)
        self._check_clients(practice_id, client_ids)
        member.link_clients(client_ids)
        return self.store.save_one(member)

    def deactivate(self, practice_id: UUID, member_id: UUID, reason_code: str) -> Saved:
        member = self.get(practice_id, member_id)
        member.deactivate(reason_code)
        with audit.because(reason_code):
            return self.store.save_one(member)

    def reactivate(self, practice_id: UUID, member_id: UUID) -> Saved:
        member = self.get(practice_id, member_id)
        member.reactivate()
        return self.store.save_one(member)

    def record_hipaa_training(self, practice_id: UUID, member_id: UUID, completed_on: date) -> Saved:
        member = self.get(practice_id, member_id)
        member.record_hipaa_training(completed_on, self.clock.now().date())
        return self.store.save_one(member)

    def sweep_hipaa_training(self, member_ids: Iterable[UUID], today: date | None = None) -> SweepResult:
        """Georgia rule 7: a reminder 30 days before the year runs out, a lapse on expiry (each
        once per cycle), and a mail to the member for each. Run daily by the server and worker."""
        today = today or self.clock.now().date()
        result = SweepResult([], [])
        for member_id in member_ids:
            member: Membership = self.store.load(member_id, Membership)
            with audit.acting(audit.system("system:hipaa-sweep", practice_id=member.practice_id)):
                outcome = member.sweep_hipaa_training(today)
                if outcome is None:
                    continue
                self.store.save(member)
            expires = member.hipaa_training_expires_on
            (result.reminded if outcome == "reminded" else result.lapsed).append(member.id)
            text = (f"Your annual HIPAA training expires on {expires}. Complete it and ask your practice admin "
                    "to record the new date, or your access will be suspended." if outcome == "reminded" else
                    f"Your annual HIPAA training expired on {expires}: your access is suspended until your "
                    "practice admin records a new completion.")
            self.mailer.send(OutgoingMail(
                to=member.email, subject="HIPAA training " + ("due soon" if outcome == "reminded" else "expired"),
                text=text, idempotency_key=f"hipaa/{outcome}/{member.id}/{expires}", practice_id=member.practice_id,
            ))
        return result

    def provision(
        self,
        practice_id: UUID,
        email: str,
        full_name: str,
        role: str,
        password: str,
        license_type: str | None = None,
        client_ids: list[UUID] | None = None,
        hipaa_training_on: date | None = None,
    ) -> UUID:
        """Invite and accept in one go, without mail (demo data, bootstrapping a practice's owner)."""
        member, _, secret = self._invitation(
            practice_id, email, full_name, role, license_type, client_ids, None, hipaa_training_on
        )
        self.store.save(member)
        self.accept(tokens.compose(member.id, secret), full_name, password)
        return member.id
