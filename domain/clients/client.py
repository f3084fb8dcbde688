"""The Client aggregate: a person receiving care (seed 001 Client model, seed 000 care fields)."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.clients.fields import DEMOGRAPHIC_FIELDS, check_demographics
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from domain.events import Audited

STATUSES = ("active", "inactive", "discharged")
CARE_LEVELS = ("basic", "intermediate", "intensive")


class ClientEvent(Aggregate.Event, Audited):
    subject_field: ClassVar[str | None] = "originator_id"


class Client(Aggregate):
    TOPIC = "careledger/client"

    class Created(Aggregate.Created):
        TOPIC = "careledger/client/created"

    class Registered(Created, ClientEvent):
        TOPIC = "careledger/client/registered"
        class_version = 2
        phi_fields = DEMOGRAPHIC_FIELDS
        practice_id: UUID
        first_name: str
        last_name: str
        date_of_birth: date
        gender: str | None
        email: str | None
        phone: str | None
        address: dict[str, str] | None
        emergency_contact: dict[str, str] | None
        insurance_primary: dict[str, str] | None
        insurance_secondary: dict[str, str] | None
        referring_provider: str | None
        care_level: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 stored a single `name`; v2 splits it and adds the care level (seed 000)."""
            first, _, last = str(state.pop("name", "")).partition(" ")
            state.setdefault("first_name", first)
            state.setdefault("last_name", last)
            state.setdefault("care_level", "basic")

    class DemographicsUpdated(ClientEvent):
        TOPIC = "careledger/client/demographics-updated"
        phi_fields = ("changes",)
        changes: dict[str, Any]

    class StatusChanged(ClientEvent):
        TOPIC = "careledger/client/status-changed"
        phi_fields = ("note",)
        status: str
        reason_code: str
        note: str | None

    class CareLevelChanged(ClientEvent):
        TOPIC = "careledger/client/care-level-changed"
        care_level: str

    class CareTeamMemberAssigned(ClientEvent):
        TOPIC = "careledger/client/care-team-assigned"
        staff_id: UUID
        team_role: str

    class CareTeamMemberUnassigned(ClientEvent):
        TOPIC = "careledger/client/care-team-unassigned"
        staff_id: UUID

    class Erased(ClientEvent):
        """The client's data key was destroyed (crypto-shredding); the history stays."""

        TOPIC = "careledger/client/erased"
        reason_code: str


    @classmethod
    def register(
        cls, practice_id: UUID, care_level: str, client_id: UUID | None = None, **demographics: Any
    ) -> Client:
        check_demographics(demographics, partial=False)
        if care_level not in CARE_LEVELS:
            raise InvalidCommand(f"Unknown care level {care_level!r}.", field="care_level")
        fields: dict[str, Any] = {name: demographics.get(name) for name in DEMOGRAPHIC_FIELDS}
        if client_id is not None:
            return cls._create(
                cls.Registered, id=client_id, practice_id=practice_id, care_level=care_level, **fields
            )
        return cls(practice_id=practice_id, care_level=care_level, **fields)

    @event(Registered)
    def __init__(
        self,
        practice_id: UUID,
        care_level: str,
        first_name: str,
        last_name: str,
        date_of_birth: date,
        gender: str | None,
        email: str | None,
        phone: str | None,
        address: dict[str, str] | None,
        emergency_contact: dict[str, str] | None,
        insurance_primary: dict[str, str] | None,
        insurance_secondary: dict[str, str] | None,
        referring_provider: str | None,
    ) -> None:
        self.practice_id = practice_id
        self.demographics: dict[str, Any] = {
            "first_name": first_name,
            "last_name": last_name,
            "date_of_birth": date_of_birth,
            "gender": gender,
            "email": email,
            "phone": phone,
            "address": address,
            "emergency_contact": emergency_contact,
            "insurance_primary": insurance_primary,
            "insurance_secondary": insurance_secondary,
            "referring_provider": referring_provider,
        }
        self.care_level = care_level
        self.status = "active"
        self.status_reason: str | None = None
        self.care_team: dict[UUID, str] = {}
        self.erased = False

    def update_demographics(self, changes: dict[str, Any]) -> None:
        self._ensure_not_erased()
        if not changes:
            raise InvalidCommand("Nothing to change.")
        check_demographics(changes, partial=True)
        real = {k: v for k, v in changes.items() if self.demographics.get(k) != v}
        if real:
            self._demographics_updated(changes=real)

    @event(DemographicsUpdated)
    def _demographics_updated(self, changes: dict[str, Any]) -> None:
        self.demographics.update(changes)

    def change_status(self, status: str, reason_code: str, note: str | None = None) -> None:
        if status not in STATUSES:
            raise InvalidCommand(f"Unknown status {status!r}.", field="status", allowed=list(STATUSES))
        if status == self.status:
            raise IllegalTransition(f"The client is already {status}.")
        if status != "active" and not reason_code.strip():
            raise ReasonRequired(f"Changing a client to {status} needs a reason.", field="reason_code")
        self._status_changed(status=status, reason_code=reason_code, note=note)

    @event(StatusChanged)
    def _status_changed(self, status: str, reason_code: str, note: str | None) -> None:
        self.status = status
        self.status_reason = reason_code

    def change_care_level(self, care_level: str) -> None:
        if care_level not in CARE_LEVELS:
            raise InvalidCommand(f"Unknown care level {care_level!r}.", field="care_level")
        if care_level != self.care_level:
            self._care_level_changed(care_level=care_level)

    @event(CareLevelChanged)
    def _care_level_changed(self, care_level: str) -> None:
        self.care_level = care_level

    def assign(self, staff_id: UUID, team_role: str) -> None:
        if self.status == "discharged":
            raise IllegalTransition("A discharged client has no care team to join.")
        if self.care_team.get(staff_id) == team_role:
            raise IllegalTransition("This staff member is already on the care team in that role.")
        self._assigned(staff_id=staff_id, team_role=team_role)

    @event(CareTeamMemberAssigned)
    def _assigned(self, staff_id: UUID, team_role: str) -> None:
        self.care_team[staff_id] = team_role

    def unassign(self, staff_id: UUID) -> None:
        if staff_id not in self.care_team:
            raise IllegalTransition("This staff member is not on the care team.")
        self._unassigned(staff_id=staff_id)

    @event(CareTeamMemberUnassigned)
    def _unassigned(self, staff_id: UUID) -> None:
        del self.care_team[staff_id]

    def erase(self, reason_code: str) -> None:
        self._ensure_not_erased()
        if not reason_code.strip():
            raise ReasonRequired("Erasing a client's data needs a reason.", field="reason_code")
        self._erased(reason_code=reason_code)

    @event(Erased)
    def _erased(self, reason_code: str) -> None:
        self.erased = True

    def _ensure_not_erased(self) -> None:
        if self.erased:
            raise IllegalTransition("This client's personal data has been erased.")
