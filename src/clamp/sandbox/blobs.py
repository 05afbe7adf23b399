"""Azure Blob Storage, the reads flow-log ingestion makes, as ``azure-storage-blob`` 12
calls them on a path-style endpoint (``https://127.0.0.1:PORT/ACCOUNT``, the form the SDK
accepts for local emulators): List Blobs, Get Block List and Get Blob with a range.

Sources: the Blob service REST reference (learn.microsoft.com/rest/api/storageservices):
"List Blobs" (``GET /{container}?restype=container&comp=list``, ``prefix``, ``marker``,
``maxresults`` ≤ 5000, an ``EnumerationResults`` XML with ``Blobs/Blob/Name`` and
``Properties`` — ``Last-Modified``, ``Etag``, ``Content-Length``, ``BlobType`` — and a
``NextMarker``), "Get Block List" (``?comp=blocklist&blocklisttype=committed``, a
``BlockList`` XML with ``CommittedBlocks/Block/Name`` (base64) and ``Size``, headers
``ETag``, ``Last-Modified``, ``x-ms-blob-content-length``), "Get Blob Properties" (``HEAD``: the headers, ``x-ms-blob-type``, ``Content-Length``),
"Get Blob" (``x-ms-range`` or
``Range: bytes=a-b`` → 206 with ``Content-Range: bytes a-b/total``; a range starting past
the end → 416 ``InvalidRange``), "Specifying conditional headers for Blob service
operations" (``If-Match`` mismatch → 412 ``ConditionNotMet``; ``If-None-Match`` match on a
GET → 304) and "Blob service error codes" (404 ``ContainerNotFound`` / ``BlobNotFound``,
401 ``NoAuthenticationInformation``); errors are an ``Error`` XML with ``Code`` and
``Message`` and the ``x-ms-error-code`` header.

A request is for the blob service when it carries ``x-ms-version`` (every azure-storage
call does; no ARM SDK sends it); the sandbox's HTTPS listener serves both.
"""

from __future__ import annotations

import base64
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

VERSION = "2025-11-05"
MAX_RESULTS = 5000
ARM_ROOTS = frozenset({"subscriptions", "providers", "v1.0", "datacollectionrules", "_arm"})


@dataclass
class Blob:
    """A block blob: its committed blocks in order, etag and modification time."""

    blocks: list[tuple[str, bytes]] = field(default_factory=list)
    etag: str = ""
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def content(self) -> bytes:
        """The blob's bytes (its committed blocks in order)."""
        return b"".join(data for _, data in self.blocks)


