from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited

STAFF_ROLES = frozenset(
    {"admin", "clinician", "supervisor", "billing", "front_desk", "care_team", "external_caregiver"}
)


class StaffMember(Aggregate):
    """A person working for a practice. Staff details are not client PHI."""

    TOPIC = "careledger/staff"

    class Created(Aggregate.Created):
        TOPIC = "careledger/staff/created"

    class Registered(Created, Audited):
        TOPIC = "careledger/staff/registered"
        practice_id: UUID
        full_name: str
        email: str
        role: str
        license_type: str | None

    class RoleChanged(Aggregate.Event, Audited):
        TOPIC = "careledger/staff/role-changed"
        role: str

    class Deactivated(Aggregate.Event, Audited):
        TOPIC = "careledger/staff/deactivated"
        reason_code: str

    @staticmethod
    def check_role(role: str) -> None:
        if role not in STAFF_ROLES:
            raise InvalidCommand(f"Unknown staff role {role!r}.", field="role", allowed=sorted(STAFF_ROLES))


    @classmethod
    def register(
        cls,
        practice_id: UUID,
        full_name: str,
        email: str,
        role: str,
        license_type: str | None = None,
        staff_id: UUID | None = None,
    ) -> StaffMember:
        cls.check_role(role)
        if not full_name.strip():
            raise InvalidCommand("A staff member needs a name.", field="full_name")
        if "@" not in email:
            raise InvalidCommand("A staff member needs an email address.", field="email")
        values: dict[str, Any] = {
            "practice_id": practice_id,
            "full_name": full_name.strip(),
            "email": email.strip().lower(),
            "role": role,
            "license_type": license_type,
        }
        if staff_id is not None:
            return cls._create(cls.Registered, id=staff_id, **values)
        return cls(**values)

    @event(Registered)
    def __init__(
        self, practice_id: UUID, full_name: str, email: str, role: str, license_type: str | None
    ) -> None:
        self.practice_id = practice_id
        self.full_name = full_name
        self.email = email
        self.role = role
        self.license_type = license_type
        self.active = True

    def change_role(self, role: str) -> None:
        self.check_role(role)
        if not self.active:
            raise IllegalTransition("A deactivated staff member cannot change role.")
        if role != self.role:
            self._role_changed(role=role)

    @event(RoleChanged)
    def _role_changed(self, role: str) -> None:
        self.role = role

    def deactivate(self, reason_code: str) -> None:
        if not self.active:
            raise IllegalTransition("This staff member is already deactivated.")
        self._deactivated(reason_code=reason_code)

    @event(Deactivated)
    def _deactivated(self, reason_code: str) -> None:
        self.active = False
