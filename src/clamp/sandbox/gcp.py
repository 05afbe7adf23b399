"""The Google side of the sandbox: Compute Engine v1 REST and Resource Manager v3 search.

Objects live in ``state.gcp[project]`` exactly as the Compute API returns them, each with
its ``kind``. Writes answer with real ``compute#operation`` objects, which
``operations.get``/``wait`` return again.
"""

from __future__ import annotations

import copy
import itertools
import re
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.state import Json, SandboxState

API = "https://www.googleapis.com/compute/v1"
COLLECTIONS = {"firewalls": "compute#firewall", "networks": "compute#network"}
NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 409: "ALREADY_EXISTS"}
REASON = {400: "invalid", 404: "notFound", 409: "alreadyExists"}


def google_error(code: int, message: str) -> JSONResponse:
    """An error in Google's JSON shape."""
    return JSONResponse(
        {
            "error": {
                "code": code,
                "message": message,
                "status": STATUS.get(code, "UNKNOWN"),
                "errors": [
                    {
                        "message": message,
                        "domain": "global",
                        "reason": REASON.get(code, "backendError"),
                    }
                ],
            }
        },
        status_code=code,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ComputeApi:
    """Request handlers over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.ids = itertools.count(7_000_000_000_000_000_001)
        self.operations: dict[str, Json] = {}

    def _objects(self, project: str) -> list[Json] | None:
        return self.state.gcp.get(project)

    def _global(self, project: str, kind: str) -> list[Json]:
        return [o for o in self._objects(project) or [] if o.get("kind") == kind]

    def _operation(self, project: str, kind: str, target: str, name: str) -> JSONResponse:
        op_name = f"operation-{next(self.ids)}"
        op = {
            "kind": "compute#operation",
            "id": str(next(self.ids)),
            "name": op_name,
            "operationType": kind,
            "targetLink": f"{API}/projects/{project}/global/firewalls/{name}",
            "targetId": target,
            "status": "DONE",
            "progress": 100,
            "user": "sandbox",
            "insertTime": _now(),
            "startTime": _now(),
            "endTime": _now(),
            "selfLink": f"{API}/projects/{project}/global/operations/{op_name}",
        }
        self.operations[op_name] = op
        return JSONResponse(op)

    # -- collections ----------------------------------------------------------------------
    async def global_collection(self, request: Request) -> Response:
        """List or insert firewalls / networks."""
        project, collection = request.path_params["project"], request.path_params["collection"]
        kind = COLLECTIONS.get(collection)
        with self.state.lock:
            if kind is None or self._objects(project) is None:
                return google_error(404, f"The resource 'projects/{project}' was not found")
            if request.method == "GET":
                items = self._global(project, kind)
                return JSONResponse(
                    {
                        "kind": f"{kind}List",
                        "id": f"projects/{project}/global/{collection}",
                        "items": items,
                        "selfLink": f"{API}/projects/{project}/global/{collection}",
                    }
                )
            body: Json = await request.json()
            name = str(body.get("name", ""))
            if not NAME.match(name):
                return google_error(400, f"Invalid value for field 'resource.name': '{name}'.")
            if any(o.get("name") == name for o in self._global(project, kind)):
                return google_error(
                    409,
                    f"The resource 'projects/{project}/global/{collection}/{name}' already exists",
                )
            new = self._complete(project, collection, kind, body)
            self.state.gcp[project].append(new)
            return self._operation(project, "insert", new["id"], name)

    def _complete(self, project: str, collection: str, kind: str, body: Json) -> Json:
        new = {
            **copy.deepcopy(body),
            "kind": kind,
            "id": str(next(self.ids)),
            "creationTimestamp": _now(),
            "selfLink": f"{API}/projects/{project}/global/{collection}/{body['name']}",
        }
        if kind == "compute#firewall":
            new.setdefault("priority", 1000)
            new.setdefault("direction", "INGRESS")
            new.setdefault("disabled", False)
            if (
                "sourceRanges" not in new
                and "sourceTags" not in new
                and new["direction"] == "INGRESS"
            ):
                new["sourceRanges"] = ["0.0.0.0/0"]
        return new

    async def global_item(self, request: Request) -> Response:
        """Get, update (PUT), patch or delete one firewall / network."""
        project, collection = request.path_params["project"], request.path_params["collection"]
        name = request.path_params["name"]
        kind = COLLECTIONS.get(collection, "")
        with self.state.lock:
            found = next((o for o in self._global(project, kind) if o.get("name") == name), None)
            if found is None:
                return google_error(
                    404,
                    f"The resource 'projects/{project}/global/{collection}/{name}' was not found",
                )
            match request.method:
                case "GET":
                    return JSONResponse(found)
                case "DELETE":
                    self.state.gcp[project].remove(found)
                    return self._operation(project, "delete", found["id"], name)
            body: Json = await request.json()
            if body.get("name", name) != name:
                return google_error(
                    400, "Invalid value for field 'resource.name': cannot be changed."
                )
            keep = {k: found[k] for k in ("kind", "id", "creationTimestamp", "selfLink", "name")}
            if request.method == "PUT":
                found.clear()
                found.update({**body, **keep})
            else:  # PATCH: fields present replace; lists replace
                found.update({**body, **keep})
            return self._operation(
                project, "update" if request.method == "PUT" else "patch", found["id"], name
            )

    async def instances(self, request: Request) -> Response:
        """Instances of one zone, one instance, or the aggregated list."""
        project = request.path_params["project"]
        with self.state.lock:
            objects = self._objects(project)
            if objects is None:
                return google_error(404, f"The resource 'projects/{project}' was not found")
            instances = [o for o in objects if o.get("kind") == "compute#instance"]
            zone = request.path_params.get("zone")
            if zone is None:
                grouped: dict[str, Json] = {}
                for inst in instances:
                    key = "zones/" + str(inst.get("zone", "")).rsplit("/", 1)[-1]
                    grouped.setdefault(key, {"instances": []})["instances"].append(inst)
                return JSONResponse(
                    {
                        "kind": "compute#instanceAggregatedList",
                        "items": grouped,
                        "selfLink": f"{API}/projects/{project}/aggregated/instances",
                    }
                )
            in_zone = [i for i in instances if str(i.get("zone", "")).endswith(f"/zones/{zone}")]
            name = request.path_params.get("name")
            if name is None:
                return JSONResponse({"kind": "compute#instanceList", "items": in_zone})
            found = next((i for i in in_zone if i.get("name") == name), None)
            if found is None:
                return google_error(
                    404,
                    f"The resource 'projects/{project}/zones/{zone}/instances/{name}' was not found",
                )
            return JSONResponse(found)

    async def operation(self, request: Request) -> Response:
        """``globalOperations.get`` and ``wait``: every sandbox operation is DONE."""
        op = self.operations.get(request.path_params["name"])
        if op is None:
            return google_error(
                404, f"The resource operation '{request.path_params['name']}' was not found"
            )
        return JSONResponse(op)

    async def projects_search(self, request: Request) -> Response:
        """Resource Manager v3 ``projects:search``: each scenario project is ACTIVE."""
        with self.state.lock:
            projects = [
                {
                    "name": f"projects/{100000000000 + i}",
                    "projectId": project,
                    "state": "ACTIVE",
                    "displayName": project,
                    "parent": "organizations/123456789012",
                }
                for i, project in enumerate(self.state.gcp)
            ]
        return JSONResponse({"projects": projects})


def build_gcp_app(state: SandboxState) -> Starlette:
    """The ASGI app serving the Google APIs on the sandbox's HTTP listener."""
    api = ComputeApi(state)
    base = "/compute/v1/projects/{project}"
    return Starlette(
        routes=[
            Route(base + "/global/operations/{name}", api.operation, methods=["GET"]),
            Route(base + "/global/operations/{name}/wait", api.operation, methods=["POST"]),
            Route(base + "/global/{collection}", api.global_collection, methods=["GET", "POST"]),
            Route(
                base + "/global/{collection}/{name}",
                api.global_item,
                methods=["GET", "PUT", "PATCH", "DELETE"],
            ),
            Route(base + "/aggregated/instances", api.instances, methods=["GET"]),
            Route(base + "/zones/{zone}/instances", api.instances, methods=["GET"]),
            Route(base + "/zones/{zone}/instances/{name}", api.instances, methods=["GET"]),
            Route("/v3/projects:search", api.projects_search, methods=["GET"]),
        ]
    )


__all__ = ["build_gcp_app"]
