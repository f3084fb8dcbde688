"""Helpers shared by tests that build their own practices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from application import access, audit
from domain.identity.permissions import ROLE_SCOPE, effective_permissions


def open_practice(k: Any, name: str, slug: str, zone: str) -> UUID:
    """Register a practice and record its signed BAA (client records need one)."""
    pid: UUID = k.practices.register(name, slug, zone).id
    k.practices.sign_baa(pid, "Test Signer", None, "v1", date(2026, 1, 2))
    return pid


def staff_member(k: Any, practice_id: UUID, email: str, role: str = "clinician", name: str = "Staff Member") -> UUID:
    """An invited staff member (no account needed to join care teams)."""
    saved = k.members.invite(practice_id, email, name, role)
    member_id: UUID = saved.saved.id
    return member_id


@contextmanager
def acting_as(ctx: audit.AuditContext, member_id: UUID | None = None) -> Iterator[access.Grant]:
    """A person's audit context with the grant their role gives (as the HTTP layer would set)."""
    assert ctx.practice_id is not None
    role = ctx.actor_role
    grant = access.Grant(
        user_id=uuid4(), member_id=member_id or uuid4(), session_id=uuid4(), practice_id=ctx.practice_id,
        role=role, permissions=effective_permissions(role), scope=ROLE_SCOPE[role],
    )
    with audit.acting(ctx), access.granted(grant):
        yield grant
