"""Who is acting, for which practice, through which request: the audit envelope's source.

Every save reads the current context; with none, nothing is stored. HTTP middleware, the CLI
and worker entry points each open a context before calling the application.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any
from uuid import UUID

from application.errors import MissingActor

SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class AuditContext:
    actor_id: str
    actor_role: str
    practice_id: UUID | None = None
    request_id: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    reason: str | None = None

    def envelope(self) -> dict[str, Any]:
        data = asdict(self)
        data["practice_id"] = str(self.practice_id) if self.practice_id else None
        return data


def system(name: str, practice_id: UUID | None = None) -> AuditContext:
    """A named system actor: `system:demo`, `system:worker`, `cli:<user>`, `webhook:stripe`."""
    return AuditContext(actor_id=name, actor_role=SYSTEM_ROLE, practice_id=practice_id)


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "careledger_audit", default=None
)


def current() -> AuditContext:
    ctx = _current.get()
    if ctx is None or not ctx.actor_id or not ctx.actor_role:
        raise MissingActor("No actor: every change must say who makes it.")
    return ctx


def peek() -> AuditContext | None:
    return _current.get()


@contextmanager
def acting(ctx: AuditContext) -> Iterator[AuditContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@contextmanager
def because(reason: str, practice_id: UUID | None = None) -> Iterator[AuditContext]:
    """Adds the reason a rule demands (and optionally narrows the practice) for one command."""
    ctx = current()
    changes: dict[str, Any] = {"reason": reason}
    if practice_id is not None:
        changes["practice_id"] = practice_id
    with acting(replace(ctx, **changes)) as narrowed:
        yield narrowed


@contextmanager
def for_practice(practice_id: UUID) -> Iterator[AuditContext]:
    with acting(replace(current(), practice_id=practice_id)) as narrowed:
        yield narrowed


def begin(ctx: AuditContext) -> None:
    """Set the context for the rest of the current task (one HTTP request's task)."""
    _current.set(ctx)


def enter(ctx: AuditContext) -> contextvars.Token[AuditContext | None]:
    """Set the context until `leave(token)`; for frameworks with before/after hooks."""
    return _current.set(ctx)


def leave(token: contextvars.Token[AuditContext | None]) -> None:
    _current.reset(token)
