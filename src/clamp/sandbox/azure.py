"""The Azure Resource Manager side of the sandbox, as the azure-mgmt SDKs speak it.

A request path is an ARM id: of a resource, of a collection to list, or of an action to
POST on a resource. Resources are objects of ``state.azure[subscription]`` exactly as
``GET`` returns them (``clamp.sandbox.arm_objects``); NSG security rules and VNet subnets
live inside their parent's ``properties``. Writes honour management locks (409
ScopeLocked), bump etags (an NSG and its rules share one), honour ``If-Match`` /
``If-None-Match`` (412 on mismatch) only where the REST spec declares them (``CONDITIONAL``)
and answer as each resource provider does: network and compute with ARM's long-running
handshake (``Azure-AsyncOperation``, then polling), a storage account's creation with
202 + ``Location``, the rest at once.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from clamp.sandbox.arm import (
    CHILDREN,
    VM_TYPE,
    WRITABLE_CHILDREN,
    ArmPath,
    Json,
    arm_error,
    kind_of,
    new_etag,
    not_found,
    set_power_state,
    settle_identity,
    subscription_object,
    type_of,
    with_arm_defaults,
)
from clamp.sandbox.arm_admin import MANAGER, Deployments, effective_admin_rules
from clamp.sandbox.arm_admin import RULE as ADMIN_RULE
from clamp.sandbox.arm_network import NSG, check_security_rule, nsg_in_use, restamp
from clamp.sandbox.arm_objects import ResourceObjects
from clamp.sandbox.arm_resourcegraph import PATH as RESOURCE_GRAPH_PATH
from clamp.sandbox.arm_resourcegraph import ResourceGraphApi
from clamp.sandbox.arm_storage import ACCOUNT, account_keys
from clamp.sandbox.graph import build_graph_app
from clamp.sandbox.logs_ingestion import logs_ingestion_route
from clamp.sandbox.state import SandboxState

OPERATIONS_PATH = "/_arm/operations/"


def _power(state: str) -> Callable[[Json], Json | None]:
    def act(vm: Json) -> None:
        set_power_state(vm, state)

    return act


# POST actions on a resource, by (type, action) lower-cased: each returns its answer, or
# None for an action that ARM runs as a long-running operation (202).
ACTIONS: dict[tuple[str, str], Callable[[Json], Json | None]] = {
    (ACCOUNT, "listkeys"): account_keys,
    (VM_TYPE.lower(), "poweroff"): _power("stopped"),
    (VM_TYPE.lower(), "deallocate"): _power("deallocated"),
    (VM_TYPE.lower(), "start"): _power("running"),
    (VM_TYPE.lower(), "restart"): _power("running"),
}


ADMIN_RULES = ("microsoft.network/virtualnetworks", "listnetworkmanagereffectivesecurityadminrules")
"""The POST listing a VNet's effective security admin rules (``arm_admin``)."""


# The operations whose REST spec declares ``If-Match`` / ``If-None-Match``, by (type, verb):
# of those the sandbox serves, only a VM's PUT and PATCH (Microsoft.Compute 2026-04-01, as
# azure-mgmt-compute 39's build_virtual_machines_create_or_update_request and
# build_virtual_machines_update_request send them). Declared nowhere, so ignored: NSG,
# security-rule, NIC, VNet and subnet PUT/DELETE (azure-mgmt-network 33, 2026-03-01), VM
# DELETE and power actions, disk snapshot PUT/DELETE, storage accounts, blob services and
# containers (azure-mgmt-storage 25.3, 2026-09-01: only immutability policies take
# If-Match), management locks (2020-05-01) and role assignments (2022-04-01).
CONDITIONAL = frozenset({(VM_TYPE.lower(), "PUT"), (VM_TYPE.lower(), "PATCH")})


@dataclass
class Operation:
    """A long-running operation: polls left before it is done, and for ``Location``-style
    operations the resource whose body the last poll returns."""

    polls_left: int
    subscription: str = ""
    resource_id: str = ""


