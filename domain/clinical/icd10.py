"""ICD-10-CM diagnosis codes, checked for shape only (not against the code set).

A code is a letter, a digit, a letter or digit, then optionally a dot and one to four more
letters or digits (F32.9, F41.1, Z63.0, S06.0X1A). Input is trimmed and upper-cased, and the dot
is put back when it was left out (claims write F329), so equal codes compare equal. Error details
give the field and position, never the code itself (a diagnosis is PHI and errors get logged).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from domain.errors import InvalidCommand

FIELD = "icd10_codes"
_SHAPE = re.compile(r"([A-Z][0-9][A-Z0-9])(?:\.?([A-Z0-9]{1,4}))?")


def normalise_icd10(code: str, field: str = FIELD) -> str:
    """The canonical (upper-case, dotted) form of `code`, or InvalidCommand naming `field`."""
    match = _SHAPE.fullmatch(code.strip().upper()) if isinstance(code, str) else None
    if match is None:
        raise InvalidCommand("Not an ICD-10-CM code (e.g. F32.9).", field=field)
    category, detail = match.groups()
    return f"{category}.{detail}" if detail else category


def normalise_icd10_codes(codes: Iterable[str], field: str = FIELD) -> tuple[str, ...]:
    """Every code normalised, in the given order (the first is the primary diagnosis); a repeated
    code is kept once."""
    if isinstance(codes, str):
        raise InvalidCommand("Diagnosis codes are a list.", field=field)
    result: list[str] = []
    for index, code in enumerate(codes):
        try:
            normal = normalise_icd10(code, field)
        except InvalidCommand as error:
            error.details["index"] = index
            raise
        if normal not in result:
            result.append(normal)
    return tuple(result)
