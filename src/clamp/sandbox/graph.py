"""Microsoft Graph (v1.0) in the sandbox: the tenant's organization, domains, directory
settings (Password Rule Settings), security defaults and Conditional Access policies.

Served on the HTTPS listener under ``/v1.0`` (Graph, like ARM, needs a bearer token over
HTTPS). The estate is ``state.entra[<tenant id>]``:
``{"organization": {...}, "domains": [...], "groupSettings": [...],
"securityDefaults": {...}, "conditionalAccessPolicies": [...]}``, each object as Graph
returns it; the sandbox serves the first tenant (Graph has no tenant in its paths).
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.state import Json, SandboxState

DOMAIN_FIELDS = frozenset({"passwordValidityPeriodInDays", "passwordNotificationWindowInDays"})
MAX_VALIDITY = 730


def graph_error(status: int, code: str, message: str) -> JSONResponse:
    """A Graph error body."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class GraphApi:
    """Handlers over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def _tenant(self) -> Json | None:
        return next(iter(self.state.entra.values()), None)

    @staticmethod
    def _collection(items: list[Json]) -> JSONResponse:
        return JSONResponse({"value": items})

    async def organization(self, _request: Request) -> Response:
        """``GET /organization``."""
        with self.state.lock:
            tenant = self._tenant()
            return self._collection([tenant["organization"]] if tenant else [])

    async def domains(self, request: Request) -> Response:
        """``GET /domains``, ``GET`` and ``PATCH /domains/{id}``."""
        name = request.path_params.get("name")
        body: Json = await request.json() if request.method == "PATCH" else {}
        with self.state.lock:
            tenant = self._tenant() or {}
            domains: list[Json] = tenant.setdefault("domains", [])
            if name is None:
                return self._collection(domains)
            domain = next((d for d in domains if str(d.get("id")).lower() == name.lower()), None)
            if domain is None:
                return graph_error(404, "Request_ResourceNotFound", f"Domain {name} not found.")
            if request.method == "GET":
                return JSONResponse(domain)
            unknown = set(body) - DOMAIN_FIELDS - {"@odata.type"}
            if unknown:
                return graph_error(400, "Request_BadRequest", f"cannot update {sorted(unknown)}")
            if domain.get("authenticationType") == "Federated":
                return graph_error(
                    400,
                    "Request_BadRequest",
                    "Password policies of a federated domain are set by its identity provider.",
                )
            validity = body.get("passwordValidityPeriodInDays")
            if validity is not None and not (
                1 <= int(validity) <= MAX_VALIDITY or int(validity) == 2147483647
            ):
                return graph_error(400, "Request_BadRequest", "Invalid password validity period.")
            domain.update(copy.deepcopy(body))
            return Response(status_code=204)

    async def settings(self, request: Request) -> Response:
        """``GET /groupSettings`` and ``PATCH /groupSettings/{id}`` (values replaced)."""
        setting_id = request.path_params.get("id")
        body: Json = await request.json() if request.method == "PATCH" else {}
        with self.state.lock:
            tenant = self._tenant() or {}
            settings: list[Json] = tenant.setdefault("groupSettings", [])
            if setting_id is None:
                return self._collection(settings)
            setting = next((s for s in settings if s.get("id") == setting_id), None)
            if setting is None:
                return graph_error(404, "Request_ResourceNotFound", f"{setting_id} not found.")
            if request.method == "GET":
                return JSONResponse(setting)
            values = body.get("values")
            if not isinstance(values, list):
                return graph_error(400, "Request_BadRequest", "values is required.")
            known = {v.get("name") for v in setting.get("values") or []}
            if any(v.get("name") not in known for v in values):
                return graph_error(400, "Request_BadRequest", "Unknown setting name.")
            merged = {v["name"]: v for v in setting.get("values") or []}
            merged.update({v["name"]: dict(v) for v in values})
            setting["values"] = list(merged.values())
            return Response(status_code=204)

    async def security_defaults(self, _request: Request) -> Response:
        """``GET /policies/identitySecurityDefaultsEnforcementPolicy``."""
        with self.state.lock:
            tenant = self._tenant() or {}
            return JSONResponse(tenant.get("securityDefaults") or {"isEnabled": False})

    async def conditional_access(self, _request: Request) -> Response:
        """``GET /identity/conditionalAccess/policies``."""
        with self.state.lock:
            tenant = self._tenant() or {}
            policies: list[Any] = tenant.get("conditionalAccessPolicies") or []
            return self._collection(policies)


def build_graph_app(state: SandboxState) -> Starlette:
    """The Graph v1.0 routes, to mount at ``/v1.0`` on the HTTPS listener."""
    api = GraphApi(state)
    return Starlette(
        routes=[
            Route("/organization", api.organization),
            Route("/domains", api.domains),
            Route("/domains/{name}", api.domains, methods=["GET", "PATCH"]),
            Route("/groupSettings", api.settings),
            Route("/groupSettings/{id}", api.settings, methods=["GET", "PATCH"]),
            Route("/policies/identitySecurityDefaultsEnforcementPolicy", api.security_defaults),
            Route("/identity/conditionalAccess/policies", api.conditional_access),
        ]
    )