class ArmApi:
    """Request handlers over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.operations: dict[str, Operation] = {}
        self.resources = ResourceObjects(state)
        self.deployments = Deployments()
        with state.lock:  # what ARM adds on its own (default rules, power state) is there at once
            for objects in state.azure.values():
                for obj in objects:
                    with_arm_defaults(obj)
                    settle_identity(obj, self.resources.user_identities)
                    if obj.get("etag"):  # an NSG's rules carry its etag, whatever was loaded
                        restamp(obj, str(obj["etag"]))

    # -- routing --------------------------------------------------------------------------
    async def dispatch(self, request: Request) -> Response:
        """Route one ARM request by the ARM id its path names."""
        if request.url.path.startswith(OPERATIONS_PATH):
            return self._operation(request.url.path[len(OPERATIONS_PATH) :])
        arm = ArmPath.parse(request.url.path)
        lower = arm.path.lower().strip("/").split("/")
        content = await request.body()  # read before taking the lock
        with self.state.lock:
            if lower == ["subscriptions"]:
                return JSONResponse(
                    {"value": [subscription_object(s, o) for s, o in self.state.azure.items()]}
                )
            if len(lower) == 2 and lower[0] == "subscriptions":
                if not any(s.lower() == lower[1] for s in self.state.azure):
                    return not_found(arm.path)
                subscription = arm.path.split("/")[2]
                return JSONResponse(
                    subscription_object(subscription, self.resources.objects(subscription))
                )
            if len(lower) < 4 or lower[0] != "subscriptions" or not arm.type:
                return arm_error(400, "InvalidRequestUri", f"unsupported path {arm.path}")
            return self._route(request, arm, content)

    def _route(self, request: Request, arm: ArmPath, content: bytes) -> Response:
        parent_type, _, last = arm.kind.rpartition("/")
        embedded = CHILDREN.get(parent_type, {}).get(last)
        if embedded is not None:
            return self._embedded(request, arm, embedded, content)
        if arm.item:
            return self._item(request, arm, content)
        if request.method == "POST":
            return self._action(request, arm, last, content)
        if request.method != "GET":
            return arm_error(405, "MethodNotAllowed", f"{request.method} on a collection")
        if last == "instanceview":
            owner = self.resources.find(arm.subscription, arm.parent)
            if owner is None:
                return not_found(arm.parent)
            return JSONResponse(with_arm_defaults(owner)["properties"]["instanceView"])
        return JSONResponse({"value": self.resources.list(arm)})

    # -- resources that are objects of their own ------------------------------------------
    def _item(self, request: Request, arm: ArmPath, content: bytes) -> Response:
        kind = kind_of(arm.type)
        current = self.resources.get(arm)
        match request.method:
            case "GET":
                return JSONResponse(current) if current is not None else not_found(arm.path)
            case "DELETE":
                if current is None:
                    return Response(status_code=204)
                if refusal := self.resources.locked(arm, arm.path, delete=True):
                    return refusal
                if refusal := self._precondition(request, arm, current):
                    return refusal
                if arm.kind == NSG and (
                    refusal := nsg_in_use(current, self.resources.objects(arm.subscription))
                ):
                    return refusal
                if arm.kind == ADMIN_RULE:  # what is in effect stays until a commit
                    self.deployments.before_write(
                        arm.path, self.resources.objects(arm.subscription)
                    )
                self.resources.delete(arm, current)
                return self._accepted(request) if kind.async_writes else Response(status_code=200)
            case "PUT" | "PATCH":
                patch = request.method == "PATCH"
                if patch and current is None:
                    return not_found(arm.path)
                if refusal := self.resources.locked(arm, arm.path, delete=False):
                    return refusal
                if refusal := self._precondition(request, arm, current):
                    return refusal
                body = _body(content)
                if isinstance(body, Response):
                    return body
                if arm.kind == ADMIN_RULE:  # what is in effect stays until a commit
                    self.deployments.before_write(
                        arm.path, self.resources.objects(arm.subscription)
                    )
                created = current is None
                written = self.resources.write(arm, current, body, patch=patch)
                if isinstance(written, Response):
                    return written
                if kind.accepted:
                    return self._accepted(request)
                if patch:
                    return JSONResponse(written)
                if created and kind.create_accepted:
                    return self._accepted(request, arm.subscription, str(written["id"]))
                if kind.async_writes:
                    return self._long_running(request, written, created)
                return JSONResponse(written, status_code=201 if created else 200)
        return arm_error(405, "MethodNotAllowed", request.method)

    def _action(self, request: Request, arm: ArmPath, action: str, content: bytes) -> Response:
        """A POST action on a resource; a ReadOnly lock refuses it as a write."""
        owner = self.resources.find(arm.subscription, arm.parent)
        if owner is None:
            return not_found(arm.parent)
        objects = self.resources.objects(arm.subscription)
        if (type_of(owner), action) == ADMIN_RULES:
            # a read: whether a ReadOnly lock refuses it is in no source found, so it does not
            return JSONResponse(effective_admin_rules(owner, self.deployments.view(owner, objects)))
        if type_of(owner) == MANAGER and action in ("commit", "listdeploymentstatus"):
            body = _body(content)
            if isinstance(body, Response):
                return body
            if action == "listdeploymentstatus":
                return JSONResponse(self.deployments.status(owner, body, objects))
            if refusal := self.resources.locked(arm, arm.parent, delete=False):
                return refusal
            committed = self.deployments.commit(owner, body, objects)
            if isinstance(committed, str):
                return arm_error(400, "InvalidRequestFormat", committed)
            return self._accepted(request)  # NetworkManagerCommits_Post: 202, long-running
        answer = ACTIONS.get((type_of(owner), action))
        if answer is None:
            return arm_error(400, "InvalidRequestUri", f"unsupported action {arm.path}")
        if refusal := self.resources.locked(arm, arm.parent, delete=False):
            return refusal
        result = answer(owner)
        return self._accepted(request) if result is None else JSONResponse(result)

    # -- children kept inside their parent's properties (NSG rules, subnets) --------------
    def _embedded(self, request: Request, arm: ArmPath, key: str, content: bytes) -> Response:
        parent = self.resources.find(arm.subscription, arm.parent)
        if parent is None:
            return not_found(arm.parent)
        children: list[Json] = (
            with_arm_defaults(parent).setdefault("properties", {}).setdefault(key, [])
        )
        if not arm.item:
            if request.method != "GET":
                return arm_error(405, "MethodNotAllowed", f"{request.method} on {key}")
            return JSONResponse({"value": children})
        name = arm.path.rsplit("/", 1)[-1]
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
                if refusal := self.resources.locked(arm, child_id, delete=True):
                    return refusal
                children.remove(current)
                restamp(parent, new_etag())
                return self._accepted(request)
            case "PUT" if key in WRITABLE_CHILDREN:
                if refusal := self.resources.locked(arm, child_id, delete=False):
                    return refusal
                body = _body(content)
                if isinstance(body, Response):
                    return body
                props = copy.deepcopy(body.get("properties") or {})
                props.pop("provisioningState", None)
                if key == "securityRules" and (
                    refusal := check_security_rule(child_id, props, children)
                ):
                    return refusal
                props["provisioningState"] = "Succeeded"
                etag = new_etag()
                new = {
                    "name": name,
                    "id": child_id,
                    "etag": etag,
                    "type": f"{parent['type']}/{key}",
                    "properties": props,
                }
                if current is None:
                    children.append(new)
                else:
                    children[children.index(current)] = new
                # An NSG and all its rules get one new etag (a subnet keeps its own).
                restamp(parent, etag)
                return self._long_running(request, new, current is None)
        return arm_error(405, "MethodNotAllowed", f"{request.method} on {key}")

    # -- ARM conventions ------------------------------------------------------------------
    @staticmethod
    def _precondition(request: Request, arm: ArmPath, current: Json | None) -> Response | None:
        """412 when the operation declares ``If-Match`` / ``If-None-Match`` and the resource
        does not meet it; the headers are ignored on every other operation, as ARM does."""
        if (arm.kind, request.method) not in CONDITIONAL:
            return None
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

    def _operation_url(self, request: Request, operation: Operation) -> str:
        op = uuid.uuid4().hex
        self.operations[op] = operation
        return f"{request.base_url}{OPERATIONS_PATH.lstrip('/')}{op}?api-version=2024-05-01"

    def _long_running(self, request: Request, body: Json, created: bool) -> Response:
        """The resource at once, and an ``Azure-AsyncOperation`` to poll (InProgress once)."""
        headers = {"Azure-AsyncOperation": self._operation_url(request, Operation(1))}
        return JSONResponse(body, status_code=201 if created else 200, headers=headers)

    def _accepted(
        self, request: Request, subscription: str = "", resource_id: str = ""
    ) -> Response:
        """202 with a ``Location`` to poll; when it names a resource, the last poll returns
        it (how storage accounts are created), else the operation's status."""
        url = self._operation_url(request, Operation(1, subscription, resource_id))
        headers = {"Location": url}
        if not resource_id:
            headers["Azure-AsyncOperation"] = url
        return Response(status_code=202, headers=headers)

    def _operation(self, op: str) -> Response:
        operation = self.operations.get(op)
        if operation is None:
            return arm_error(404, "OperationNotFound", f"operation {op} not found")
        if operation.polls_left > 0:
            operation.polls_left -= 1
            if operation.resource_id:
                return Response(status_code=202)
            return JSONResponse({"status": "InProgress"})
        if not operation.resource_id:
            return JSONResponse({"status": "Succeeded"})
        with self.state.lock:
            done = self.resources.find(operation.subscription, operation.resource_id)
            return JSONResponse(done) if done is not None else not_found(operation.resource_id)


def _body(content: bytes) -> Json | Response:
    """The request's JSON object, or ARM's 400 for anything else."""
    try:
        body = json.loads(content or b"{}")
    except ValueError as exc:
        return arm_error(
            400, "InvalidRequestContent", f"The request content is not valid JSON: {exc}"
        )
    if not isinstance(body, dict):
        return arm_error(400, "InvalidRequestContent", "The request content must be a JSON object.")
    return body


def build_azure_app(state: SandboxState) -> Starlette:
    """The ASGI app for the sandbox's HTTPS listener: ARM, Azure Resource Graph, Microsoft
    Graph at /v1.0 and the Logs Ingestion API at /dataCollectionRules."""
    api = ArmApi(state)
    methods = ["GET", "PUT", "DELETE", "PATCH", "POST"]
    return Starlette(
        routes=[
            Mount("/v1.0", app=build_graph_app(state)),
            logs_ingestion_route(state),
            Route(RESOURCE_GRAPH_PATH, ResourceGraphApi(state).query, methods=["POST"]),
            Route("/{path:path}", api.dispatch, methods=methods),
        ]
    )


__all__ = ["build_azure_app"]
