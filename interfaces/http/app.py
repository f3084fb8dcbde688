"""The FastAPI application: routers, problem+json, request ids, access logs."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response

from adapters.audit_chain import seal_periodically
from interfaces.container import Container
from interfaces.http import audit, clients, health, problems, staff
from interfaces.logging import get_logger

REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")
log = get_logger("careledger.http")


def create_app(container: Container, *, background: bool = False) -> FastAPI:
    """`background=True` also runs the live projections (and sealer) in this process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        live = container.live_projections() if background else None
        sealer_stop = threading.Event()
        if live is not None:
            live.start()
            container.live = live
            threading.Thread(
                target=seal_periodically,
                args=(container.audit_chain, sealer_stop),
                name="audit-sealer",
                daemon=True,
            ).start()
        try:
            yield
        finally:
            sealer_stop.set()
            if live is not None:
                live.stop()

    app = FastAPI(
        title="CareLedger",
        version="0.1.0",
        description="Event-sourced back end for care practices. Errors are RFC 9457 problem+json.",
        lifespan=lifespan,
    )
    app.state.container = container
    problems.install(app)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.state.request_id = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        response.headers["X-Request-ID"] = request_id
        log.info(
            "request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 2),
            request_id=request_id,
        )
        return response

    for module in (health, clients, staff, audit):
        app.include_router(module.router)
    return app
