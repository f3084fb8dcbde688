"""Practice staff directory: who works here, in which role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.staff.staff_member import StaffMember
from projections.base import View


@dataclass(frozen=True)
class StaffRow:
    staff_id: UUID
    full_name: str
    email: str
    role: str
    license_type: str | None
    active: bool


class StaffDirectoryView(View):
    tables = ("staff_directory",)

    def list(self, practice_id: UUID, role: str | None = None, active_only: bool = True) -> list[StaffRow]:
        sql = "SELECT * FROM staff_directory WHERE practice_id = %s"
        params: list[Any] = [practice_id]
        if role:
            sql += " AND role = %s"
            params.append(role)
        if active_only:
            sql += " AND active"
        rows = self.query(sql + " ORDER BY full_name, staff_id", params)
        return [
            StaffRow(r["staff_id"], r["full_name"], r["email"], r["role"], r["license_type"], r["active"])
            for r in rows
        ]


class StaffDirectory(Projection[StaffDirectoryView]):
    name = "staff"
    topics = (
        StaffMember.Registered.TOPIC,
        StaffMember.RoleChanged.TOPIC,
        StaffMember.Deactivated.TOPIC,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show still move its position (the runner records it)."""

    @process_event.register
    def _(self, e: StaffMember.Registered, tracking: Tracking) -> None:
        self.view.curs.execute(
            "INSERT INTO staff_directory (staff_id, practice_id, full_name, email, role, "
            "license_type, active, registered_at) VALUES (%s, %s, %s, %s, %s, %s, true, %s)",
            (e.originator_id, e.practice_id, e.full_name, e.email, e.role, e.license_type, e.timestamp),
        )

    @process_event.register
    def _(self, e: StaffMember.RoleChanged, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE staff_directory SET role = %s WHERE staff_id = %s", (e.role, e.originator_id)
        )

    @process_event.register
    def _(self, e: StaffMember.Deactivated, tracking: Tracking) -> None:
        self.view.curs.execute(
            "UPDATE staff_directory SET active = false WHERE staff_id = %s", (e.originator_id,)
        )
