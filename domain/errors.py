"""Domain errors. Each carries a stable code; interfaces map the kind to an HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    kind = "invalid"  # invalid | conflict | not_found | forbidden

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidCommand(DomainError):
    code = "invalid_command"
    kind = "invalid"


class IllegalTransition(DomainError):
    code = "illegal_transition"
    kind = "conflict"


class ReasonRequired(DomainError):
    code = "reason_required"
    kind = "invalid"
