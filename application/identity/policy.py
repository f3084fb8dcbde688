"""Identity lifetimes (seed 000/001 security rules) and the audit context of account actions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from uuid import UUID

from application import audit

ACCOUNT_ROLE = "account"
ANONYMOUS = audit.AuditContext(actor_id="anonymous", actor_role="anonymous")


@dataclass(frozen=True)
class IdentityPolicy:
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=7)
    staff_idle_timeout: timedelta = timedelta(minutes=15)
    reset_ttl: timedelta = timedelta(hours=1)
    invitation_ttl: timedelta = timedelta(days=7)
    public_url: str = "http://127.0.0.1:8000"


@contextmanager
def as_account(user_id: UUID, practice_id: UUID | None = None) -> Iterator[audit.AuditContext]:
    """The person acting on their own account (sign-in, password, MFA), keeping the request's
    id, address and user agent."""
    base = audit.peek() or ANONYMOUS
    ctx = replace(base, actor_id=str(user_id), actor_role=ACCOUNT_ROLE, practice_id=practice_id, reason=None)
    with audit.acting(ctx) as acting:
        yield acting


@contextmanager
def anonymously() -> Iterator[audit.AuditContext]:
    base = audit.peek() or ANONYMOUS
    with audit.acting(replace(base, actor_id="anonymous", actor_role="anonymous", practice_id=None)) as acting:
        yield acting
