"""Azure Resource Graph on the sandbox: ``POST /providers/Microsoft.ResourceGraph/resources``.

Serves the query shapes Clamp sends (``clamp.providers.azure.resource_graph.query_text``):
``<table> | where type in~ ('a', 'b') | order by id asc`` (or ``where type =~ 'a'``) over
the ``resources`` and ``authorizationresources`` tables. Anything else gets the answer the
real service gives an invalid query: 400 ``BadRequest`` with ``InvalidQuery`` and
``ParserFailure`` details (the ``ErrorResponse``/``ErrorDetails`` models of
resourcegraph.json 2021-03-01; codes and messages as users report them, e.g.
scautomation/AzureResourceGraph-Examples#2, microsoft/ARI#255).

Answers follow the ``QueryResponse`` model (``totalRecords``, ``count``,
``resultTruncated``, ``$skipToken`` while rows remain, ``facets``, ``data`` as an object
array; ResourcesBasicQuery.json), 100 rows unless ``$top`` says otherwise (at most 1,000),
and carry the quota headers of "Guidance for throttled requests in Azure Resource Graph":
``x-ms-user-quota-remaining`` and ``x-ms-user-quota-resets-after`` (hh:mm:ss), 15 queries
per 5-second window unless the scenario's ``resource_graph`` says otherwise; past the quota,
429 ``RateLimiting``. A scenario with ``resource_graph: {denied: true}`` gets ARM's 403
``AuthorizationFailed`` for ``Microsoft.ResourceGraph/resources/read``.

A row is the resource as its GET returns it, with the type lower-cased and Resource Graph's
own columns (tenantId, resourceGroup, subscriptionId, managedBy, plan); a VM's power state
is ``properties.extended.instanceView.powerState`` instead of an instance view.
"""

from __future__ import annotations

import base64
import hashlib
import json
import operator
import re
import time
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clamp.sandbox.arm import VM_TYPE, Json, type_of, with_arm_defaults
from clamp.sandbox.arm_authorization import ROLE_ASSIGNMENT, ROLE_DEFINITION
from clamp.sandbox.state import SandboxState

PATH = "/providers/Microsoft.ResourceGraph/resources"
TENANT = "00000000-0000-4000-8000-0000000000aa"
AUTHORIZATION = frozenset({ROLE_ASSIGNMENT, ROLE_DEFINITION})
DEFAULT_TOP, MAX_TOP = 100, 1000
KEPT_QUERIES = 16
"""Queries whose selected rows are kept between their pages."""
Row = tuple[str, str, Json]
"""An id, its subscription and the object."""
QUERY = re.compile(
    r"^\s*(?P<table>resources|authorizationresources)\s*\|\s*where\s+type\s+"
    r"(?:in~\s*\((?P<many>\s*'[^']*'(?:\s*,\s*'[^']*')*\s*)\)|=~\s*'(?P<one>[^']*)')"
    r"\s*\|\s*order\s+by\s+id(?:\s+asc)?\s*$",
    re.IGNORECASE,
)


def _support() -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())
    return (
        "Please provide below info when asking for support: "
        f"timestamp = {stamp}, correlationId = {uuid.uuid4()}."
    )


def invalid_query(detail: str, headers: dict[str, str]) -> JSONResponse:
    """Resource Graph's 400 for a query it cannot run."""
    body = {
        "error": {
            "code": "BadRequest",
            "message": _support(),
            "details": [
                {
                    "code": "InvalidQuery",
                    "message": "Query is invalid. Please refer to the documentation for the "
                    "Azure Resource Graph service and fix the error before retrying.",
                },
                {"code": "ParserFailure", "message": detail},
            ],
        }
    }
    return JSONResponse(body, status_code=400, headers=headers)


def row_of(obj: Json, subscription: str) -> Json:
    """A resource as a Resource Graph row: a shallow copy (the answer is rendered while the
    state's lock is held, and nothing below ``properties`` is changed)."""
    row = dict(with_arm_defaults(obj))
    arm_id = str(row.get("id", ""))
    parts = arm_id.split("/")
    group = parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else ""
    row.pop("etag", None)
    row.update(
        {
            "type": type_of(row),
            "tenantId": TENANT,
            "resourceGroup": group.lower(),
            "subscriptionId": subscription,
            "managedBy": row.get("managedBy", ""),
            "plan": row.get("plan"),
            "tags": row.get("tags") or {},
            "properties": dict(row.get("properties") or {}),
        }
    )
    if row["type"] == VM_TYPE.lower():
        props = row["properties"]
        statuses = (props.pop("instanceView", None) or {}).get("statuses") or []
        power = next(
            (s for s in statuses if str(s.get("code", "")).startswith("PowerState/")), None
        )
        if power is not None:
            props["extended"] = {"instanceView": {"powerState": dict(power)}}
    return row


