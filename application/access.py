"""What the caller may see: the grant an authenticated request runs under, and record scope.

Practice isolation is enforced where aggregates are loaded (`EventStore.load`); record scope
(own caseload, supervisees, own record) is enforced here, by the services that read or change
client records. System actors (CLI, workers, demo loader) act without a grant.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

from application import audit
from application.errors import Forbidden, MissingActor
from domain.identity.permissions import Permission, Scope

BREAK_GLASS_ROLES = frozenset({"clinician", "supervisor", "care_team"})


class OutsideCaseload(Forbidden):
    code = "outside_caseload"


@dataclass(frozen=True)
class Grant:
    user_id: UUID
    member_id: UUID
    session_id: UUID
    practice_id: UUID
    role: str
    permissions: frozenset[Permission]
    scope: Scope
    client_ids: frozenset[UUID] = frozenset()  # client / family member: the records they may see
    team_ids: frozenset[UUID] = frozenset()  # caseload owners: the member and their supervisees
    break_glass_reason: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def sees(self, client_id: UUID, care_team: Iterable[UUID]) -> bool:
        if self.scope is Scope.PRACTICE:
            return True
        if self.scope is Scope.OWN_RECORD:
            return client_id in self.client_ids
        return not self.team_ids.isdisjoint(care_team)

    @property
    def may_break_glass(self) -> bool:
        """Clinicians, supervisors and care-team members: not external caregivers, who share the
        caseload scope but are no workforce of the practice."""
        return self.role in BREAK_GLASS_ROLES and Permission.VIEW_PATIENTS in self.permissions


_current: contextvars.ContextVar[Grant | None] = contextvars.ContextVar("careledger_grant", default=None)


def begin(grant: Grant) -> None:
    _current.set(grant)


@contextmanager
def granted(grant: Grant | None) -> Iterator[Grant | None]:
    token = _current.set(grant)
    try:
        yield grant
    finally:
        _current.reset(token)


def current() -> Grant | None:
    """The caller's grant; None for system actors. A person acting without one is refused."""
    grant = _current.get()
    if grant is None and audit.current().actor_role != audit.SYSTEM_ROLE:
        raise MissingActor("This request carries no access grant.")
    return grant


@dataclass(frozen=True)
class ScopeFilter:
    """How a list query narrows to what the grant may see (None: no narrowing)."""

    client_ids: frozenset[UUID] | None = None
    care_team_any: frozenset[UUID] | None = None


def list_filter() -> ScopeFilter:
    grant = current()
    if grant is None or grant.scope is Scope.PRACTICE:
        return ScopeFilter()
    if grant.scope is Scope.OWN_RECORD:
        return ScopeFilter(client_ids=grant.client_ids)
    return ScopeFilter(care_team_any=grant.team_ids)
