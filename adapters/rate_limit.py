"""A Redis sliding-window-log rate limiter, atomic under concurrency (one Lua script per hit).

Each key is a sorted set of the hits it allowed, scored by time in milliseconds. A hit prunes
the entries that left the window, counts the rest and, under the limit, records itself; refused
hits are not recorded, so a client that keeps knocking is let in again as soon as its oldest
counted hit leaves the window. The key expires one window after its newest hit.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import redis

_HIT = """
local key, limit, window, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local wait = window
if oldest[2] then wait = tonumber(oldest[2]) + window - now end
return {0, 0, wait}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int  # hits still allowed in the window after this one
    retry_after: int  # whole seconds until a hit may be allowed again; 0 when allowed


class RedisRateLimiter:
    def __init__(self, redis_client: redis.Redis, prefix: str = "careledger:rl") -> None:
        self._redis = redis_client
        self._prefix = prefix
        self._hit = redis_client.register_script(_HIT)

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"

    def hit(self, key: str, limit: int, window_seconds: int, now: float | None = None) -> Decision:
        """Count one hit on `key`: allowed while fewer than `limit` hits fall in the last `window_seconds`.

        `now` (Unix seconds) is for tests; by default the Redis server's clock is used, so every
        app instance agrees on time.
        """
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        now_ms = "" if now is None else str(math.floor(now * 1000))
        member = uuid.uuid4().hex
        allowed, remaining, wait_ms = self._hit(
            keys=[self._key(key)], args=[max(limit, 0), window_seconds * 1000, member, now_ms]
        )
        if allowed:
            return Decision(allowed=True, remaining=int(remaining), retry_after=0)
        return Decision(allowed=False, remaining=0, retry_after=max(1, math.ceil(int(wait_ms) / 1000)))

    def reset(self, key: str) -> None:
        self._redis.delete(self._key(key))