class ResourceGraphApi:
    """The query endpoint over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.window_start = time.monotonic()
        self.used = 0
        self._matches: dict[tuple[str, frozenset[str], tuple[str, ...]], Matches] = {}

    def _quota(self) -> tuple[bool, dict[str, str]]:
        """Whether this query is within the quota, and the headers that say what is left."""
        settings = self.state.resource_graph
        quota = int(settings.get("quota", 15))
        window = float(settings.get("window_seconds", 5))
        now = time.monotonic()
        if now - self.window_start >= window:
            self.window_start, self.used = now, 0
        allowed = self.used < quota
        self.used += 1 if allowed else 0
        left = max(0.0, window - (now - self.window_start))
        resets = time.strftime("%H:%M:%S", time.gmtime(int(left + 0.999)))
        return allowed, {
            "x-ms-user-quota-remaining": str(max(quota - self.used, 0)),
            "x-ms-user-quota-resets-after": resets,
        }

    async def query(self, request: Request) -> Response:
        """``POST /providers/Microsoft.ResourceGraph/resources``."""
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        with self.state.lock:
            if self.state.resource_graph.get("denied"):
                return _denied()
            allowed, headers = self._quota()
            if not allowed:
                return JSONResponse(
                    {"error": {"code": "RateLimiting", "message": _support()}},
                    status_code=429,
                    headers=headers,
                )
            if not isinstance(body, dict) or not isinstance(body.get("query"), str):
                return invalid_query("the request body has no query", headers)
            return self._answer(body, headers)

    def _answer(self, body: Json, headers: dict[str, str]) -> Response:
        match = QUERY.match(body["query"])
        if match is None:
            return invalid_query(f"the sandbox cannot run: {body['query']}", headers)
        options = body.get("options") or {}
        if str(options.get("resultFormat", "objectArray")) != "objectArray":
            return invalid_query("the sandbox serves resultFormat objectArray only", headers)
        table = match["table"].lower()
        types = {
            t.strip().strip("'").lower() for t in (match["many"] or f"'{match['one']}'").split(",")
        }
        # No subscriptions named: every one the caller can see (all, on the sandbox).
        wanted = [str(s).lower() for s in body.get("subscriptions") or self.state.azure]
        found = self._matching(table, frozenset(types), wanted)
        digest = hashlib.sha256(json.dumps([body["query"], wanted]).encode()).hexdigest()[:16]
        start = int(options.get("$skip") or 0)
        if token := options.get("$skipToken"):
            start = _offset(str(token), digest)
            if start < 0:
                return invalid_query("the $skipToken is not one this query gave", headers)
        top = min(int(options.get("$top") or DEFAULT_TOP), MAX_TOP)
        page = [row_of(obj, subscription) for _, subscription, obj in found[start : start + top]]
        rows = found
        answer: Json = {
            "totalRecords": len(rows),
            "count": len(page),
            "resultTruncated": "false",
            "facets": [],
            "data": page,
        }
        if start + top < len(rows):
            answer["$skipToken"] = _token(start + top, digest)
        # Rendered with orjson: a 1,000-row page is ~2.5 MB, and the state's lock (and the
        # event loop, which serves every other call) is held while it is rendered.
        return Response(orjson.dumps(answer), media_type="application/json", headers=headers)

    def _matching(self, table: str, types: frozenset[str], wanted: list[str]) -> list[Row]:
        """The objects a query selects, ordered by id. Each page of a query asks again, so
        the answer is kept while the subscriptions hold the same objects (a write changes
        an object in place, keeping its id and type; a create or a delete changes the
        list), for the last few queries."""
        named = set(wanted)
        scopes = [
            (subscription, objects)
            for subscription, objects in self.state.azure.items()
            if subscription.lower() in named
        ]
        key = (table, types, tuple(wanted))
        kept = self._matches.get(key)
        if kept is not None and kept.holds(scopes):
            return kept.rows
        rows = sorted(
            (
                (str(obj.get("id", "")), subscription, obj)
                for subscription, objects in scopes
                for obj in objects
                if type_of(obj) in types
                and (type_of(obj) in AUTHORIZATION) == (table != "resources")
            ),
            key=lambda item: item[0],
        )
        if len(self._matches) >= KEPT_QUERIES:
            self._matches.pop(next(iter(self._matches)))
        self._matches[key] = Matches([(s, list(objects)) for s, objects in scopes], rows)
        return rows


class Matches:
    """A query's selected rows and the subscriptions' objects they were selected from."""

    def __init__(self, scopes: list[tuple[str, list[Json]]], rows: list[Row]) -> None:
        self.scopes, self.rows = scopes, rows

    def holds(self, scopes: list[tuple[str, list[Json]]]) -> bool:
        """Whether ``scopes`` are the same subscriptions holding the same objects (by
        identity: the copies kept here keep them alive, so an id is never reused)."""
        return len(scopes) == len(self.scopes) and all(
            name == kept_name
            and len(objects) == len(kept)
            and all(map(operator.is_, objects, kept))
            for (name, objects), (kept_name, kept) in zip(scopes, self.scopes, strict=True)
        )


def _token(offset: int, digest: str) -> str:
    return base64.b64encode(json.dumps({"o": offset, "q": digest}).encode()).decode()


def _offset(token: str, digest: str) -> int:
    """The row a ``$skipToken`` resumes at, or -1 for a token of another query."""
    try:
        data: Any = json.loads(base64.b64decode(token))
    except ValueError:
        return -1
    if not isinstance(data, dict) or data.get("q") != digest or not isinstance(data.get("o"), int):
        return -1
    return int(data["o"])


def _denied() -> JSONResponse:
    """ARM's 403 for a principal without ``Microsoft.ResourceGraph/resources/read``."""
    return JSONResponse(
        {
            "error": {
                "code": "AuthorizationFailed",
                "message": "The client does not have authorization to perform action "
                "'Microsoft.ResourceGraph/resources/read' over scope '/' or the scope is "
                "invalid.",
            }
        },
        status_code=403,
    )
