"""The Azure Resource Manager side of the sandbox, as the azure-mgmt SDKs speak it.

Resources live in ``state.azure[subscription]`` exactly as ``GET`` returns them; NSG
security rules and VNet subnets live inside their parent's ``properties``. Writes bump
etags, honour ``If-Match`` / ``If-None-Match`` (412 on mismatch) and answer with ARM's
long-running-operation handshake (``Azure-AsyncOperation`` / ``Location``, then polling).
"""

from __future__ import annotations

import copy
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from clamp.sandbox.arm import (
    CHILDREN,
    NSG_TYPE,
    WRITABLE_CHILDREN,
    arm_error,
    check_security_rule,
    default_security_rules,
    new_etag,
    not_found,
    settle_identity,
    subscription_object,
)
from clamp.sandbox.arm_nested import NestedResources, invalid, merge, scope_locked, type_and_item
from clamp.sandbox.graph import build_graph_app
from clamp.sandbox.state import Json, SandboxState

OPERATIONS_PATH = "/_arm/operations/"


def _split(path: str) -> list[str]:
    return [p for p in path.strip("/").split("/") if p]


class ArmApi:
    """Request handlers over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.operations: dict[str, int] = {}
        self.nested = NestedResources(self._objects, self._precondition)
        self.user_identities: dict[str, Json] = {}  # user-assigned identity id → its ids
        with (
            state.lock
        ):  # what ARM adds on its own (default rules, power state) is there from the start
            for objects in state.azure.values():
                for obj in objects:
                    self._with_defaults(obj)
                    settle_identity(obj, self.user_identities)

    # -- lookups --------------------------------------------------------------------------
    def _objects(self, subscription: str) -> list[Json]:
        for key, objects in self.state.azure.items():
            if key.lower() == subscription.lower():
                return objects
        return []

    def _find(self, subscription: str, resource_id: str) -> Json | None:
        wanted = resource_id.lower()
        return next(
            (o for o in self._objects(subscription) if str(o.get("id", "")).lower() == wanted),
            None,
        )

    @staticmethod
    def _with_defaults(obj: Json) -> Json:
        if str(obj.get("type", "")).lower() == NSG_TYPE.lower():
            props = obj.setdefault("properties", {})
            if not props.get("defaultSecurityRules"):
                props["defaultSecurityRules"] = default_security_rules(
                    obj["id"], obj.get("etag", new_etag())
                )
            props.setdefault("securityRules", [])
        if str(obj.get("type", "")).lower() == "microsoft.compute/virtualmachines":
            props = obj.setdefault("properties", {})
            props.setdefault(
                "instanceView",
                {
                    "statuses": [
                        {"code": "ProvisioningState/succeeded"},
                        {"code": "PowerState/running"},
                    ]
                },
            )
        return obj

    # -- handlers -------------------------------------------------------------------------
    async def dispatch(self, request: Request) -> Response:
        """Route one ARM request by its path shape."""
        path = request.url.path
        if path.startswith(OPERATIONS_PATH):
            return self._operation(path[len(OPERATIONS_PATH) :])
        parts = _split(path)
        lower = [p.lower() for p in parts]
        with self.state.lock:
            if lower == ["subscriptions"]:
                return JSONResponse(
                    {"value": [subscription_object(s, o) for s, o in self.state.azure.items()]}
                )
            if len(parts) == 2 and lower[0] == "subscriptions":
                if not any(s.lower() == lower[1] for s in self.state.azure):
                    return not_found(path)
                return JSONResponse(subscription_object(parts[1], self._objects(parts[1])))
            if len(parts) < 4 or lower[0] != "subscriptions":
                return arm_error(400, "InvalidRequestUri", f"unsupported path {path}")
            return await self._resource_request(request, parts, lower)

    async def _resource_request(
        self, request: Request, parts: list[str], lower: list[str]
    ) -> Response:
        subscription = parts[1]
        nested = type_and_item(request.url.path)
        if nested is not None:
            return await self.nested.handle(request, subscription, *nested)
        provider_at = lower.index("providers") if "providers" in lower else -1
        if provider_at < 0 or len(parts) < provider_at + 3:
            return arm_error(400, "InvalidRequestUri", f"unsupported path {request.url.path}")
        tail = parts[provider_at + 1 :]
        full_type = f"{tail[0]}/{tail[1]}".lower()
        prefix = "/" + "/".join(parts[: provider_at + 3])
        if len(tail) == 2:  # a list, by subscription or resource group
            scope = ("/" + "/".join(parts[:provider_at])).lower() + "/"
            items = [
                self._with_defaults(o)
                for o in self._objects(subscription)
                if str(o.get("type", "")).lower() == full_type
                and str(o.get("id", "")).lower().startswith(scope)
            ]
            return JSONResponse({"value": items})
        resource_id = f"{prefix}/{tail[2]}"
        parent = self._find(subscription, resource_id)
        if len(tail) == 3:
            return await self._top_level(request, subscription, resource_id, parent)
        if parent is None:
            return not_found(resource_id)
        if len(tail) == 4 and tail[3].lower() == "instanceview":
            return JSONResponse(self._with_defaults(parent)["properties"]["instanceView"])
        child_key = CHILDREN.get(full_type, {}).get(tail[3].lower())
        if child_key is None:
            return arm_error(400, "InvalidRequestUri", f"unsupported child {tail[3]}")
        children: list[Json] = (
            self._with_defaults(parent).setdefault("properties", {}).setdefault(child_key, [])
        )
        if len(tail) == 4:
            return JSONResponse({"value": children})
        return await self._child(request, parent, child_key, children, tail[4])

    async def _top_level(
        self, request: Request, subscription: str, resource_id: str, obj: Json | None
    ) -> Response:
        match request.method:
            case "GET":
                return JSONResponse(self._with_defaults(obj)) if obj else not_found(resource_id)
            case "DELETE":
                if obj is None:
                    return Response(status_code=204)
                objects = self._objects(subscription)
                if refusal := scope_locked(objects, resource_id, delete=True):
                    return refusal
                if (refusal := self._precondition(request, obj)) is not None:
                    return refusal
                prefix = resource_id.lower() + "/"
                objects[:] = [
                    o
                    for o in objects
                    if o is not obj and not str(o.get("id", "")).lower().startswith(prefix)
                ]
                return self._accepted(request)
            case "PATCH":
                if obj is None:
                    return not_found(resource_id)
                if refusal := scope_locked(self._objects(subscription), resource_id, delete=False):
                    return refusal
                patch: Json = await request.json()
                updated = merge(obj, {k: v for k, v in patch.items() if k not in ("id", "name")})
                if (refusal := invalid("", updated.get("properties") or {}, None)) is not None:
                    return refusal
                settle_identity(updated, self.user_identities)
                obj.clear()
                obj.update(updated)
                return JSONResponse(self._with_defaults(obj))
            case "PUT":
                if obj is not None and (
                    refusal := scope_locked(self._objects(subscription), resource_id, delete=False)
                ):
                    return refusal
                if (refusal := self._precondition(request, obj)) is not None:
                    return refusal
                body: Json = await request.json()
                created = obj is None
                new = {
                    **body,
                    "id": resource_id,
                    "name": resource_id.rsplit("/", 1)[-1],
                    "type": "/".join(resource_id.split("/")[6:8]),
                    "etag": new_etag(),
                }
                new.setdefault("properties", {})["provisioningState"] = "Succeeded"
                if created:
                    self.state.azure.setdefault(subscription, []).append(new)
                else:
                    assert obj is not None
                    obj.clear()
                    obj.update(new)
                return self._long_running(request, self._with_defaults(new), created)
        return arm_error(405, "MethodNotAllowed", request.method)

    async def _child(
        self, request: Request, parent: Json, key: str, children: list[Json], name: str
    ) -> Response:
        child_id = f"{parent['id']}/{key}/{name}"
        current = next(
            (c for c in children if str(c.get("name", "")).lower() == name.lower()), None
        )
        match request.method:
            case "GET":
                return JSONResponse(current) if current else not_found(child_id)
            case "DELETE" if key in WRITABLE_CHILDREN:
                if current is None:
                    return Response(status_code=204)
                if (refusal := self._precondition(request, current)) is not None:
                    return refusal
                children.remove(current)
                parent["etag"] = new_etag()
                return self._accepted(request)
            case "PUT" if key in WRITABLE_CHILDREN:
                if (refusal := self._precondition(request, current)) is not None:
                    return refusal
                body: Json = await request.json()
                props = copy.deepcopy(body.get("properties") or {})
                props.pop("provisioningState", None)
                if key == "securityRules":
                    problem = check_security_rule(name, props, children)
                    if problem:
                        return arm_error(400, "SecurityRuleInvalid", problem)
                props["provisioningState"] = "Succeeded"
                new = {
                    "name": name,
                    "id": child_id,
                    "etag": new_etag(),
                    "type": f"{parent['type']}/{key}",
                    "properties": props,
                }
                if current is None:
                    children.append(new)
                else:
                    children[children.index(current)] = new
                parent["etag"] = new_etag()
                return self._long_running(request, new, current is None)
        return arm_error(405, "MethodNotAllowed", f"{request.method} on {key}")

    # -- ARM conventions ------------------------------------------------------------------
    @staticmethod
    def _precondition(request: Request, current: Json | None) -> Response | None:
        if_match = request.headers.get("if-match")
        if if_match and if_match != "*" and (current is None or current.get("etag") != if_match):
            return arm_error(
                412,
                "PreconditionFailed",
                "The condition specified using HTTP conditional header(s) is not met.",
            )
        if request.headers.get("if-none-match") == "*" and current is not None:
            return arm_error(
                412, "PreconditionFailed", "The resource already exists (If-None-Match: *)."
            )
        return None

    def _operation_url(self, request: Request) -> str:
        op = uuid.uuid4().hex
        self.operations[op] = 1  # report InProgress once, then Succeeded
        return f"{request.base_url}{OPERATIONS_PATH.lstrip('/')}{op}?api-version=2024-05-01"

    def _long_running(self, request: Request, body: Json, created: bool) -> Response:
        headers = {"Azure-AsyncOperation": self._operation_url(request)}
        return JSONResponse(body, status_code=201 if created else 200, headers=headers)

    def _accepted(self, request: Request) -> Response:
        url = self._operation_url(request)
        return Response(status_code=202, headers={"Azure-AsyncOperation": url, "Location": url})

    def _operation(self, op: str) -> Response:
        remaining = self.operations.get(op)
        if remaining is None:
            return arm_error(404, "OperationNotFound", f"operation {op} not found")
        if remaining > 0:
            self.operations[op] = remaining - 1
            return JSONResponse({"status": "InProgress"})
        return JSONResponse({"status": "Succeeded"})


def build_azure_app(state: SandboxState) -> Starlette:
    """The ASGI app for the sandbox's HTTPS listener: ARM, and Microsoft Graph at /v1.0."""
    api = ArmApi(state)
    methods = ["GET", "PUT", "DELETE", "PATCH", "POST"]
    return Starlette(
        routes=[
            Mount("/v1.0", app=build_graph_app(state)),
            Route("/{path:path}", api.dispatch, methods=methods),
        ]
    )


__all__ = ["build_azure_app"]
