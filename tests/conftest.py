"""Test fixtures: a real PostgreSQL (DATABASE_URL, else the embedded one) and Redis.

Each test session gets its own freshly created database on that server, migrated from zero.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from adapters.database import ensure_database, start_embedded, with_database

ROOT = Path(__file__).resolve().parent.parent
TEST_KEYS = {
    "CARELEDGER_MASTER_KEY": base64.b64encode(b"m" * 32).decode(),
    "CARELEDGER_AUDIT_SIGNING_KEY": base64.b64encode(b"s" * 32).decode(),
    "CARELEDGER_TOKEN_SECRET": base64.b64encode(b"t" * 32).decode(),
}


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return start_embedded(ROOT / "var" / "test")


@pytest.fixture(scope="session", autouse=True)
def _test_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(TEST_KEYS)
    os.environ["CARELEDGER_ENV"] = "test"
    # Limits tests exercise on purpose are set per test; the suite's own traffic must not trip them.
    os.environ["CARELEDGER_API_RATE_LIMIT_PER_MINUTE"] = "1000000"
    os.environ["CARELEDGER_LOGIN_ATTEMPTS_PER_WINDOW"] = "1000000"
    os.environ["CARELEDGER_REDIS_PREFIX"] = f"careledger-test-{uuid.uuid4().hex[:8]}"
    os.environ["CARELEDGER_DATA_DIR"] = str(tmp_path_factory.mktemp("var"))
    from adapters.settings import get_settings

    get_settings.cache_clear()
    yield
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


def fresh_database(prefix: str = "cl_test") -> str:
    """Create an empty, migrated database on the test server; returns its URL."""
    from adapters.database import migrate

    url = with_database(_server_url(), f"{prefix}_{uuid.uuid4().hex[:10]}")
    ensure_database(url)
    migrate(url)
    return url


def drop_database(url: str) -> None:
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def database_url(_test_environment: None) -> Iterator[str]:
    url = fresh_database()
    yield url
    drop_database(url)


@pytest.fixture
def isolated_database_url(_test_environment: None) -> Iterator[str]:
    """A database of the test's own, for tests that count or tamper with every row."""
    url = fresh_database("cl_iso")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as e:
        pytest.skip(f"no Redis reachable at {url}: {e}")
    return url


@pytest.fixture(scope="session")
def container(database_url: str) -> Iterator[object]:
    from interfaces.container import Container

    k = Container(database_url=database_url)
    yield k
    k.close()


@pytest.fixture
def isolated_container(isolated_database_url: str) -> Iterator[object]:
    from interfaces.container import Container

    k = Container(database_url=isolated_database_url)
    yield k
    k.close()
