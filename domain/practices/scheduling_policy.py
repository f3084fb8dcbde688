"""A practice's scheduling settings: reminder offsets, the late-cancellation window and how the
practice is reached (seed 004's reminder settings; seed 001's late-cancel flag).

They are stored in the Practice's generic `settings` map; this module owns their names, defaults
and shape rules, so the settings command and everything reading them agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain.errors import InvalidCommand

DEFAULT_REMINDER_OFFSETS = (48, 24, 2)
DEFAULT_LATE_CANCEL_HOURS = 24
MAX_OFFSET_HOURS = 14 * 24
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SETTINGS = (
    "reminder_offsets_hours", "late_cancel_hours", "reminders_enabled", "contact_phone", "sms_number",
)


@dataclass(frozen=True)
class SchedulingPolicy:
    reminder_offsets_hours: tuple[int, ...] = DEFAULT_REMINDER_OFFSETS
    late_cancel_hours: int = DEFAULT_LATE_CANCEL_HOURS
    reminders_enabled: bool = True
    contact_phone: str | None = None
    sms_number: str | None = None

    @property
    def late_window(self) -> timedelta:
        return timedelta(hours=self.late_cancel_hours)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SchedulingPolicy:
        values = {k: settings[k] for k in SETTINGS if k in settings}
        check_settings(values)
        if "reminder_offsets_hours" in values:
            values["reminder_offsets_hours"] = tuple(sorted(set(values["reminder_offsets_hours"]), reverse=True))
        return cls(**values)


def check_settings(values: Mapping[str, Any]) -> None:
    """Refuse scheduling settings of the wrong shape (InvalidCommand naming the field)."""
    offsets = values.get("reminder_offsets_hours")
    if offsets is not None and (
        not isinstance(offsets, list | tuple) or len(offsets) > 5
        or not all(isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_OFFSET_HOURS for h in offsets)
    ):
        raise InvalidCommand(
            f"reminder_offsets_hours is a list of up to 5 whole hours from 1 to {MAX_OFFSET_HOURS}.",
            field="reminder_offsets_hours",
        )
    late = values.get("late_cancel_hours")
    if late is not None and (isinstance(late, bool) or not isinstance(late, int) or not 0 <= late <= 7 * 24):
        raise InvalidCommand("late_cancel_hours is a whole number from 0 to 168.", field="late_cancel_hours")
    enabled = values.get("reminders_enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidCommand("reminders_enabled is true or false.", field="reminders_enabled")
    for name in ("contact_phone", "sms_number"):
        number = values.get(name)
        if number is not None and (not isinstance(number, str) or not E164.match(number)):
            raise InvalidCommand(f"{name} is a phone number in E.164 form, e.g. +14045550100.", field=name)
