"""Element values read without raising: anything malformed becomes a finding instead."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal
from typing import Any

from domain.remittance.era835.model import ZERO, Finding, FindingCode, Location, Severity
from domain.remittance.era835.tokenizer import Segment

_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE8 = re.compile(r"[0-9]{8}")
_COUNT = re.compile(r"[0-9]{1,9}")


def parse_decimal(raw: str) -> Decimal | None:
    """An X12 R value (optional minus, digits, optional point); None for anything else."""
    text = raw.strip()
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def parse_date(raw: str) -> date | None:
    text = raw.strip()
    if not _DATE8.fullmatch(text):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def parse_count(raw: str) -> int | None:
    text = raw.strip()
    return int(text) if _COUNT.fullmatch(text) else None


def element_name(segment: Segment, position: int) -> str:
    return f"{segment.id}{position:02d}"


class Notes:
    """Collects findings; copies made with `at` share one list but point somewhere else.

    A copy is made for every segment read, and few of them ever note anything, so the copy keeps
    the changed fields and builds its `Location` only when asked."""

    def __init__(self, location: Location, findings: list[Finding] | None = None,
                 where: dict[str, Any] | None = None) -> None:
        self._base = location
        self._where = where
        self.findings: list[Finding] = [] if findings is None else findings

    @property
    def location(self) -> Location:
        if self._where:
            self._base = dataclasses.replace(self._base, **self._where)
            self._where = None
        return self._base

    def at(self, **where: Any) -> Notes:
        return Notes(self._base, self.findings, {**self._where, **where} if self._where else where)

    def add(
        self,
        code: FindingCode,
        message: str,
        severity: Severity = Severity.WARNING,
        expected: Decimal | None = None,
        actual: Decimal | None = None,
    ) -> None:
        self.findings.append(Finding(severity, code, message, self.location, expected, actual))

    def amount(self, segment: Segment, position: int) -> Decimal:
        """A required amount; a missing or malformed one is noted and counts as zero."""
        value = self.optional_amount(segment, position)
        if value is None:
            if not segment.text(position):
                self.add(FindingCode.MISSING_AMOUNT, f"{element_name(segment, position)} is empty.")
            return ZERO
        return value

    def optional_amount(self, segment: Segment, position: int) -> Decimal | None:
        raw = segment.text(position)
        if not raw:
            return None
        value = parse_decimal(raw)
        if value is None:
            self.add(
                FindingCode.MALFORMED_AMOUNT,
                f"{element_name(segment, position)} {raw!r} is not a number.",
            )
        return value

    def date(self, segment: Segment, position: int) -> date | None:
        raw = segment.text(position)
        if not raw:
            return None
        value = parse_date(raw)
        if value is None:
            self.add(
                FindingCode.MALFORMED_DATE,
                f"{element_name(segment, position)} {raw!r} is not a CCYYMMDD date.",
            )
        return value
