"""The Client aggregate: a person receiving care (seed 001 Client model, seed 000 care fields)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.clients.fields import DEMOGRAPHIC_FIELDS, check_demographics
from domain.errors import IllegalTransition, InvalidCommand, ReasonRequired
from domain.events import Audited
from domain.scheduling.consents import ConsentRecord

STATUSES = ("active", "inactive", "discharged")
CHANNELS = ("sms", "email", "none")
CARE_LEVELS = ("basic", "intermediate", "intensive")
RISK_FLAGS = ("suicidal_ideation", "self_harm", "homicidal_ideation")
RISK_REASON_MAX = 2000


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

    class ConsentRecorded(ClientEvent):
        """A signed consent on file (seed 001 Georgia rules 3, 5, 6): who signed is PHI."""

        TOPIC = "careledger/client/consent-recorded"
        phi_fields = ("signed_by", "guardian_name")
        consent_id: UUID
        type: str
        signed_at: datetime
        expires_at: datetime | None
        signed_by: str
        guardian_name: str | None

    class ConsentWithdrawn(ClientEvent):
        TOPIC = "careledger/client/consent-withdrawn"
        consent_id: UUID
        reason_code: str

    class ContactPreferencesSet(ClientEvent):
        """How reminders reach the client: preferred channel and the opt-ins for each."""

        TOPIC = "careledger/client/contact-preferences-set"
        channel: str
        sms_opt_in: bool
        email_opt_in: bool

    class SmsOptOutChanged(ClientEvent):
        """The client texted a carrier keyword (STOP, START, ...): honoured before anything else."""

        TOPIC = "careledger/client/sms-opt-out-changed"
        opted_out: bool
        keyword: str

    class RiskFlagSet(ClientEvent):
        """A clinician marked a safety risk (seed 001 Module 7): the reason is clinical content."""

        TOPIC = "careledger/client/risk-flag-set"
        phi_fields = ("reason",)
        flag: str
        reason: str
        at: datetime
        by: UUID

    class RiskFlagCleared(ClientEvent):
        TOPIC = "careledger/client/risk-flag-cleared"
        phi_fields = ("reason",)
        flag: str
        reason: str
        at: datetime
        by: UUID

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
        self.consents: dict[UUID, ConsentRecord] = {}
        self.contact_channel = "sms" if phone else ("email" if email else "none")
        self.sms_opt_in = bool(phone)
        self.email_opt_in = bool(email)
        self.sms_opted_out = False
        self.risk_flags: dict[str, datetime] = {}

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

    # --- consents and contact preferences -----------------------------------------------------

    def record_consent(self, consent_id: UUID, record: ConsentRecord) -> None:
        self._ensure_not_erased()
        if consent_id in self.consents:
            raise IllegalTransition("This consent is on file already.")
        self._consent_recorded(
            consent_id=consent_id, type=record.type, signed_at=record.signed_at, expires_at=record.expires_at,
            signed_by=record.signed_by, guardian_name=record.guardian_name,
        )

    @event(ConsentRecorded)
    def _consent_recorded(
        self, consent_id: UUID, type: str, signed_at: datetime, expires_at: datetime | None, signed_by: str,
        guardian_name: str | None,
    ) -> None:
        self.consents[consent_id] = ConsentRecord(type, signed_at, expires_at, signed_by, guardian_name)

    def withdraw_consent(self, consent_id: UUID, reason_code: str) -> None:
        if consent_id not in self.consents:
            raise IllegalTransition("There is no such consent on file.")
        if not reason_code.strip():
            raise ReasonRequired("Withdrawing a consent needs a reason.", field="reason_code")
        self._consent_withdrawn(consent_id=consent_id, reason_code=reason_code)

    @event(ConsentWithdrawn)
    def _consent_withdrawn(self, consent_id: UUID, reason_code: str) -> None:
        del self.consents[consent_id]

    def set_contact_preferences(self, channel: str, sms_opt_in: bool, email_opt_in: bool) -> None:
        self._ensure_not_erased()
        if channel not in CHANNELS:
            raise InvalidCommand(f"Unknown channel {channel!r}.", field="channel", allowed=list(CHANNELS))
        if channel == "sms" and not (sms_opt_in and self.demographics.get("phone")):
            raise InvalidCommand("SMS reminders need a phone number and the client's SMS opt-in.", field="channel")
        if channel == "email" and not (email_opt_in and self.demographics.get("email")):
            raise InvalidCommand("Email reminders need an address and the client's opt-in.", field="channel")
        current = (self.contact_channel, self.sms_opt_in, self.email_opt_in)
        if current != (channel, sms_opt_in, email_opt_in):
            self._preferences_set(channel=channel, sms_opt_in=sms_opt_in, email_opt_in=email_opt_in)

    @event(ContactPreferencesSet)
    def _preferences_set(self, channel: str, sms_opt_in: bool, email_opt_in: bool) -> None:
        self.contact_channel = channel
        self.sms_opt_in = sms_opt_in
        self.email_opt_in = email_opt_in

    def change_sms_opt_out(self, opted_out: bool, keyword: str) -> bool:
        """A carrier keyword from the client's phone; False when it changes nothing."""
        if opted_out == self.sms_opted_out:
            return False
        self._sms_opt_out_changed(opted_out=opted_out, keyword=keyword)
        return True

    @event(SmsOptOutChanged)
    def _sms_opt_out_changed(self, opted_out: bool, keyword: str) -> None:
        self.sms_opted_out = opted_out

    def reminder_channel(self) -> str | None:
        """Where a reminder goes now: the preferred channel if its opt-in holds and the address
        exists, else the other opted-in one; None when the client cannot be reached."""
        sms_ok = self.sms_opt_in and not self.sms_opted_out and bool(self.demographics.get("phone"))
        email_ok = self.email_opt_in and bool(self.demographics.get("email"))
        if self.erased or self.status == "discharged" or self.contact_channel == "none":
            return None
        if self.contact_channel == "sms" and sms_ok:
            return "sms"
        if self.contact_channel == "email" and email_ok:
            return "email"
        return "sms" if sms_ok else ("email" if email_ok else None)

    # --- risk flags -----------------------------------------------------------------------------

    @property
    def high_risk(self) -> bool:
        return bool(self.risk_flags)

    def set_risk_flag(self, flag: str, reason: str, at: datetime, by: UUID) -> None:
        self._ensure_not_erased()
        reason = self._check_risk(flag, reason)
        if flag in self.risk_flags:
            raise IllegalTransition(f"The {flag} flag is set already.")
        self._risk_flag_set(flag=flag, reason=reason, at=at, by=by)

    @event(RiskFlagSet)
    def _risk_flag_set(self, flag: str, reason: str, at: datetime, by: UUID) -> None:
        self.risk_flags[flag] = at

    def clear_risk_flag(self, flag: str, reason: str, at: datetime, by: UUID) -> None:
        self._ensure_not_erased()
        reason = self._check_risk(flag, reason)
        if flag not in self.risk_flags:
            raise IllegalTransition(f"The {flag} flag is not set.")
        self._risk_flag_cleared(flag=flag, reason=reason, at=at, by=by)

    @event(RiskFlagCleared)
    def _risk_flag_cleared(self, flag: str, reason: str, at: datetime, by: UUID) -> None:
        del self.risk_flags[flag]

    @staticmethod
    def _check_risk(flag: str, reason: str) -> str:
        if flag not in RISK_FLAGS:
            raise InvalidCommand(f"Unknown risk flag {flag!r}.", field="flag", allowed=list(RISK_FLAGS))
        if not isinstance(reason, str) or not reason.strip():
            raise ReasonRequired("Setting or clearing a risk flag needs a reason.", field="reason")
        if len(reason) > RISK_REASON_MAX:
            raise InvalidCommand(f"A reason is at most {RISK_REASON_MAX} characters.", field="reason")
        return reason.strip()

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
