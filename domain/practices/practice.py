from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.clinical.note_types import NoteTemplate, TemplateNotFound
from domain.errors import IllegalTransition, InvalidCommand
from domain.events import Audited
from domain.identity import licenses
from domain.practices.scheduling_policy import SchedulingPolicy
from domain.scheduling.appointment_types import BUILT_IN_TYPES, AppointmentType

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
MAX_SUPERVISION_HOURS = Decimal(40)
HOURS_STEP = Decimal("0.25")
PRACTICE_NAMESPACE = UUID("8f0b5e8e-4d6c-4d1e-9a55-6b1f0c3c2a10")


def practice_id_for(slug: str) -> UUID:
    """A practice's id follows from its slug, so a slug can be registered only once."""
    return uuid5(PRACTICE_NAMESPACE, slug)


class Practice(Aggregate):
    """The tenant: every other aggregate belongs to exactly one practice."""

    TOPIC = "careledger/practice"

    class Created(Aggregate.Created):
        TOPIC = "careledger/practice/created"

    class Registered(Created, Audited):
        TOPIC = "careledger/practice/registered"
        name: str
        slug: str
        time_zone: str
        settings: dict[str, Any]

    class SettingsChanged(Aggregate.Event, Audited):
        TOPIC = "careledger/practice/settings-changed"
        settings: dict[str, Any]

    class BaaSigned(Aggregate.Event, Audited):
        """Seed 004: no client PHI before a business associate agreement is signed."""

        TOPIC = "careledger/practice/baa-signed"
        signed_by: str
        signer_title: str | None
        version: str
        signed_on: date

    class AppointmentTypeSaved(Aggregate.Event, Audited):
        """A practice-defined appointment type, or a practice's own settings for a built-in one."""

        TOPIC = "careledger/practice/appointment-type-saved"
        code: str
        name: str
        duration_minutes: int
        buffer_before_minutes: int
        buffer_after_minutes: int
        min_notice_hours: int
        booking_window_days: int
        modality: str
        price: Decimal

    class AppointmentTypeRetired(Aggregate.Event, Audited):
        TOPIC = "careledger/practice/appointment-type-retired"
        code: str

    class SupervisionRequirementSet(Aggregate.Event, Audited):
        """The monthly supervision hours a license type needs in this practice (0: none)."""

        TOPIC = "careledger/practice/supervision-requirement-set"
        license_type: str
        monthly_hours: Decimal
        at: datetime

    class NoteTemplateSaved(Aggregate.Event, Audited):
        """A practice's starting text for a note type (boilerplate: no PHI)."""

        TOPIC = "careledger/practice/note-template-saved"
        template_id: UUID
        name: str
        note_type: str
        sections: dict[str, str]

    class NoteTemplateRetired(Aggregate.Event, Audited):
        TOPIC = "careledger/practice/note-template-retired"
        template_id: UUID

    @classmethod
    def create_id(cls, slug: str, **_: Any) -> UUID:
        return practice_id_for(slug)

    @staticmethod
    def check(name: str, slug: str, time_zone: str, known_zones: frozenset[str]) -> None:
        if not name.strip():
            raise InvalidCommand("A practice needs a name.", field="name")
        if not SLUG.match(slug):
            raise InvalidCommand("A slug is lower-case letters, digits and dashes.", field="slug")
        if time_zone not in known_zones:
            raise InvalidCommand(f"Unknown time zone {time_zone!r}.", field="time_zone")

    @event(Registered)
    def __init__(self, name: str, slug: str, time_zone: str, settings: dict[str, Any]) -> None:
        self.name = name
        self.slug = slug
        self.time_zone = time_zone
        self.settings = dict(settings)
        self.baa: dict[str, Any] | None = None
        self.own_types: dict[str, AppointmentType] = {}
        self.retired_types: set[str] = set()
        self.supervision_hours: dict[str, Decimal] = {}
        self.note_templates: dict[UUID, NoteTemplate] = {}

    @property
    def practice_id(self) -> UUID:
        return self.id

    @property
    def require_staff_mfa(self) -> bool:
        return bool(self.settings.get("require_staff_mfa", False))

    @property
    def scheduling(self) -> SchedulingPolicy:
        return SchedulingPolicy.from_settings(self.settings)

    @property
    def appointment_types(self) -> dict[str, AppointmentType]:
        """Seed 001's built-in types with the practice's own settings and types, minus retired ones."""
        types = {**BUILT_IN_TYPES, **self.own_types}
        return {code: t for code, t in types.items() if code not in self.retired_types}

    def appointment_type(self, code: str) -> AppointmentType:
        try:
            return self.appointment_types[code]
        except KeyError:
            raise InvalidCommand(
                f"Unknown appointment type {code!r}.", field="appointment_type",
                allowed=sorted(self.appointment_types),
            ) from None

    def save_appointment_type(self, kind: AppointmentType) -> None:
        if self.appointment_types.get(kind.code) != kind:
            self._type_saved(**{f: getattr(kind, f) for f in AppointmentType.__dataclass_fields__})

    @event(AppointmentTypeSaved)
    def _type_saved(
        self, code: str, name: str, duration_minutes: int, buffer_before_minutes: int, buffer_after_minutes: int,
        min_notice_hours: int, booking_window_days: int, modality: str, price: Decimal,
    ) -> None:
        kind = AppointmentType(
            code, name, duration_minutes, buffer_before_minutes, buffer_after_minutes, min_notice_hours,
            booking_window_days, modality, price,
        )
        self.own_types[kind.code] = kind
        self.retired_types.discard(kind.code)

    def retire_appointment_type(self, code: str) -> None:
        if code not in self.appointment_types:
            raise IllegalTransition(f"There is no appointment type {code!r} to retire.")
        self._type_retired(code=code)

    @event(AppointmentTypeRetired)
    def _type_retired(self, code: str) -> None:
        self.retired_types.add(code)

    def supervision_requirements(self) -> dict[str, Decimal]:
        """License type -> monthly hours: the defaults overlaid with this practice's own figures."""
        merged = {**licenses.default_supervision_hours(), **self.supervision_hours}
        return {code: hours for code, hours in merged.items() if hours > 0}

    def set_supervision_requirement(self, license_type: str, monthly_hours: Decimal, at: datetime) -> None:
        licenses.license_type(license_type)
        if not isinstance(monthly_hours, Decimal) or not monthly_hours.is_finite():
            raise InvalidCommand("Monthly hours must be a number.", field="monthly_hours")
        if not Decimal(0) <= monthly_hours <= MAX_SUPERVISION_HOURS or monthly_hours % HOURS_STEP:
            raise InvalidCommand(
                f"Monthly hours run from 0 to {MAX_SUPERVISION_HOURS} in steps of {HOURS_STEP}.",
                field="monthly_hours",
            )
        if self.supervision_requirements().get(license_type, Decimal(0)) != monthly_hours:
            self._supervision_requirement_set(license_type=license_type, monthly_hours=monthly_hours, at=at)

    @event(SupervisionRequirementSet)
    def _supervision_requirement_set(self, license_type: str, monthly_hours: Decimal, at: datetime) -> None:
        self.supervision_hours[license_type] = monthly_hours

    def note_template(self, template_id: UUID) -> NoteTemplate:
        try:
            return self.note_templates[template_id]
        except KeyError:
            raise TemplateNotFound(f"No note template {template_id}.") from None

    def save_note_template(self, template: NoteTemplate) -> None:
        if self.note_templates.get(template.template_id) != template:
            self._note_template_saved(template_id=template.template_id, name=template.name,
                                      note_type=template.note_type, sections=dict(template.sections))

    @event(NoteTemplateSaved)
    def _note_template_saved(self, template_id: UUID, name: str, note_type: str, sections: dict[str, str]) -> None:
        self.note_templates[template_id] = NoteTemplate(template_id, name, note_type, dict(sections))

    def retire_note_template(self, template_id: UUID) -> None:
        self.note_template(template_id)
        self._note_template_retired(template_id=template_id)

    @event(NoteTemplateRetired)
    def _note_template_retired(self, template_id: UUID) -> None:
        self.note_templates.pop(template_id, None)

    def change_settings(self, settings: dict[str, Any]) -> None:
        self._settings_changed(settings={**self.settings, **settings})

    @event(SettingsChanged)
    def _settings_changed(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    def sign_baa(self, signed_by: str, signer_title: str | None, version: str, signed_on: date) -> None:
        if not signed_by.strip():
            raise InvalidCommand("Name who signed the agreement.", field="signed_by")
        if not version.strip():
            raise InvalidCommand("Name the agreement's version.", field="version")
        self._baa_signed(signed_by=signed_by.strip(), signer_title=signer_title, version=version.strip(),
                         signed_on=signed_on)

    @event(BaaSigned)
    def _baa_signed(self, signed_by: str, signer_title: str | None, version: str, signed_on: date) -> None:
        self.baa = {"signed_by": signed_by, "signer_title": signer_title, "version": version,
                    "signed_on": signed_on}
