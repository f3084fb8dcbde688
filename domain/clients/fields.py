"""The client's demographic (PHI) fields and their shape rules."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from domain.errors import InvalidCommand

DEMOGRAPHIC_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "email",
    "phone",
    "address",
    "emergency_contact",
    "insurance_primary",
    "insurance_secondary",
    "referring_provider",
)
REQUIRED = ("first_name", "last_name", "date_of_birth")
STRUCTURED = {
    "address": {"line1", "line2", "city", "state", "zip"},
    "emergency_contact": {"name", "phone", "relationship"},
    "insurance_primary": {"payer", "payer_id", "member_id", "group_number", "plan"},
    "insurance_secondary": {"payer", "payer_id", "member_id", "group_number", "plan"},
}
PHONE = re.compile(r"^\+?[0-9 ()\-.]{7,20}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_demographics(values: dict[str, Any], *, partial: bool) -> None:
    unknown = set(values) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise InvalidCommand(f"Unknown client fields: {', '.join(sorted(unknown))}.")
    for name in REQUIRED:
        if (name in values or not partial) and not values.get(name):
            raise InvalidCommand(f"{name} is required.", field=name)
    for name in ("first_name", "last_name"):
        if name in values and len(str(values[name])) > 100:
            raise InvalidCommand(f"{name} is longer than 100 characters.", field=name)
    dob = values.get("date_of_birth")
    if dob is not None and not isinstance(dob, date):
        raise InvalidCommand("date_of_birth must be a date.", field="date_of_birth")
    if values.get("phone") and not PHONE.match(str(values["phone"])):
        raise InvalidCommand("phone is not a phone number.", field="phone")
    if values.get("email") and not EMAIL.match(str(values["email"])):
        raise InvalidCommand("email is not an email address.", field="email")
    for name, keys in STRUCTURED.items():
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, dict) or set(value) - keys:
            raise InvalidCommand(f"{name} takes the keys {', '.join(sorted(keys))}.", field=name)
