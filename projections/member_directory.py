"""Who belongs to the practice, in which role, supervised by whom, trained when."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.identity.membership import Membership
from domain.identity.permissions import STAFF_ROLES
from projections.base import View


@dataclass(frozen=True)
class MemberRow:
    member_id: UUID
    user_id: UUID | None
    email: str
    full_name: str
    role: str
    license_type: str | None
    status: str
    supervisor_id: UUID | None
    client_ids: list[UUID]
    hipaa_training_on: date | None


class MemberDirectoryView(View):
    tables = ("member_directory",)

    def list(
        self,
        practice_id: UUID,
        role: str | None = None,
        active_only: bool = True,
        staff_only: bool = False,
    ) -> builtins.list[MemberRow]:
        sql = "SELECT * FROM member_directory WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        if role:
            sql += " AND role = %s"
            params.append(role)
        if active_only:
            sql += " AND status <> 'deactivated'"
        if staff_only:
            sql += " AND role = ANY(%s)"
            params.append(sorted(STAFF_ROLES))
        return [self._row(r) for r in self.query(sql + " ORDER BY full_name, member_id", params)]

    def supervisees(self, supervisor_id: UUID) -> builtins.list[UUID]:
        rows = self.query(
            "SELECT member_id FROM member_directory WHERE supervisor_id = %s AND status <> 'deactivated'",
            (supervisor_id,),
        )
        return [r["member_id"] for r in rows]

    def clinician_ids(self, practice_id: UUID) -> builtins.list[UUID]:
        """Active members who see clients in sessions (clinicians and supervisors)."""
        rows = self.query(
            "SELECT member_id FROM member_directory WHERE practice_id = %s AND status <> 'deactivated' "
            "AND role IN ('clinician', 'supervisor') ORDER BY full_name, member_id",
            (practice_id,),
        )
        return [r["member_id"] for r in rows]

    def staff_ids(self) -> builtins.list[UUID]:
        rows = self.query(
            "SELECT member_id FROM member_directory WHERE status = 'active' AND role = ANY(%s) ORDER BY member_id",
            (sorted(STAFF_ROLES),),
        )
        return [r["member_id"] for r in rows]

    @staticmethod
    def _row(r: dict[str, Any]) -> MemberRow:
        return MemberRow(
            r["member_id"], r["user_id"], r["email"], r["full_name"], r["role"], r["license_type"], r["status"],
            r["supervisor_id"], list(r["client_ids"]), r["hipaa_training_on"],
        )


class MemberDirectory(Projection[MemberDirectoryView]):
    name = "members"
    topics = (
        Membership.Invited.TOPIC,
        Membership.Accepted.TOPIC,
        Membership.RoleChanged.TOPIC,
        Membership.SupervisorAssigned.TOPIC,
        Membership.LicenseChanged.TOPIC,
        Membership.ClientsLinked.TOPIC,
        Membership.Deactivated.TOPIC,
        Membership.Reactivated.TOPIC,
        Membership.HipaaTrainingRecorded.TOPIC,
    )

    def _set(self, member_id: UUID, sql: str, *params: Any) -> None:
        self.view.curs.execute(f"UPDATE member_directory SET {sql} WHERE member_id = %s", (*params, member_id))

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: Membership.Invited, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO member_directory (member_id, practice_id, email, full_name, role, license_type, status, "
            "client_ids, invited_at) VALUES (%s, %s, %s, %s, %s, %s, 'invited', %s, %s)",
            (e.originator_id, e.practice_id, e.email, e.full_name, e.role, e.license_type, list(e.client_ids),
             e.timestamp),
        )

    @process_event.register
    def _(self, e: Membership.Accepted, tracking: Tracking) -> None:
        self._set(e.originator_id, "user_id = %s, status = 'active'", e.user_id)

    @process_event.register
    def _(self, e: Membership.RoleChanged, tracking: Tracking) -> None:
        self._set(e.originator_id, "role = %s", e.role)

    @process_event.register
    def _(self, e: Membership.SupervisorAssigned, tracking: Tracking) -> None:
        self._set(e.originator_id, "supervisor_id = %s", e.supervisor_id)

    @process_event.register
    def _(self, e: Membership.LicenseChanged, tracking: Tracking) -> None:
        self._set(e.originator_id, "license_type = %s", e.license_type)

    @process_event.register
    def _(self, e: Membership.ClientsLinked, tracking: Tracking) -> None:
        self._set(e.originator_id, "client_ids = %s", list(e.client_ids))

    @process_event.register
    def _(self, e: Membership.Deactivated, tracking: Tracking) -> None:
        self._set(e.originator_id, "status = 'deactivated'")

    @process_event.register
    def _(self, e: Membership.Reactivated, tracking: Tracking) -> None:
        self._set(e.originator_id, "status = CASE WHEN user_id IS NULL THEN 'invited' ELSE 'active' END")

    @process_event.register
    def _(self, e: Membership.HipaaTrainingRecorded, tracking: Tracking) -> None:
        self._set(e.originator_id, "hipaa_training_on = %s", e.completed_on)
