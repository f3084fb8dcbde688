"""Per-request session state in Redis: last activity (idle timeout) and revocations.

The event store stays the record (Session.Revoked); Redis answers the per-request question
fast. Losing Redis errs on the safe side: an unknown session counts as idle and must sign in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import redis

_TOUCH = """
local state = redis.call('HMGET', KEYS[1], 'seen', 'revoked')
if state[2] then return {state[1] or '', '1'} end
redis.call('HSET', KEYS[1], 'seen', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {state[1] or '', ''}
"""


class RedisSessionActivity:
    def __init__(self, client: redis.Redis, prefix: str = "careledger:session") -> None:
        self._redis = client
        self._prefix = prefix
        self._touch = client.register_script(_TOUCH)

    def _key(self, session_id: UUID) -> str:
        return f"{self._prefix}:{session_id}"

    def touch(self, session_id: UUID, at: datetime, ttl_seconds: int) -> tuple[datetime | None, bool]:
        previous, revoked = self._touch(
            keys=[self._key(session_id)], args=[f"{at.timestamp():.3f}", max(ttl_seconds, 1)]
        )
        seen = datetime.fromtimestamp(float(previous), tz=UTC) if previous else None
        return seen, bool(revoked)

    def revoke(self, session_id: UUID, ttl_seconds: int) -> None:
        key = self._key(session_id)
        pipe = self._redis.pipeline()
        pipe.hset(key, "revoked", "1")
        pipe.expire(key, max(ttl_seconds, 1))
        pipe.execute()

    def is_revoked(self, session_id: UUID) -> bool:
        return bool(self._redis.hget(self._key(session_id), "revoked"))
