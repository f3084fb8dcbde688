from __future__ import annotations

from typing import Any
from uuid import UUID
from zoneinfo import available_timezones

from application.errors import Conflict
from application.store import EventStore, Saved
from domain.practices.practice import Practice, practice_id_for
from domain.staff.staff_member import StaffMember

_ZONES = frozenset(available_timezones())


class PracticeService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def register(
        self, name: str, slug: str, time_zone: str, settings: dict[str, Any] | None = None
    ) -> Saved:
        Practice.check(name, slug, time_zone, _ZONES)
        if self.exists(slug):
            raise Conflict(f"A practice with slug {slug!r} exists already.", field="slug")
        return self.store.save_one(
            Practice(name=name, slug=slug, time_zone=time_zone, settings=settings or {})
        )

    def exists(self, slug: str) -> bool:
        return self.store.exists(practice_id_for(slug))

    def get(self, practice_id: UUID) -> Practice:
        practice: Practice = self.store.load(practice_id, Practice)
        return practice

    def register_staff(
        self,
        practice_id: UUID,
        full_name: str,
        email: str,
        role: str,
        license_type: str | None = None,
        staff_id: UUID | None = None,
    ) -> Saved:
        self.get(practice_id)
        return self.store.save_one(
            StaffMember.register(practice_id, full_name, email, role, license_type, staff_id)
        )

    def get_staff(self, practice_id: UUID, staff_id: UUID) -> StaffMember:
        staff: StaffMember = self.store.load(staff_id, StaffMember)
        if staff.practice_id != practice_id:
            from application.errors import NotFound

            raise NotFound(f"No staff member {staff_id}.")
        return staff
