"""Access tokens: short-lived HS256 JWTs naming the session, member, role and practice.

Expiry is checked against the container's clock (not the library's), so tests can move time.
Refresh tokens are opaque (`<session id>.<secret>`) and live in the Session aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import jwt

from domain.identity.permissions import ROLES

ISSUER = "careledger"


class InvalidToken(Exception):
    pass


class ExpiredToken(InvalidToken):
    pass


@dataclass(frozen=True)
class Claims:
    user_id: UUID
    member_id: UUID
    session_id: UUID
    role: str
    practice_id: UUID
    mfa_pending: bool = False


def issue(secret: bytes, claims: Claims, ttl: timedelta, now: datetime) -> str:
    payload = {
        "iss": ISSUER,
        "sub": str(claims.user_id),
        "mid": str(claims.member_id),
        "sid": str(claims.session_id),
        "role": claims.role,
        "practice_id": str(claims.practice_id),
        "mfa_pending": claims.mfa_pending,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def verify(secret: bytes, token: str, now: datetime) -> Claims:
    try:
        payload = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER,
            options={"require": ["exp", "sub", "sid", "mid"], "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False},
        )
        claims = Claims(
            UUID(str(payload["sub"])), UUID(str(payload["mid"])), UUID(str(payload["sid"])), str(payload["role"]),
            UUID(str(payload["practice_id"])), bool(payload.get("mfa_pending", False)),
        )
        expired = now.timestamp() >= float(payload["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as e:
        raise InvalidToken(str(e)) from e
    if expired:
        raise ExpiredToken("The access token has expired; refresh it.")
    if claims.role not in ROLES:
        raise InvalidToken(f"unknown role {claims.role!r}")
    return claims
