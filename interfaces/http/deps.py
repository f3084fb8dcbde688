"""Request-scoped dependencies: the container, the caller and its audit context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from application import audit
from application.errors import Forbidden, MissingActor
from interfaces.container import Container
from interfaces.http.tokens import InvalidToken, verify


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

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"The {self.role} role may not do this.")


async def get_caller(request: Request) -> Caller:
    """Authenticates the bearer token and opens the audit context for this request.

    Async on purpose: a context variable set here, in the request's task, is copied into the
    worker thread that runs the (sync) endpoint, so every save in it carries this envelope.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise MissingActor("A bearer token is required.")
    container: Container = request.app.state.container
    try:
        claims = verify(container.secrets.token_secret, token.strip())
    except InvalidToken:
        raise MissingActor("The bearer token is invalid or has expired.") from None
    request_id = request.state.request_id
    audit.begin(
        audit.AuditContext(
            actor_id=claims.actor_id,
            actor_role=claims.role,
            practice_id=claims.practice_id,
            request_id=request_id,
            client_ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )
    )
    return Caller(claims.actor_id, claims.role, claims.practice_id, request_id)


CallerDep = Annotated[Caller, Depends(get_caller)]
