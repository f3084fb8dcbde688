"""Money and billing codes, checked at the domain's edge.

Amounts are `Decimal` with at most two places, never floats. Codes are checked for shape only:
CPT/HCPCS (five characters: 90837, 0591T, G0444), CDT dental codes (D0120), two-character
modifiers, the X12 claim adjustment group codes and the shapes of CARC and RARC codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from domain.errors import InvalidCommand

CENTS = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("100000000")
MAX_MODIFIERS = 4
ADJUSTMENT_GROUPS = ("CO", "PR", "OA", "PI", "CR")

_PROCEDURE = re.compile(r"^(?:\d{5}|\d{4}[FTU]|[A-CEGHJ-MP-V]\d{4}|D\d{4})$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
_CARC = re.compile(r"^[A-Z]?\d{1,3}$|^[A-Z]\d?$")
_RARC = re.compile(r"^[A-Z]{1,2}\d{1,4}$")


def money(value: Decimal, field: str = "amount", *, positive: bool = False, allow_negative: bool = False) -> Decimal:
    """`value` as a two-place Decimal; refuses floats, NaN, sub-cent precision and sign errors."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidCommand("An amount is a decimal number.", field=field)
    if abs(value) > MAX_AMOUNT:
        raise InvalidCommand(f"An amount is at most {MAX_AMOUNT}.", field=field)
    if value != value.quantize(CENTS):
        raise InvalidCommand("An amount has at most two decimal places.", field=field)
    if positive and value <= 0:
        raise InvalidCommand("The amount must be more than zero.", field=field)
    if not allow_negative and value < 0:
        raise InvalidCommand("The amount cannot be negative.", field=field)
    return value.quantize(CENTS)


def procedure_code(code: str, field: str = "cpt") -> str:
    normal = code.strip().upper() if isinstance(code, str) else ""
    if not _PROCEDURE.match(normal):
        raise InvalidCommand("Not a CPT, HCPCS or CDT procedure code (e.g. 90837).", field=field)
    return normal


def modifiers(values: Iterable[str], field: str = "modifiers") -> tuple[str, ...]:
    if isinstance(values, str):
        raise InvalidCommand("Modifiers are a list.", field=field)
    normal = tuple(v.strip().upper() if isinstance(v, str) else "" for v in values)
    if len(normal) > MAX_MODIFIERS:
        raise InvalidCommand(f"At most {MAX_MODIFIERS} modifiers.", field=field)
    for index, modifier in enumerate(normal):
        if not _MODIFIER.match(modifier):
            raise InvalidCommand("A modifier is two letters or digits (e.g. 95, HO).", field=field, index=index)
    if len(set(normal)) != len(normal):
        raise InvalidCommand("A modifier is listed once.", field=field)
    return normal


def units(value: Decimal, field: str = "units") -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or not Decimal(0) < value <= Decimal(999):
        raise InvalidCommand("Units are a number above 0 and at most 999.", field=field)
    if value != value.quantize(CENTS):
        raise InvalidCommand("Units have at most two decimal places.", field=field)
    return value


def adjustment_group(group: str, field: str = "group") -> str:
    normal = group.strip().upper() if isinstance(group, str) else ""
    if normal not in ADJUSTMENT_GROUPS:
        raise InvalidCommand("Unknown adjustment group.", field=field, allowed=list(ADJUSTMENT_GROUPS))
    return normal


def reason_code(code: str, field: str = "reason_code") -> str:
    normal = code.strip().upper() if isinstance(code, str) else ""
    if not _CARC.match(normal):
        raise InvalidCommand("A claim adjustment reason code is like 45, 16 or B7.", field=field)
    return normal


def remark_codes(codes: Iterable[str], field: str = "remark_codes") -> tuple[str, ...]:
    if isinstance(codes, str):
        raise InvalidCommand("Remark codes are a list.", field=field)
    normal = tuple(c.strip().upper() if isinstance(c, str) else "" for c in codes)
    for index, code in enumerate(normal):
        if not _RARC.match(code):
            raise InvalidCommand("A remittance advice remark code is like N290 or M51.", field=field, index=index)
    return normal
