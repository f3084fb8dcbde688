"""One-time secrets handed out by mail or to clients: `<aggregate id>.<secret>`, stored hashed.

The id part lets the service load the one aggregate the token belongs to; only the SHA-256 of
the secret is ever stored, so the event log cannot be replayed into working tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from uuid import UUID

from domain.errors import DomainError


class InvalidToken(DomainError):
    code = "invalid_token"
    kind = "invalid"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def compose(aggregate_id: UUID, secret: str) -> str:
    return f"{aggregate_id}.{secret}"


def parse(token: str, error: type[DomainError] = InvalidToken) -> tuple[UUID, str]:
    head, _, secret = token.strip().partition(".")
    try:
        aggregate_id = UUID(head)
    except ValueError:
        raise error("The token is not valid.") from None
    if len(secret) < 20:
        raise error("The token is not valid.")
    return aggregate_id, secret
