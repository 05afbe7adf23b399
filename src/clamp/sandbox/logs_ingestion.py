"""Azure Monitor's Logs Ingestion API, as ``azure-monitor-ingestion`` 1.1 calls it:
``POST /dataCollectionRules/{ruleId}/streams/{stream}?api-version=2023-01-01`` on the data
collection endpoint, a JSON array of records (gzip-compressed, ``Content-Encoding: gzip``)
and a bearer token for ``https://monitor.azure.com/.default``.

Sources: the REST spec (specification/monitor/data-plane/ingestion, 2023-01-01) as the
client's generated code carries it — 204 No Content on success, an ``ErrorResponse``
(``{"error": {"code", "message"}}``) otherwise, 401 mapped to an authentication error —
and the client's own limit of 1 MiB per request (``MAX_CHUNK_SIZE_BYTES``), which the
service refuses with 413. The sandbox accepts any DCR immutable id of the documented
``dcr-`` + 32 hex form and any ``Custom-`` / ``Microsoft-`` stream; it does not check the
records against a stream declaration (a real DCR does; the README says so). What it took
is kept in ``SandboxState.ingested`` under ``"{ruleId}/{stream}"``.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.state import SandboxState

PATH = "/dataCollectionRules/{rule}/streams/{stream}"
API_VERSION = "2023-01-01"
MAX_BODY = 1024 * 1024
RULE_ID = re.compile(r"^dcr-[0-9a-f]{32}$")
STREAM = re.compile(r"^(Custom|Microsoft)-[A-Za-z0-9_]+$")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class LogsIngestion:
    """The upload handler over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def upload(self, request: Request) -> Response:
        """Take one upload of records into a DCR stream."""
        rule, stream = request.path_params["rule"], request.path_params["stream"]
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _error(401, "InvalidToken", "A bearer token is required.")
        if request.query_params.get("api-version") != API_VERSION:
            return _error(400, "InvalidApiVersion", f"Use api-version={API_VERSION}.")
        if not RULE_ID.match(rule):
            return _error(404, "NotFound", f"Data collection rule {rule} was not found.")
        if not STREAM.match(stream):
            return _error(404, "InvalidStream", f"Stream {stream} is not declared in {rule}.")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "ContentLengthLimitExceeded", "The request is larger than 1 MB.")
        records = _records(body, request.headers.get("content-encoding", ""))
        if records is None:
            return _error(400, "InvalidContent", "The body must be a JSON array of objects.")
        with self.state.lock:
            self.state.ingested.setdefault(f"{rule}/{stream}", []).extend(records)
        return Response(status_code=204)


def _records(body: bytes, encoding: str) -> list[dict[str, object]] | None:
    try:
        raw = gzip.decompress(body) if encoding.lower() == "gzip" else body
        data = json.loads(raw)
    except (OSError, EOFError, zlib.error, ValueError):
        return None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        return None
    return data


def logs_ingestion_route(state: SandboxState) -> Route:
    """The route the Azure side of the sandbox serves the upload on."""
    return Route(PATH, LogsIngestion(state).upload, methods=["POST"])
