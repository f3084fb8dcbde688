"""The Redis sliding-window rate limiter, against a real Redis."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from adapters.rate_limit import Decision, RedisRateLimiter

T = 1_750_000_000.0  # an injected "now", in Unix seconds


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    prefix = f"careledger:test:rl:{uuid.uuid4().hex}"
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def limiter(client: redis.Redis, prefix: str) -> RedisRateLimiter:
    return RedisRateLimiter(client, prefix=prefix)


def test_allows_up_to_the_limit_then_blocks(limiter: RedisRateLimiter) -> None:
    decisions = [limiter.hit("login:ann", limit=3, window_seconds=60, now=T + i) for i in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert [d.retry_after for d in decisions[:3]] == [0, 0, 0]


def test_retry_after_counts_down_to_the_oldest_hit_leaving_the_window(limiter: RedisRateLimiter) -> None:
    limiter.hit("k", limit=2, window_seconds=60, now=T)
    limiter.hit("k", limit=2, window_seconds=60, now=T + 10)
    assert limiter.hit("k", limit=2, window_seconds=60, now=T + 15) == Decision(False, 0, 45)
    assert limiter.hit("k", limit=2, window_seconds=60, now=T + 59.5).retry_after == 1  # rounds up
    assert limiter.hit("k", limit=2, window_seconds=60, now=T + 59.999).retry_after == 1  # at least 1
    assert limiter.hit("k", limit=2, window_seconds=60, now=T + 60).allowed  # the first hit left
    assert limiter.hit("k", limit=2, window_seconds=60, now=T + 61) == Decision(False, 0, 9)


def test_the_window_slides(limiter: RedisRateLimiter) -> None:
    for i in range(3):
        assert limiter.hit("k", limit=3, window_seconds=10, now=T + i).allowed
    assert not limiter.hit("k", limit=3, window_seconds=10, now=T + 9).allowed
    assert limiter.hit("k", limit=3, window_seconds=10, now=T + 10) == Decision(True, 0, 0)  # T left
    assert limiter.hit("k", limit=3, window_seconds=10, now=T + 30) == Decision(True, 2, 0)  # all left


def test_refused_hits_are_not_counted(limiter: RedisRateLimiter) -> None:
    limiter.hit("k", limit=1, window_seconds=10, now=T)
    for i in range(1, 10):
        assert not limiter.hit("k", limit=1, window_seconds=10, now=T + i).allowed
    assert limiter.hit("k", limit=1, window_seconds=10, now=T + 10).allowed


def test_separate_keys_are_independent(limiter: RedisRateLimiter) -> None:
    assert limiter.hit("a", limit=1, window_seconds=60, now=T).allowed
    assert not limiter.hit("a", limit=1, window_seconds=60, now=T).allowed
    assert limiter.hit("b", limit=1, window_seconds=60, now=T).allowed


def test_reset_forgets_the_key(limiter: RedisRateLimiter) -> None:
    limiter.hit("k", limit=1, window_seconds=60, now=T)
    assert not limiter.hit("k", limit=1, window_seconds=60, now=T).allowed
    limiter.reset("k")
    assert limiter.hit("k", limit=1, window_seconds=60, now=T).allowed
    limiter.reset("never-hit")


def test_the_key_expires_with_the_window(limiter: RedisRateLimiter, client: redis.Redis, prefix: str) -> None:
    limiter.hit("k", limit=5, window_seconds=30)
    assert 0 < client.pttl(f"{prefix}:k") <= 30_000
    limiter.reset("k")
    assert client.exists(f"{prefix}:k") == 0


def test_server_time_is_used_by_default(limiter: RedisRateLimiter) -> None:
    assert [limiter.hit("k", limit=2, window_seconds=60).allowed for _ in range(3)] == [True, True, False]
    assert 58 <= limiter.hit("k", limit=2, window_seconds=60).retry_after <= 60


def test_a_zero_limit_always_refuses_and_bad_windows_are_errors(limiter: RedisRateLimiter) -> None:
    assert limiter.hit("k", limit=0, window_seconds=60, now=T) == Decision(False, 0, 60)
    with pytest.raises(ValueError, match="window_seconds"):
        limiter.hit("k", limit=1, window_seconds=0)


@pytest.mark.parametrize("now", [None, T])
def test_counting_is_exact_under_concurrency(limiter: RedisRateLimiter, now: float | None) -> None:
    start = threading.Barrier(20)
    decisions: list[Decision] = []
    lock = threading.Lock()

    def knock() -> None:
        start.wait()
        d = limiter.hit("hot", limit=5, window_seconds=60, now=now)
        with lock:
            decisions.append(d)

    threads = [threading.Thread(target=knock) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(decisions) == 20
    assert sum(d.allowed for d in decisions) == 5
    assert sorted(d.remaining for d in decisions if d.allowed) == [0, 1, 2, 3, 4]
    assert all(d.retry_after >= 1 for d in decisions if not d.allowed)
