"""Access policy for every route, in one place: authentication, rate limit, session activity,
membership, HIPAA training gate, MFA enrolment gate, permission; then the audit context and
the grant the application scopes records by.

Every `/api/` route must declare `Authorize(...)` or `Public`; `create_app` refuses to start
otherwise, and the permission-matrix test reads the same declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from application import access, audit
from application.errors import Forbidden, MissingActor
from application.identity.policy import ANONYMOUS
from domain.errors import DomainError
from domain.identity.membership import Membership
from domain.identity.permissions import ROLE_SCOPE, Permission, Scope, effective_permissions
from domain.identity.session import SessionEnded
from interfaces.container import Container
from interfaces.http.tokens import Claims, ExpiredToken, InvalidToken, verify


class TokenExpired(DomainError):
    code = "token_expired"
    kind = "unauthenticated"


class RateLimited(DomainError):
    code = "rate_limited"
    kind = "rate_limited"


class TrainingExpired(Forbidden):
    code = "hipaa_training_expired"


class MfaEnrolmentRequired(Forbidden):
    code = "mfa_enrolment_required"


class PermissionDenied(Forbidden):
    code = "permission_denied"


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


@dataclass(frozen=True)
class Caller:
    actor_id: str
    role: str
    practice_id: UUID
    request_id: str
    member_id: UUID
    user_id: UUID
    session_id: UUID
    grant: access.Grant
    mfa_pending: bool = False


def _request_context(request: Request) -> audit.AuditContext:
    return audit.AuditContext(
        actor_id=ANONYMOUS.actor_id,
        actor_role=ANONYMOUS.actor_role,
        request_id=getattr(request.state, "request_id", None),
        client_ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def public(request: Request) -> None:
    """Marks a route open to everyone; its audit context is the anonymous caller's request."""
    audit.begin(_request_context(request))


Public = Depends(public)


def check_rate(k: Container, key: str, limit: int, window_seconds: int, what: str) -> None:
    decision = k.rate_limiter.hit(key, limit, window_seconds)
    if not decision.allowed:
        raise RateLimited(
            f"Too many {what}; try again in {decision.retry_after} seconds.", retry_after=decision.retry_after
        )


