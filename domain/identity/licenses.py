"""Staff license types and the monthly supervision they need by default (seed 001, Module 7,
category 6 and Georgia rule 4), as data.

`supervised` license types practise under a supervisor: their notes need the supervisor's
co-signature and they log supervision hours. The monthly hours here are the defaults a practice
starts with; a practice may set its own per license type (practice data, see
`domain/practices/practice.py`), and the compliance rule reads the practice's figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidCommand


@dataclass(frozen=True)
class LicenseType:
    code: str
    label: str
    supervised: bool
    monthly_supervision_hours: Decimal


LICENSE_TYPES: dict[str, LicenseType] = {
    t.code: t
    for t in (
        LicenseType("LPC", "Licensed Professional Counselor", False, Decimal("2")),
        LicenseType("LPC-Associate", "Associate Licensed Professional Counselor", True, Decimal("2")),
        LicenseType("LMSW", "Licensed Master Social Worker", True, Decimal("4")),
        LicenseType("LCSW", "Licensed Clinical Social Worker", False, Decimal("0")),
        LicenseType("LMFT", "Licensed Marriage and Family Therapist", False, Decimal("0")),
        LicenseType("LMFT-Associate", "Associate Marriage and Family Therapist", True, Decimal("2")),
        LicenseType("psychologist", "Licensed Psychologist", False, Decimal("0")),
        LicenseType("psychiatrist", "Psychiatrist (MD/DO)", False, Decimal("0")),
        LicenseType("PMHNP", "Psychiatric-Mental Health Nurse Practitioner", False, Decimal("0")),
        LicenseType("intern", "Graduate intern", True, Decimal("4")),
    )
}


def license_type(code: str) -> LicenseType:
    try:
        return LICENSE_TYPES[code]
    except (KeyError, TypeError):
        raise InvalidCommand(
            f"Unknown license type {code!r}.", field="license_type", allowed=sorted(LICENSE_TYPES)
        ) from None


def default_supervision_hours() -> dict[str, Decimal]:
    """License type -> required hours per month, for the types that need any."""
    return {t.code: t.monthly_supervision_hours for t in LICENSE_TYPES.values() if t.monthly_supervision_hours > 0}


def is_supervised(code: str | None) -> bool:
    return code is not None and code in LICENSE_TYPES and LICENSE_TYPES[code].supervised
