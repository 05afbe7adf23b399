"""Cloud Logging's ``entries.write`` as google-api-python-client calls it from the bundled
Logging API v2 discovery document: ``POST /v2/entries:write`` with a
``WriteLogEntriesRequest`` (``logName``, ``resource``, ``entries``), answered with the
empty ``WriteLogEntriesResponse``.

Checked as the discovery document and the ``LogEntry`` reference say: ``entries`` is
required; every entry needs a ``logName`` (its own or the request's) of the form
``projects/PROJECT/logs/LOG_ID`` and a ``resource`` (its own or the request's); otherwise
400 INVALID_ARGUMENT in google.rpc.Status form. Not modelled: whether the project exists
and the caller may write to it (the sandbox takes any project; the README says so), quotas
and size limits. What was written is kept in ``SandboxState.ingested`` by log name.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp_errors import platform_error
from clamp.sandbox.state import SandboxState

LOG_NAME = re.compile(r"^projects/[^/]+/logs/[A-Za-z0-9_\-./%]{1,511}$")


class CloudLogging:
    """The ``entries.write`` handler over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def write(self, request: Request) -> Response:
        """Take the entries of one write."""
        try:
            body: Any = json.loads(await request.body())
        except ValueError:
            return platform_error(400, "Invalid JSON payload received.")
        entries = body.get("entries") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not entries:
            return platform_error(400, "entries: at least one log entry is required.")
        placed: list[tuple[str, dict[str, Any]]] = []
        for index, item in enumerate(entries):
            if not isinstance(item, dict):
                return platform_error(400, f"entries[{index}]: a LogEntry object is required.")
            name = item.get("logName") or body.get("logName")
            if not isinstance(name, str) or not LOG_NAME.match(name):
                return platform_error(
                    400, f"entries[{index}]: invalid or missing logName {name!r}."
                )
            if not (item.get("resource") or body.get("resource")):
                return platform_error(400, f"entries[{index}]: a monitored resource is required.")
            placed.append((name, {**item, "resource": item.get("resource") or body["resource"]}))
        with self.state.lock:
            for name, item in placed:
                self.state.ingested.setdefault(name, []).append({"logName": name, **item})
        return JSONResponse({})


def cloud_logging_routes(state: SandboxState) -> list[Route]:
    """The routes, to mount on the sandbox's Google listener."""
    return [Route("/v2/entries:write", CloudLogging(state).write, methods=["POST"])]
