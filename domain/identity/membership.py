"""A person's place in one practice: role, permission overrides, record scope and HIPAA training.

Staff memberships are also the staff records other aggregates point at (care teams,
supervision). Client and family-member memberships name the client records they may see.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.identity.licenses import license_type as check_license_type
from domain.identity.permissions import ROLES, STAFF_ROLES, check_role, effective_permissions
from domain.identity.user_account import normalise_email

MEMBERSHIP_NAMESPACE = UUID("0e7c7f5a-9a4b-4c55-8f1e-6c2f3b9d1a07")
TRAINING_VALID_FOR = timedelta(days=365)
TRAINING_REMINDER_BEFORE = timedelta(days=30)
PORTAL_ROLES = ROLES - STAFF_ROLES


def membership_id_for(practice_id: UUID, email: str) -> UUID:
    """One membership per e-mail address and practice: a second invitation is a conflict."""
    return uuid5(MEMBERSHIP_NAMESPACE, f"{practice_id}/{normalise_email(email)}")


def training_expires_on(completed_on: date) -> date:
    return completed_on + TRAINING_VALID_FOR


class Membership(Aggregate):
    TOPIC = "careledger/membership"

    class Created(Aggregate.Created):
        TOPIC = "careledger/membership/created"

    class Invited(Created, Audited):
        TOPIC = "careledger/membership/invited"
        practice_id: UUID
        email: str
        full_name: str
        role: str
        license_type: str | None
        client_ids: list[UUID]
        overrides: dict[str, bool]
        token_hash: str
        expires_at: datetime

    class InvitationReissued(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/invitation-reissued"
        token_hash: str
        expires_at: datetime

    class Accepted(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/accepted"
        user_id: UUID

    class RoleChanged(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/role-changed"
        role: str
        previous_role: str

    class PermissionsChanged(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/permissions-changed"
        overrides: dict[str, bool]

    class SupervisorAssigned(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/supervisor-assigned"
        supervisor_id: UUID | None

    class LicenseChanged(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/license-changed"
        license_type: str | None

    class ClientsLinked(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/clients-linked"
        client_ids: list[UUID]

    class Deactivated(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/deactivated"
        reason_code: str

    class Reactivated(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/reactivated"

    class HipaaTrainingRecorded(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/hipaa-training-recorded"
        completed_on: date

    class HipaaTrainingReminderIssued(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/hipaa-training-reminder-issued"
        expires_on: date

    class HipaaTrainingLapsed(Aggregate.Event, Audited):
        TOPIC = "careledger/membership/hipaa-training-lapsed"
        expired_on: date

    @classmethod
    def create_id(cls, practice_id: UUID, email: str, **_: Any) -> UUID:
        return membership_id_for(practice_id, email)

    @classmethod
    def invite(
        cls,
        practice_id: UUID,
        email: str,
        full_name: str,
        role: str,
        token_hash: str,
        expires_at: datetime,
        license_type: str | None = None,
        client_ids: list[UUID] | None = None,
        overrides: dict[str, bool] | None = None,
    ) -> Membership:
        check_role(role)
        if not full_name.strip():
            raise InvalidCommand("A member needs a name.", field="full_name")
        effective_permissions(role, overrides)
        cls._check_clients(role, client_ids or [])
        cls._check_license(role, license_type)
        return cls(
            practice_id=practice_id,
            email=normalise_email(email),
            full_name=full_name.strip(),
            role=role,
            license_type=license_type,
            client_ids=list(client_ids or []),
            overrides=dict(overrides or {}),
            token_hash=token_hash,
            expires_at=expires_at,
        )

    @staticmethod
    def _check_clients(role: str, client_ids: list[UUID]) -> None:
        if role in PORTAL_ROLES and not client_ids:
            raise InvalidCommand(f"A {role} membership names the client records it may see.", field="client_ids")
        if role not in PORTAL_ROLES and client_ids:
            raise InvalidCommand("Only client and family-member memberships link client records.", field="client_ids")

    @staticmethod
    def _check_license(role: str, license_type: str | None) -> None:
        if license_type is None:
            return
        if role in PORTAL_ROLES:
            raise InvalidCommand("Only staff have licenses.", field="license_type")
        check_license_type(license_type)

    @event(Invited)
    def __init__(
        self,
        practice_id: UUID,
        email: str,
        full_name: str,
        role: str,
        license_type: str | None,
        client_ids: list[UUID],
        overrides: dict[str, bool],
        token_hash: str,
        expires_at: datetime,
    ) -> None:
        self.practice_id = practice_id
        self.email = email
        self.full_name = full_name
        self.role = role
        self.license_type = license_type
        self.client_ids = list(client_ids)
        self.overrides = dict(overrides)
        self.invitation: tuple[str, datetime] | None = (token_hash, expires_at)
        self.user_id: UUID | None = None
        self.active = True
        self.supervisor_id: UUID | None = None
        self.hipaa_training_on: date | None = None
        self.reminded_for: date | None = None
        self.lapsed_for: date | None = None

    @property
    def status(self) -> str:
        if not self.active:
            return "deactivated"
        return "active" if self.user_id else "invited"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(effective_permissions(self.role, self.overrides))

    # --- invitation ---------------------------------------------------------------------------

    def invitation_valid(self, token_hash: str, at: datetime) -> bool:
        return self.invitation is not None and self.invitation[0] == token_hash and at < self.invitation[1]

    def reissue_invitation(self, token_hash: str, expires_at: datetime) -> None:
        if self.user_id is not None:
            raise IllegalTransition("This invitation was accepted already.")
        self._require_active()
        self._reissued(token_hash=token_hash, expires_at=expires_at)

    @event(InvitationReissued)
    def _reissued(self, token_hash: str, expires_at: datetime) -> None:
        self.invitation = (token_hash, expires_at)

    def accept(self, user_id: UUID) -> None:
        if self.user_id is not None:
            raise IllegalTransition("This invitation was accepted already.")
        self._require_active()
        self._accepted(user_id=user_id)

    @event(Accepted)
    def _accepted(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.invitation = None

    # --- role, permissions, scope ------------------------------------------------------------

    def _require_active(self) -> None:
        if not self.active:
            raise IllegalTransition("This membership is deactivated.")

    def change_role(self, role: str) -> None:
        check_role(role)
        self._require_active()
        if role == self.role:
            return
        if (role in PORTAL_ROLES) != (self.role in PORTAL_ROLES):
            raise InvalidCommand("Staff and client-portal roles cannot be swapped; invite anew.", field="role")
        effective_permissions(role, self.overrides)
        self._role_changed(role=role, previous_role=self.role)

    @event(RoleChanged)
    def _role_changed(self, role: str, previous_role: str) -> None:
        self.role = role

    def override_permissions(self, overrides: dict[str, bool]) -> None:
        self._require_active()
        effective_permissions(self.role, overrides)
        if overrides != self.overrides:
            self._permissions_changed(overrides=dict(overrides))

    @event(PermissionsChanged)
    def _permissions_changed(self, overrides: dict[str, bool]) -> None:
        self.overrides = overrides

    def assign_supervisor(self, supervisor: Membership | None) -> None:
        self._require_active()
        if not self.is_staff:
            raise InvalidCommand("Only staff have supervisors.", field="supervisor_id")
        if supervisor is not None:
            if supervisor.id == self.id:
                raise InvalidCommand("Nobody supervises themself.", field="supervisor_id")
            if supervisor.practice_id != self.practice_id or not supervisor.active:
                raise InvalidCommand("The supervisor must be an active member of this practice.",
                                     field="supervisor_id")
            if supervisor.role not in {"supervisor", "admin", "owner"}:
                raise InvalidCommand("A supervisor needs the supervisor, admin or owner role.", field="supervisor_id")
        new = supervisor.id if supervisor else None
        if new != self.supervisor_id:
            self._supervisor_assigned(supervisor_id=new)

    @event(SupervisorAssigned)
    def _supervisor_assigned(self, supervisor_id: UUID | None) -> None:
        self.supervisor_id = supervisor_id

    def change_license(self, license_type: str | None) -> None:
        self._require_active()
        self._check_license(self.role, license_type)
        if license_type != self.license_type:
            self._license_changed(license_type=license_type)

    @event(LicenseChanged)
    def _license_changed(self, license_type: str | None) -> None:
        self.license_type = license_type

    def link_clients(self, client_ids: list[UUID]) -> None:
        self._require_active()
        self._check_clients(self.role, client_ids)
        if sorted(client_ids) != sorted(self.client_ids):
            self._clients_linked(client_ids=list(client_ids))

    @event(ClientsLinked)
    def _clients_linked(self, client_ids: list[UUID]) -> None:
        self.client_ids = client_ids

    def deactivate(self, reason_code: str) -> None:
        self._require_active()
        if not reason_code.strip():
            raise InvalidCommand("Say why the membership ends.", field="reason_code")
        self._deactivated(reason_code=reason_code)

    @event(Deactivated)
    def _deactivated(self, reason_code: str) -> None:
        self.active = False

    def reactivate(self) -> None:
        if self.active:
            raise IllegalTransition("This membership is active.")
        self._reactivated()

    @event(Reactivated)
    def _reactivated(self) -> None:
        self.active = True

    # --- HIPAA training (Georgia rule 7) ------------------------------------------------------

    def record_hipaa_training(self, completed_on: date, today: date) -> None:
        if completed_on > today:
            raise InvalidCommand("A training completion cannot be in the future.", field="completed_on")
        if self.hipaa_training_on is not None and completed_on < self.hipaa_training_on:
            raise InvalidCommand("A later completion is on record already.", field="completed_on")
        self._training_recorded(completed_on=completed_on)

    @event(HipaaTrainingRecorded)
    def _training_recorded(self, completed_on: date) -> None:
        self.hipaa_training_on = completed_on

    @property
    def hipaa_training_expires_on(self) -> date | None:
        return training_expires_on(self.hipaa_training_on) if self.hipaa_training_on else None

    def hipaa_suspended(self, today: date) -> bool:
        """Staff without a current (under a year old) HIPAA training may not work with PHI."""
        if not self.is_staff:
            return False
        expires = self.hipaa_training_expires_on
        return expires is None or today >= expires

    def sweep_hipaa_training(self, today: date) -> str | None:
        """Issues the 30-day reminder and the lapse, each once per training cycle."""
        expires = self.hipaa_training_expires_on
        if not self.active or not self.is_staff or expires is None:
            return None
        if today >= expires and self.lapsed_for != expires:
            self._training_lapsed(expired_on=expires)
            return "lapsed"
        if expires - TRAINING_REMINDER_BEFORE <= today < expires and self.reminded_for != expires:
            self._training_reminded(expires_on=expires)
            return "reminded"
        return None

    @event(HipaaTrainingReminderIssued)
    def _training_reminded(self, expires_on: date) -> None:
        self.reminded_for = expires_on

    @event(HipaaTrainingLapsed)
    def _training_lapsed(self, expired_on: date) -> None:
        self.lapsed_for = expired_on
