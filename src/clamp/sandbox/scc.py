"""Security Command Center v1 ``findings.list`` in the sandbox, the way
google-cloud-securitycenter's REST transport calls it:
``GET /v1/organizations/{org}/sources/{source}/findings`` (``source`` ``-`` = every
source), paged with ``pageSize``/``pageToken``, answering ``ListFindingsResponse``
(``listFindingsResults``: ``{finding, resource}``, ``readTime``, ``totalSize``). Shapes
from the securitycenter v1 discovery document shipped in google-api-python-client.

The estate keeps findings with the projects they are about: objects of
``state.gcp[<project>]`` with the sandbox's own tag ``"kind": "securitycenter#finding"``
(SCC findings carry no ``kind``; the tag is dropped from answers), each with a ``finding``
(``name`` ``organizations/O/sources/S/findings/F``, ``parent``, ``resourceName``,
``category``, ``state``, ``severity``, ...) and the ``resource`` SCC lists with it.

Of SCC's filter language the sandbox understands the conjunction of ``state="…"`` and
``category="…"`` terms (what Clamp sends); any other filter is refused with 400
INVALID_ARGUMENT, rather than answered wrongly.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp_errors import platform_error
from clamp.sandbox.gcp_listing import one_page
from clamp.sandbox.state import Json, SandboxState

KIND = "securitycenter#finding"
TERM = re.compile(r'^\s*(state|category)\s*=\s*"([^"]*)"\s*$')


def _terms(text: str) -> dict[str, str] | None:
    """``state="ACTIVE" AND category="OPEN_SSH_PORT"`` as a dict; None if not understood."""
    if not text.strip():
        return {}
    terms: dict[str, str] = {}
    for part in re.split(r"\s+AND\s+", text.strip()):
        match = TERM.match(part)
        if match is None:
            return None
        terms[match.group(1)] = match.group(2)
    return terms


class SccApi:
    """Handlers over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def findings(self, request: Request) -> Response:
        """``GET /v1/organizations/{org}/sources/{source}/findings``."""
        org, source = request.path_params["org"], request.path_params["source"]
        terms = _terms(request.query_params.get("filter", ""))
        if terms is None:
            return platform_error(400, "Invalid filter: the sandbox supports state and category")
        prefix = f"organizations/{org}/sources/" + ("" if source == "-" else f"{source}/")
        with self.state.lock:
            results: list[Json] = [
                {"finding": copy.deepcopy(o["finding"]), "resource": copy.deepcopy(o["resource"])}
                for objects in self.state.gcp.values()
                for o in objects
                if o.get("kind") == KIND and str(o["finding"].get("name", "")).startswith(prefix)
            ]
        results = [r for r in results if all(r["finding"].get(k) == v for k, v in terms.items())]
        page, following = one_page(request, results, size_param="pageSize")
        body: Json = {
            "listFindingsResults": page,
            "readTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "totalSize": len(results),
        }
        if following:
            body["nextPageToken"] = following
        return JSONResponse(body)


def scc_routes(state: SandboxState) -> list[Route]:
    """The routes, to mount on the sandbox's Google listener."""
    api = SccApi(state)
    return [
        Route("/v1/organizations/{org}/sources/{source}/findings", api.findings, methods=["GET"])
    ]
