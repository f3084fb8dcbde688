"""RFC 9457 problem+json for every error, with a stable `code`."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from domain.errors import DomainError
from interfaces.logging import get_logger

MEDIA_TYPE = "application/problem+json"
STATUS_BY_KIND = {
    "invalid": 422,
    "conflict": 409,
    "not_found": 404,
    "forbidden": 403,
    "unauthenticated": 401,
    "unavailable": 503,
    "rate_limited": 429,
}
SHOWN_DETAILS = frozenset({"field", "allowed", "missing", "locked_until", "retry_after", "conflicts"})
TITLES = {
    400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 415: "Unsupported media type",
    422: "Unprocessable content", 429: "Too many requests", 500: "Internal error",
}
log = get_logger("careledger.http")


def problem(
    request: Request, status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"https://careledger.dev/problems/{code.replace('_', '-')}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        status = STATUS_BY_KIND.get(exc.kind, 422)
        details = {k: v for k, v in exc.details.items() if k in SHOWN_DETAILS}
        headers = {"Retry-After": str(details["retry_after"])} if "retry_after" in details else None
        return problem(request, status, exc.code, exc.message, headers=headers, **details)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        json_invalid = any(e["type"] == "json_invalid" for e in errors)
        status, code = (400, "malformed_json") if json_invalid else (422, "validation_failed")
        return problem(request, status, code, "The request does not match the schema.", errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}.get(
            exc.status_code, "http_error"
        )
        return problem(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(IntegrityError)
    async def concurrent_change(request: Request, exc: IntegrityError) -> JSONResponse:
        return problem(
            request, 409, "concurrent_change", "Someone else changed this record; reload and retry."
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", path=request.url.path, exc_info=exc)
        return problem(request, 500, "internal_error", "Something went wrong on our side.")
