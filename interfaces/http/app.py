"""The FastAPI application: routers, problem+json, request ids, access logs."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.audit_chain import seal_periodically
from interfaces.container import Container
from interfaces.http import (
    access_alerts,
    appointments,
    audit,
    auth,
    calendars,
    clients,
    consents,
    dev,
    health,
    members,
    practice,
    problems,
    schedules,
    slots,
    staff,
)
from interfaces.http import calendar as calendar_routes
from interfaces.http import card_payments as card_payment_routes
from interfaces.http import charges as charge_routes
from interfaces.http import compliance as compliance_routes
from interfaces.http import dashboards as dashboard_routes
from interfaces.http import fee_schedule as fee_schedule_routes
from interfaces.http import front_desk as front_desk_routes
from interfaces.http import invoices as invoice_routes
from interfaces.http import metrics as metrics_routes
from interfaces.http import note_templates as note_template_routes
from interfaces.http import notes as note_routes
from interfaces.http import payments as payment_routes
from interfaces.http import remittances as remittance_routes
from interfaces.http import reports as report_routes
from interfaces.http import risk_flags as risk_flag_routes
from interfaces.http import supervision as supervision_routes
from interfaces.http import waitlist as waitlist_routes
from interfaces.http import webhooks as webhook_routes
from interfaces.http.deps import route_policy
from interfaces.logging import get_logger
from interfaces.sweeps import sweep_periodically

REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")
log = get_logger("careledger.http")


class RequestContextMiddleware:
    """Request id (taken from X-Request-ID when sane), echoed back, bound to logs; access log.

    Pure ASGI rather than `@app.middleware("http")`, which costs a task and a stream per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=calendar_routes.redact_path(scope["path"]),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")


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
            threading.Thread(
                target=sweep_periodically, args=(container, sealer_stop), name="hipaa-sweep", daemon=True
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

    app.add_middleware(RequestContextMiddleware)
    for module in (
        health, auth, members, staff, practice, clients, consents, audit, access_alerts, appointments, slots,
        schedules, calendars, dev,
    ):
        app.include_router(module.router)
    app.include_router(calendar_routes.router)
    app.include_router(waitlist_routes.router)
    app.include_router(front_desk_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(risk_flag_routes.router)
    app.include_router(supervision_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(compliance_routes.router)
    app.include_router(dashboard_routes.router)
    app.include_router(note_routes.router)
    app.include_router(note_template_routes.router)
    app.include_router(fee_schedule_routes.router)
    app.include_router(charge_routes.router)
    app.include_router(payment_routes.router)
    app.include_router(invoice_routes.router)
    app.include_router(card_payment_routes.router)
    app.include_router(remittance_routes.router)
    app.include_router(report_routes.router)
    check_access_policies(app)
    return app


def check_access_policies(app: FastAPI) -> None:
    """Refuses an app with an `/api/` route that declares neither `Authorize(...)` nor `Public`."""
    undeclared = [
        f"{sorted(c.methods or ())} {c.path}" for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute) and (c.path or "").startswith("/api/")
        and route_policy(c.original_route) is None
    ]
    if undeclared:
        raise RuntimeError(f"Routes without an access policy (Authorize or Public): {undeclared}")
