"""Client commands and the chart reads that are recorded as PHI access."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from application import access, audit
from application.errors import Conflict, Forbidden, NotFound
from application.ports import Clock
from application.store import EventStore, Saved
from domain.access.access_alert import AccessAlert
from domain.access.phi_access import BREAK_GLASS, PURPOSES, PhiAccess
from domain.clients.client import Client
from domain.errors import InvalidCommand
from domain.identity.membership import Membership
from domain.identity.permissions import Permission, Scope
from domain.practices.practice import Practice
from domain.scheduling.consents import ConsentRecord


class BaaRequired(Conflict):
    code = "baa_required"


@dataclass(frozen=True)
class Read:
    """Where a PHI read came from, for the accounting of disclosures."""

    endpoint: str
    purpose: str = "treatment"


class ClientService:
    def __init__(self, store: EventStore, clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock

    def _load(self, practice_id: UUID, client_id: UUID) -> Client:
        client: Client = self.store.load(client_id, Client)
        if client.practice_id != practice_id:
            raise NotFound(f"No client {client_id}.")
        return client

    def _load_in_scope(self, practice_id: UUID, client_id: UUID) -> Client:
        client = self._load(practice_id, client_id)
        grant = access.current()
        if grant is not None and not grant.sees(client.id, client.care_team):
            raise access.OutsideCaseload(
                "This client is outside your caseload."
                + (" To open the chart in an emergency, state a break-the-glass reason." if grant.may_break_glass
                   else "")
            )
        return client

    def register(
        self,
        practice_id: UUID,
        care_level: str,
        demographics: dict[str, Any],
        client_id: UUID | None = None,
    ) -> Saved:
        practice: Practice = self.store.load(practice_id, Practice)
        if practice.baa is None:
            raise BaaRequired(
                "The practice has no signed business associate agreement yet; an admin must record it "
                "(POST /api/v1/practice/baa) before client records can be created."
            )
        client = Client.register(practice_id, care_level, client_id=client_id, **demographics)
        grant = access.current()
        if grant is not None and grant.scope in {Scope.CASELOAD, Scope.SUPERVISEES}:
            client.assign(grant.member_id, "clinician" if grant.role in {"clinician", "supervisor"} else "other")
        return self.store.save_one(client)

    def exists(self, client_id: UUID) -> bool:
        return self.store.exists(client_id)

    def update_demographics(
        self, practice_id: UUID, client_id: UUID, changes: dict[str, Any]
    ) -> Saved:
        client = self._load_in_scope(practice_id, client_id)
        client.update_demographics(changes)
        return self.store.save_one(client)

    def change_status(
        self, practice_id: UUID, client_id: UUID, status: str, reason_code: str, note: str | None
    ) -> Saved:
        client = self._load_in_scope(practice_id, client_id)
        client.change_status(status, reason_code, note)
        with audit.because(reason_code):
            return self.store.save_one(client)

    def change_care_level(self, practice_id: UUID, client_id: UUID, care_level: str) -> Saved:
        client = self._load_in_scope(practice_id, client_id)
        client.change_care_level(care_level)
        return self.store.save_one(client)

    def assign(self, practice_id: UUID, client_id: UUID, staff_id: UUID, team_role: str) -> Saved:
        client = self._load_in_scope(practice_id, client_id)
        try:
            member: Membership = self.store.load(staff_id, Membership)
        except NotFound:
            raise NotFound(f"No staff member {staff_id}.") from None
        if member.practice_id != practice_id or not member.is_staff:
            raise NotFound(f"No staff member {staff_id}.")
        if not member.active:
            raise InvalidCommand("A deactivated staff member cannot join a care team.")
        client.assign(staff_id, team_role)
        return self.store.save_one(client)

    def unassign(self, practice_id: UUID, client_id: UUID, staff_id: UUID) -> Saved:
        client = self._load_in_scope(practice_id, client_id)
        client.unassign(staff_id)
        return self.store.save_one(client)

    def record_consent(self, practice_id: UUID, client_id: UUID, record: ConsentRecord) -> Saved:
        client = self._load_in_scope(practice_id, client_id)
        saved_id = uuid4()
        client.record_consent(saved_id, record)
        saved = self.store.save_one(client)
        return Saved(saved_id, saved.version, saved.position)

    def withdraw_consent(self, practice_id: UUID, client_id: UUID, consent_id: UUID, reason_code: str) -> Saved:
        client = self._load_in_scope(practice_id, client_id)
        client.withdraw_consent(consent_id, reason_code)
        with audit.because(reason_code):
            return self.store.save_one(client)

    def consents(self, practice_id: UUID, client_id: UUID, read: Read) -> dict[UUID, ConsentRecord]:
        """The consents on file, recorded as a PHI read (they name who signed)."""
        client = self._load_in_scope(practice_id, client_id)
        self.record_reads(practice_id, [client_id], read)
        return dict(client.consents)

    def set_contact_preferences(
        self, practice_id: UUID, client_id: UUID, channel: str, sms_opt_in: bool, email_opt_in: bool
    ) -> Client:
        client = self._load_in_scope(practice_id, client_id)
        client.set_contact_preferences(channel, sms_opt_in, email_opt_in)
        self.store.save(client)
        return client

    def set_risk_flag(self, practice_id: UUID, client_id: UUID, flag: str, reason: str) -> Saved:
        client = self._load_in_scope(practice_id, client_id)
        client.set_risk_flag(flag, reason, at=self._now(), by=self._acting_member(practice_id))
        return self.store.save_one(client)

    def clear_risk_flag(self, practice_id: UUID, client_id: UUID, flag: str, reason: str) -> Saved:
        client = self._load_in_scope(practice_id, client_id)
        client.clear_risk_flag(flag, reason, at=self._now(), by=self._acting_member(practice_id))
        return self.store.save_one(client)

    def risk_flags(self, practice_id: UUID, client_id: UUID, read: Read) -> dict[str, datetime]:
        """The client's current risk flags and when each was set, recorded as a PHI read."""
        client = self._load_in_scope(practice_id, client_id)
        self.record_reads(practice_id, [client_id], read)
        return dict(client.risk_flags)

    def _now(self) -> datetime:
        if self.clock is None:
            raise RuntimeError("ClientService was built without a clock.")
        return self.clock.now()

    @staticmethod
    def _acting_member(practice_id: UUID) -> UUID:
        grant = access.current()
        return grant.member_id if grant is not None else practice_id

    def erase(self, practice_id: UUID, client_id: UUID, reason_code: str) -> Saved:
        """Crypto-shred: record why, then destroy the client's data key in the same transaction."""
        grant = access.current()
        if grant is not None and not grant.can(Permission.ERASE_PHI):
            raise Forbidden("Only a practice admin can erase a client's personal data.")
        client = self._load(practice_id, client_id)
        client.erase(reason_code)
        with audit.because(reason_code):
            saved = self.store.save_one(client, shred_subjects=[client_id])
        self.store.cipher.forget(client_id)
        return saved

    def chart(
        self,
        practice_id: UUID,
        client_id: UUID,
        read: Read,
        as_of: datetime | None = None,
        break_glass_reason: str | None = None,
    ) -> Client:
        """The chart, recorded as a PHI read. Outside the caller's caseload only with a stated
        break-the-glass reason: then the read is a break-the-glass disclosure and the practice
        admin gets an alert."""
        grant = access.current()
        client = self._load(practice_id, client_id)
        broke_glass = False
        if grant is not None and not grant.sees(client.id, client.care_team):
            reason = (break_glass_reason or "").strip()
            if not grant.may_break_glass or not reason:
                self._load_in_scope(practice_id, client_id)  # raises the explanatory refusal
            if len(reason) < 10:
                raise InvalidCommand("A break-the-glass reason needs a sentence (10+ characters).",
                                     field="break_glass_reason")
            broke_glass = True
        if as_of is not None:
            client = self.store.load_as_of(client_id, as_of)
            if client is None:
                raise NotFound(f"Client {client_id} did not exist at {as_of.isoformat()}.")
        if broke_glass and grant is not None:
            self._break_glass(practice_id, client_id, read, grant, (break_glass_reason or "").strip())
        else:
            self.record_reads(practice_id, [client_id], read)
        return client

    def _break_glass(self, practice_id: UUID, client_id: UUID, read: Read, grant: access.Grant, reason: str) -> None:
        disclosure = PhiAccess(
            client_id=client_id, practice_id=practice_id, endpoint=read.endpoint, purpose=BREAK_GLASS,
            fields=["demographics"], reason=reason,
        )
        alert = AccessAlert(
            practice_id=practice_id, client_id=client_id, accessed_by=grant.member_id, accessor_role=grant.role,
            kind=BREAK_GLASS, access_id=disclosure.id,
        )
        with audit.because(BREAK_GLASS):
            self.store.save(disclosure, alert)

    def record_reads(self, practice_id: UUID, client_ids: list[UUID], read: Read) -> None:
        if not client_ids:
            return
        if read.purpose not in PURPOSES:
            raise InvalidCommand(
                f"Unknown purpose {read.purpose!r}.", field="purpose", allowed=sorted(PURPOSES)
            )
        fields = ["demographics"]
        self.store.save(
            *[
                PhiAccess(
                    client_id=client_id,
                    practice_id=practice_id,
                    endpoint=read.endpoint,
                    purpose=read.purpose,
                    fields=fields,
                )
                for client_id in client_ids
            ]
        )

    def acknowledge_alert(self, practice_id: UUID, alert_id: UUID, note: str | None) -> Saved:
        alert: AccessAlert = self.store.load(alert_id, AccessAlert)
        if alert.practice_id != practice_id:
            raise NotFound(f"No access alert {alert_id}.")
        grant = access.current()
        by = grant.member_id if grant is not None else practice_id
        alert.acknowledge(by, note)
        return self.store.save_one(alert)
