"""The one hook where the sandbox sees the writes it serves: ASGI middleware that, after
a cloud API answered a write (PUT, PATCH, DELETE or a POST) with a success, hands what
was asked and answered to the cloud's event source (``clamp.sandbox.eventgrid`` for ARM,
``clamp.sandbox.audit_logs`` for Compute and Cloud Storage).

Reads, failed writes and the sandbox's own control routes (``/_sandbox``, ``/oidc``)
produce nothing, as the clouds report only successful writes (Event Grid's ``…Success``
event types, Admin Activity audit entries with an OK status). Injected faults answer
before this hook, so a write a fault refused emits nothing either.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITES = frozenset({"PUT", "PATCH", "DELETE", "POST"})
QUIET = ("/_sandbox", "/oidc", "/_arm/operations")


@dataclass(frozen=True, slots=True)
class ServedWrite:
    """A write the sandbox answered with a success."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    """The request's headers, lower-cased names."""
    body: bytes
    """The response's body (Compute's operation names the resource a POST created)."""
    request: bytes = b""
    """The request's body."""

    def answer(self) -> dict[str, Any]:
        """The response body as a JSON object ({} when it is none)."""
        return _object(self.body)

    def body_json(self) -> dict[str, Any]:
        """The request body as a JSON object ({} when it is none)."""
        return _object(self.request)

    def caller_claims(self) -> dict[str, Any]:
        """The claims of the request's bearer token when it is a JWT (read, not verified:
        the sandbox checks no credentials); {} otherwise."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        parts = token.split(".")
        if scheme.lower() != "bearer" or len(parts) != 3:
            return {}
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            return {}
        return claims if isinstance(claims, dict) else {}


def _object(content: bytes) -> dict[str, Any]:
    try:
        data = json.loads(content or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class WriteHook:
    """Middleware calling ``seen`` with every successful write of the app it wraps."""

    def __init__(self, app: ASGIApp, seen: Callable[[ServedWrite], None]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] not in WRITES or path.startswith(QUIET):
            await self.app(scope, receive, send)
            return
        status = 0
        chunks: list[bytes] = []
        asked: list[bytes] = []

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                asked.append(message.get("body", b""))
            return message

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, reading, watching)
        if 200 <= status < 300:
            headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
            served = ServedWrite(
                scope["method"], path, status, headers, b"".join(chunks), b"".join(asked)
            )
            self.seen(served)
