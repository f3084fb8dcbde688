from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import available_timezones

from application.errors import Conflict
from application.ports import Clock
from application.store import EventStore, Saved
from domain.errors import InvalidCommand
from domain.practices.practice import Practice, practice_id_for
from domain.practices.scheduling_policy import SETTINGS as SCHEDULING_SETTINGS
from domain.practices.scheduling_policy import check_settings
from domain.scheduling.appointment_types import AppointmentType

_ZONES = frozenset(available_timezones())
SETTINGS = frozenset({"require_staff_mfa", *SCHEDULING_SETTINGS})


class PracticeService:
    def __init__(self, store: EventStore, clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock

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

    def sign_baa(
        self, practice_id: UUID, signed_by: str, signer_title: str | None, version: str, signed_on: date
    ) -> Saved:
        practice = self.get(practice_id)
        practice.sign_baa(signed_by, signer_title, version, signed_on)
        return self.store.save_one(practice)

    def change_settings(self, practice_id: UUID, settings: dict[str, Any]) -> Saved:
        unknown = set(settings) - SETTINGS
        if unknown:
            raise InvalidCommand(f"Unknown settings: {', '.join(sorted(unknown))}.", field="settings",
                                 allowed=sorted(SETTINGS))
        check_settings(settings)
        practice = self.get(practice_id)
        practice.change_settings(settings)
        return self.store.save_one(practice)

    def save_appointment_type(self, practice_id: UUID, kind: AppointmentType) -> Saved:
        practice = self.get(practice_id)
        practice.save_appointment_type(kind)
        return self.store.save_one(practice)

    def retire_appointment_type(self, practice_id: UUID, code: str) -> Saved:
        practice = self.get(practice_id)
        practice.retire_appointment_type(code)
        return self.store.save_one(practice)

    def set_supervision_requirement(self, practice_id: UUID, license_type: str, monthly_hours: Decimal) -> Saved:
        if self.clock is None:
            raise RuntimeError("PracticeService was built without a clock.")
        practice = self.get(practice_id)
        practice.set_supervision_requirement(license_type, monthly_hours, self.clock.now())
        return self.store.save_one(practice)