class BlobStore:
    """Storage accounts' containers and block blobs, kept in memory."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accounts: dict[str, dict[str, dict[str, Blob]]] = {}

    def commit(
        self, account: str, container: str, name: str, blocks: list[tuple[str, bytes]]
    ) -> Blob:
        """Put Block List: ``blocks`` become the blob's committed blocks (a new etag)."""
        with self.lock:
            blobs = self.accounts.setdefault(account, {}).setdefault(container, {})
            blob = blobs.setdefault(name, Blob())
            blob.blocks = list(blocks)
            blob.etag = f'"0x{uuid.uuid4().hex[:15].upper()}"'
            blob.modified = datetime.now(UTC)
            return blob

    def get(self, account: str, container: str, name: str) -> Blob | None:
        """One blob, or None."""
        with self.lock:
            return self.accounts.get(account, {}).get(container, {}).get(name)

    # -- the REST side --------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """Serve one blob-service request."""
        parts = request.url.path.strip("/").split("/", 2)
        if not request.headers.get("authorization"):
            return _error(
                401, "NoAuthenticationInformation", "Server failed to authenticate the request."
            )
        if request.method not in ("GET", "HEAD") or len(parts) < 2:
            return _error(
                400,
                "UnsupportedHttpVerb",
                "The sandbox serves only the reads flow-log ingestion makes.",
            )
        account, container = parts[0], parts[1]
        query = request.query_params
        with self.lock:
            blobs = self.accounts.get(account, {}).get(container)
            if blobs is None:
                return _error(404, "ContainerNotFound", "The specified container does not exist.")
            if len(parts) == 2:
                if query.get("restype") == "container" and query.get("comp") == "list":
                    return self._list(container, blobs, request)
                return _error(400, "InvalidQueryParameterValue", "Unsupported container operation.")
            blob = blobs.get(parts[2])
            if blob is None:
                return _error(404, "BlobNotFound", "The specified blob does not exist.")
            blocks, etag, modified = list(blob.blocks), blob.etag, blob.modified
        headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
        if (match := request.headers.get("if-match")) and match not in ("*", etag):
            return _error(
                412,
                "ConditionNotMet",
                "The condition specified using HTTP conditional header(s) is not met.",
            )
        if request.headers.get("if-none-match") in ("*", etag):
            return Response(status_code=304, headers=_common(headers))
        if request.method == "HEAD":  # Get Blob Properties
            size = str(sum(len(d) for _, d in blocks))
            props = {**headers, "x-ms-blob-type": "BlockBlob", "Content-Length": size}
            return Response(status_code=200, headers=_common(props), media_type="application/json")
        if query.get("comp") == "blocklist":
            return self._block_list(blocks, headers, query.get("blocklisttype", "committed"))
        if query.get("comp"):
            return _error(400, "InvalidQueryParameterValue", "Unsupported blob operation.")
        return _ranged(b"".join(d for _, d in blocks), headers, request)

    def _list(self, container: str, blobs: dict[str, Blob], request: Request) -> Response:
        query = request.query_params
        prefix, marker = query.get("prefix", ""), query.get("marker", "")
        try:
            limit = min(int(query.get("maxresults", MAX_RESULTS)), MAX_RESULTS)
        except ValueError:
            return _error(400, "InvalidQueryParameterValue", "maxresults is not a number.")
        names = sorted(n for n in blobs if n.startswith(prefix) and n >= marker)
        page, rest = names[:limit], names[limit:]
        items = "".join(
            f"<Blob><Name>{escape(name)}</Name><Properties><Creation-Time>{format_datetime(blobs[name].created, usegmt=True)}</Creation-Time>"
            f"<Last-Modified>{format_datetime(blobs[name].modified, usegmt=True)}</Last-Modified><Etag>{escape(blobs[name].etag)}</Etag><Content-Length>{sum(len(d) for _, d in blobs[name].blocks)}</Content-Length>"
            "<Content-Type>application/json</Content-Type><BlobType>BlockBlob</BlobType>"
            "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
            "</Properties></Blob>"
            for name in page
        )
        base = str(request.base_url)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ServiceEndpoint="{escape(base)}" ContainerName="{escape(container)}">'
            f"<Prefix>{escape(prefix)}</Prefix><Marker>{escape(marker)}</Marker>"
            f"<MaxResults>{limit}</MaxResults><Blobs>{items}</Blobs>"
            f"<NextMarker>{escape(rest[0]) if rest else ''}</NextMarker></EnumerationResults>"
        )
        return _xml(200, body, {})

    @staticmethod
    def _block_list(
        blocks: list[tuple[str, bytes]], headers: dict[str, str], kind: str
    ) -> Response:
        committed = (
            ""
            if kind == "uncommitted"
            else "".join(
                f"<Block><Name>{base64.b64encode(i.encode()).decode()}</Name><Size>{len(d)}</Size></Block>"
                for i, d in blocks
            )
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><BlockList>'
            f"<CommittedBlocks>{committed}</CommittedBlocks><UncommittedBlocks /></BlockList>"
        )
        size = str(sum(len(d) for _, d in blocks))
        return _xml(200, body, {**headers, "x-ms-blob-content-length": size})


def _common(headers: dict[str, str]) -> dict[str, str]:
    return {
        **headers,
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-version": VERSION,
        "Date": format_datetime(datetime.now(UTC), usegmt=True),
    }


def _xml(status: int, body: str, headers: dict[str, str]) -> Response:
    return Response(
        body, status_code=status, media_type="application/xml", headers=_common(headers)
    )


def _error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    )
    return _xml(status, body, {"x-ms-error-code": code})


def _ranged(content: bytes, headers: dict[str, str], request: Request) -> Response:
    """Get Blob: the whole blob (200) or the range asked for (206)."""
    headers = {**headers, "x-ms-blob-type": "BlockBlob", "Accept-Ranges": "bytes"}
    wanted = request.headers.get("x-ms-range") or request.headers.get("range")
    if not wanted:
        return Response(content, 200, headers=_common(headers), media_type="application/json")
    try:
        start_text, _, end_text = wanted.removeprefix("bytes=").partition("-")
        start = int(start_text)
        end = int(end_text) if end_text else len(content) - 1
    except ValueError:
        return _error(400, "InvalidHeaderValue", f"The range {wanted!r} is not valid.")
    if start >= len(content) or start > end:
        return _error(
            416,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
        )
    end = min(end, len(content) - 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
    part = content[start : end + 1]
    return Response(part, 206, headers=_common(headers), media_type="application/json")


class BlobRouter:
    """Sends blob-service requests (``x-ms-version``) to the blob store, the rest on."""

    def __init__(self, app: ASGIApp, blobs: BlobStore) -> None:
        self.app = app
        self.blobs = blobs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            root = str(scope.get("path", "")).strip("/").split("/", 1)[0].lower()
            if b"x-ms-version" in headers and root not in ARM_ROOTS:
                response = await self.blobs.handle(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
