"""Errors as ``application/problem+json`` (RFC 9457): Clamp's typed errors get the status
a client can act on, and nothing else ever shows a traceback."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from clamp.errors import (
    ActionError,
    AuditTampered,
    ClampError,
    CloudError,
    ConfigError,
    ConflictError,
    Forbidden,
    InputError,
    NotFoundError,
    PayloadTooLarge,
    RateLimited,
    TooManyAttempts,
    Unauthenticated,
)

PROBLEM = "application/problem+json"
log = logging.getLogger("clamp.service")

STATUS: tuple[tuple[type[ClampError], int], ...] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFoundError, 404),
    (PayloadTooLarge, 413),
    (TooManyAttempts, 429),
    (InputError, 400),
    (ConflictError, 409),
    (RateLimited, 503),
    (CloudError, 502),
    (ActionError, 409),
    (AuditTampered, 409),
    (ConfigError, 503),
)
"""Most specific first: an error's status is that of the first class it is an instance of."""


def status_of(exc: ClampError) -> int:
    """The HTTP status of a Clamp error."""
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": f"urn:clamp:problem:{_kebab(title)}", "title": title, "status": status}
    body |= {"detail": detail, **{k: v for k, v in extra.items() if v}}
    headers = {"WWW-Authenticate": 'Bearer realm="clamp"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ClampError)
    async def clamp_error(_request: Request, exc: ClampError) -> JSONResponse:
        return problem(status_of(exc), type(exc).__name__, exc.message, hint=exc.hint)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        ]
        return problem(422, "InvalidRequest", "; ".join(errors) or "the request is malformed")

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, "HTTPError", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc)
        return problem(500, "InternalError", "an unexpected error; the service log has details")
