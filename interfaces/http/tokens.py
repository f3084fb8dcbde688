"""Bearer tokens naming the actor, role and practice (HS256 JWT).

This is the simple scheme of the core issue: tokens are issued by `careledger token` and by the
demo loader. Login, refresh rotation and MFA build on it in the identity issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

ISSUER = "careledger"
ROLES = frozenset(
    {
        "admin", "clinician", "supervisor", "billing", "front_desk", "care_team",
        "client", "family_member", "external_caregiver",
    }
)


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Claims:
    actor_id: str
    role: str
    practice_id: UUID


def issue(secret: bytes, claims: Claims, ttl: timedelta, now: datetime | None = None) -> str:
    issued = now or datetime.now(tz=UTC)
    payload = {
        "iss": ISSUER,
        "sub": claims.actor_id,
        "role": claims.role,
        "practice_id": str(claims.practice_id),
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def verify(secret: bytes, token: str) -> Claims:
    try:
        payload = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub"]}
        )
        claims = Claims(str(payload["sub"]), str(payload["role"]), UUID(str(payload["practice_id"])))
    except (jwt.PyJWTError, KeyError, ValueError) as e:
        raise InvalidToken(str(e)) from e
    if claims.role not in ROLES:
        raise InvalidToken(f"unknown role {claims.role!r}")
    return claims
