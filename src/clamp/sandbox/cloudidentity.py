"""Cloud Identity Policy API (v1 ``policies.list``) and Resource Manager v3
``organizations.get`` in the sandbox.

The estate is ``state.cloudidentity[<customer id>]``: ``{"organization":
"organizations/N", "policies": [<Policy objects as the API returns them>]}``. An
organization named there reports that customer as its ``directoryCustomerId``, which is
how Clamp finds the customer of the projects it scans.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp_errors import platform_error
from clamp.sandbox.gcp_listing import one_page
from clamp.sandbox.state import Json, SandboxState

CUSTOMER = re.compile(r"customer\s*==\s*['\"]customers/([^'\"]+)['\"]")
MATCHES = re.compile(r"setting\.type\.matches\(\s*['\"]([^'\"]+)['\"]\s*\)")


class CloudIdentityApi:
    """Handlers over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def policies(self, request: Request) -> Response:
        """``GET /v1/policies?filter=customer == "customers/C" && setting.type.matches(...)``."""
        text = request.query_params.get("filter", "")
        customer = CUSTOMER.search(text)
        kind = MATCHES.search(text)
        with self.state.lock:
            items: list[Json] = [
                p
                for cid, directory in self.state.cloudidentity.items()
                if customer is None or customer.group(1) in (cid, "my_customer")
                for p in directory.get("policies") or []
            ]
        if kind is not None:
            pattern = re.compile(kind.group(1).replace("\\\\", "\\"))
            items = [p for p in items if pattern.search(str((p.get("setting") or {}).get("type")))]
        page, following = one_page(request, items, size_param="pageSize")
        body: Json = {"policies": page}
        if following:
            body["nextPageToken"] = following
        return JSONResponse(body)

    async def organization(self, request: Request) -> Response:
        """``GET /v3/organizations/{id}``."""
        name = f"organizations/{request.path_params['org']}"
        with self.state.lock:
            for customer, directory in self.state.cloudidentity.items():
                if directory.get("organization") == name:
                    return JSONResponse(
                        {
                            "name": name,
                            "displayName": "sandbox.example",
                            "directoryCustomerId": customer,
                            "state": "ACTIVE",
                        }
                    )
        return platform_error(403, f"The caller does not have permission on {name}")


def cloudidentity_routes(state: SandboxState) -> list[Route]:
    """The routes, to mount on the sandbox's Google listener."""
    api = CloudIdentityApi(state)
    return [
        Route("/v1/policies", api.policies, methods=["GET"]),
        Route("/v3/organizations/{org}", api.organization, methods=["GET"]),
    ]
