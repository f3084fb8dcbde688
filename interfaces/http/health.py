from __future__ import annotations

from typing import Any

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.http.deps import ContainerDep

router = APIRouter(tags=["health"])


def _redis(client: redis.Redis) -> dict[str, Any]:
    """Sessions and rate limits live in Redis, so the API cannot serve signed-in calls without it."""
    try:
        client.ping()
    except redis.RedisError as e:
        return {"status": "down", "error": type(e).__name__}
    return {"status": "ok"}


@router.get("/health")
def health(k: ContainerDep) -> JSONResponse:
    """Database, Redis and projection lag. 503 when the database is unreachable."""
    checks: dict[str, Any] = {}
    try:
        with k.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        checks["database"] = {"status": "ok"}
    except Exception as e:  # health reports, never raises
        checks["database"] = {"status": "down", "error": type(e).__name__}
    checks["redis"] = _redis(k.redis)
    projections = {}
    if checks["database"]["status"] == "ok":
        for runner in k.runners:
            s = runner.status()
            projections[s.name] = {"position": s.position, "head": s.head, "lag": s.lag}
    checks["projections"] = projections
    live = k.live
    if live is not None:
        failing = live.error is not None
        checks["projection_runner"] = (
            {"status": "failing", "error": type(live.error).__name__} if failing else {"status": "ok"}
        )
    ok = (
        checks["database"]["status"] == "ok"
        and checks["redis"]["status"] != "down"
        and checks.get("projection_runner", {}).get("status") != "failing"
    )
    return JSONResponse({"status": "ok" if ok else "degraded", "checks": checks}, status_code=200 if ok else 503)
