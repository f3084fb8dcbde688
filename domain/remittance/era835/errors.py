"""The one exception the 835 reader raises."""

from __future__ import annotations

from domain.errors import DomainError


class EraReadError(DomainError):
    """The input has no recognisable X12 835 structure at all (empty, binary, another type)."""

    code = "era_unreadable"
    kind = "invalid"
