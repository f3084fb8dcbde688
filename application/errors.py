from __future__ import annotations

from domain.errors import DomainError


class MissingActor(DomainError):
    code = "missing_actor"
    kind = "unauthenticated"


class NotFound(DomainError):
    code = "not_found"
    kind = "not_found"


class Forbidden(DomainError):
    code = "forbidden"
    kind = "forbidden"


class Conflict(DomainError):
    code = "conflict"
    kind = "conflict"


class SubjectErased(DomainError):
    code = "subject_erased"
    kind = "conflict"


class Unavailable(DomainError):
    code = "read_model_catching_up"
    kind = "unavailable"