class Authorize:
    """`Depends(Authorize(Permission.X))`: the caller must be signed in and hold X (None: any
    signed-in member). `suspended_ok` / `mfa_pending_ok` let through the routes a suspended or
    not-yet-enrolled member needs to put things right."""

    def __init__(
        self, permission: Permission | None, *, suspended_ok: bool = False, mfa_pending_ok: bool = False
    ) -> None:
        self.permission = permission
        self.suspended_ok = suspended_ok
        self.mfa_pending_ok = mfa_pending_ok

    async def __call__(self, request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MissingActor("A bearer token is required (POST /api/v1/auth/login).")
        k: Container = request.app.state.container
        try:
            claims = verify(k.secrets.token_secret, token.strip(), k.clock.now())
        except ExpiredToken:
            raise TokenExpired("The access token has expired; refresh it (POST /api/v1/auth/refresh).") from None
        except InvalidToken:
            raise MissingActor("The bearer token is invalid.") from None
        grant = await run_in_threadpool(self._grant, k, claims)
        # Set here, in the request's task, so the worker thread running a sync endpoint inherits it.
        ctx = _request_context(request)
        audit.begin(
            audit.AuditContext(
                actor_id=str(grant.member_id), actor_role=grant.role, practice_id=grant.practice_id,
                request_id=ctx.request_id, client_ip=ctx.client_ip, user_agent=ctx.user_agent,
            )
        )
        reason = request.headers.get("x-break-glass-reason")
        if reason:
            grant = replace(grant, break_glass_reason=reason[:500])
        access.begin(grant)
        return Caller(
            actor_id=str(grant.member_id), role=grant.role, practice_id=grant.practice_id,
            request_id=ctx.request_id or "", member_id=grant.member_id, user_id=grant.user_id,
            session_id=grant.session_id, grant=grant, mfa_pending=claims.mfa_pending,
        )

    def _grant(self, k: Container, claims: Claims) -> access.Grant:
        s = k.settings
        check_rate(k, f"api:{claims.session_id}", s.api_rate_limit_per_minute, 60, "requests for this token")
        with audit.acting(audit.system("system:auth", practice_id=claims.practice_id)):
            member: Membership = k.store.load(claims.member_id, Membership)
            if not member.active or member.user_id != claims.user_id:
                raise SessionEnded("Your membership of this practice has ended.")
            k.accounts.check_activity(claims.session_id, idle_timeout=member.is_staff)
        if claims.mfa_pending and not self.mfa_pending_ok:
            raise MfaEnrolmentRequired(
                "This practice requires MFA for staff: enrol an authenticator (POST /api/v1/auth/mfa/enrol, "
                "then /verify) and sign in again."
            )
        today = k.clock.now().date()
        if member.hipaa_suspended(today) and not self.suspended_ok:
            expires = member.hipaa_training_expires_on
            raise TrainingExpired(
                f"Access suspended: your annual HIPAA training expired on {expires}. A practice admin must "
                "record a new completion." if expires else
                "Access suspended: no HIPAA training completion is on record. A practice admin must record it."
            )
        permissions = effective_permissions(member.role, member.overrides)
        if self.permission is not None and self.permission not in permissions:
            raise PermissionDenied(f"The {member.role} role does not have the {self.permission.value} permission.")
        scope = ROLE_SCOPE[member.role]
        team = {member.id}
        if scope is Scope.SUPERVISEES:
            team.update(k.member_directory.supervisees(member.id))
        return access.Grant(
            user_id=claims.user_id, member_id=member.id, session_id=claims.session_id,
            practice_id=member.practice_id, role=member.role, permissions=permissions, scope=scope,
            client_ids=frozenset(member.client_ids), team_ids=frozenset(team),
        )


P = Permission
Signed = Annotated[Caller, Depends(Authorize(None))]
SignedAnyState = Annotated[Caller, Depends(Authorize(None, suspended_ok=True, mfa_pending_ok=True))]
ViewPatients = Annotated[Caller, Depends(Authorize(P.VIEW_PATIENTS))]
EditPatients = Annotated[Caller, Depends(Authorize(P.EDIT_PATIENTS))]
AssignCareTeam = Annotated[Caller, Depends(Authorize(P.ASSIGN_CARE_TEAM))]
ErasePhi = Annotated[Caller, Depends(Authorize(P.ERASE_PHI))]
ViewAudit = Annotated[Caller, Depends(Authorize(P.VIEW_AUDIT))]
ViewTeam = Annotated[Caller, Depends(Authorize(P.VIEW_TEAM))]
ManageTeam = Annotated[Caller, Depends(Authorize(P.MANAGE_TEAM))]
ManageTeamSuspendedOk = Annotated[Caller, Depends(Authorize(P.MANAGE_TEAM, suspended_ok=True))]
ViewAppointments = Annotated[Caller, Depends(Authorize(P.VIEW_APPOINTMENTS))]
EditAppointments = Annotated[Caller, Depends(Authorize(P.EDIT_APPOINTMENTS))]
ViewSettings = Annotated[Caller, Depends(Authorize(P.VIEW_SETTINGS))]
EditSettings = Annotated[Caller, Depends(Authorize(P.EDIT_SETTINGS))]
ViewBilling = Annotated[Caller, Depends(Authorize(P.VIEW_BILLING))]


def route_policy(route: APIRoute) -> Authorize | Callable[..., Any] | None:
    """The route's declared access policy: an `Authorize`, `public`, or None (undeclared)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Authorize) or dep.call is public:
            return dep.call
        stack.extend(dep.dependencies)
    return None
