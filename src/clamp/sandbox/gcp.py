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
from http import HTTPStatus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clamp.sandbox.gcp_asset import project_parent
from clamp.sandbox.gcp_errors import google_error, unknown_route
from clamp.sandbox.gcp_firewalls import firewall_problem, network_url, with_defaults
from clamp.sandbox.gcp_listing import list_filter, one_page
from clamp.sandbox.state import Json, SandboxState

API = "https://www.googleapis.com/compute/v1"
COLLECTIONS = {"firewalls": "compute#firewall", "networks": "compute#network"}
NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def _v1_parent(parent: str) -> Json:
    """``organizations/N`` → ``{"type": "organization", "id": "N"}`` (Resource Manager
    v1's ``ResourceId``)."""
    kind, _, key = parent.partition("/")
    return {"type": kind.removesuffix("s"), "id": key}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _listing(request: Request, kind: str, link: str, items: list[Json]) -> JSONResponse:
    keep = list_filter(request.query_params.get("filter"))
    if keep is None:
        return _bad_filter(request)
    page, following = one_page(request, [o for o in items if keep(o)])
    body: Json = {"kind": kind, "id": link.removeprefix(API + "/"), "items": page}
    body["selfLink"] = link
    if following:
        body["nextPageToken"] = following
    return JSONResponse(body)


def _bad_filter(request: Request) -> JSONResponse:
    text = request.query_params.get("filter")
    return google_error(400, f"Invalid value for field 'filter': '{text}'. Invalid list filter.")


class ComputeApi:
    """Request handlers over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.ids = itertools.count(7_000_000_000_000_000_001)
        self.operations: dict[tuple[str, str, str], Json] = {}
        self.request_ids: dict[tuple[str, str], Json] = {}  # (project, requestId) → operation
        with state.lock:  # what Compute adds to every instance: its labels' fingerprint
            for objects in state.gcp.values():
                for obj in objects:
                    if obj.get("kind") == "compute#instance":
                        obj.setdefault("labelFingerprint", "42WmSpB8rSM=")
                        obj.setdefault("tags", {}).setdefault("fingerprint", "42WmSpB8rSM=")

    def _objects(self, project: str) -> list[Json] | None:
        return self.state.gcp.get(project)

    def _global(self, project: str, kind: str) -> list[Json]:
        return [o for o in self._objects(project) or [] if o.get("kind") == kind]

    def _operation(
        self,
        project: str,
        kind: str,
        target: str,
        name: str,
        collection: str = "firewalls",
        error: tuple[int, str, str] | None = None,
        request_id: str | None = None,
        where: str = "global",
    ) -> JSONResponse:
        """A RUNNING operation for a write; ``error`` (HTTP code, code, message) makes it fail.

        ``where`` is ``global``, ``zones/Z`` (then ``collection`` is ``instances``) or
        ``regions/R`` (a regional firewall policy's write)."""
        op_name = f"operation-{next(self.ids)}"
        op: Json = {
            "kind": "compute#operation",
            "id": str(next(self.ids)),
            "name": op_name,
            "operationType": kind,
            "targetLink": f"{API}/projects/{project}/{where}/{collection}/{name}",
            "targetId": target,
            "status": "RUNNING",
            "progress": 0,
            "user": "sandbox@clamp.invalid",
            "insertTime": _now(),
            "startTime": _now(),
            "selfLink": f"{API}/projects/{project}/{where}/operations/{op_name}",
        }
        if where != "global":
            # Operation: ``zone`` for zonal, ``region`` for regional operations (compute.v1.json)
            op["zone" if where.startswith("zones/") else "region"] = (
                f"{API}/projects/{project}/{where}"
            )
        if error is not None:
            http, code, message = error
            op["error"] = {"errors": [{"code": code, "message": message}]}
            op.update(httpErrorStatusCode=http, httpErrorMessage=HTTPStatus(http).phrase.upper())
        self.operations[(project, where, op_name)] = op
        if request_id:
            self.request_ids[(project, request_id)] = op
        # Like Compute, the write answers RUNNING; the first get/wait finds it DONE, so
        # clients exercise their operation polling.
        return JSONResponse(op)

    def _replayed(self, request: Request, project: str) -> JSONResponse | None:
        """A write repeating an earlier ``requestId``: Compute answers with the first
        request's operation and does not apply it twice (what makes retried writes safe)."""
        request_id = request.query_params.get("requestId")
        op = self.request_ids.get((project, request_id)) if request_id else None
        return JSONResponse(op) if op is not None else None

    # -- collections ----------------------------------------------------------------------
    async def global_collection(self, request: Request) -> Response:
        """List or insert firewalls / networks."""
        project, collection = request.path_params["project"], request.path_params["collection"]
        kind = COLLECTIONS.get(collection)
        if kind is None:
            return await unknown_route(request, LookupError(collection))
        with self.state.lock:
            if self._objects(project) is None:
                return google_error(404, f"The resource 'projects/{project}' was not found")
            if request.method == "GET":
                link = f"{API}/projects/{project}/global/{collection}"
                return _listing(request, f"{kind}List", link, self._global(project, kind))
            if replayed := self._replayed(request, project):
                return replayed
            request_id = request.query_params.get("requestId")
            body: Json = await request.json()
            name = body.get("name")
            if not name:
                return google_error(400, "Required field 'resource.name' not specified", "required")
            if not isinstance(name, str) or not NAME.match(name):
                return google_error(400, f"Invalid value for field 'resource.name': '{name}'.")
            new = self._complete(project, collection, kind, body)
            problem = firewall_problem(new) if kind == "compute#firewall" else None
            if problem:
                return google_error(*problem)
            if any(o.get("name") == name for o in self._global(project, kind)):
                return google_error(
                    409,
                    f"The resource 'projects/{project}/global/{collection}/{name}' already exists",
                    "alreadyExists",
                )
            missing = self._missing_network(project, new)
            if missing:
                # Compute accepts the request and fails the operation, as the real API does.
                failure = (404, "RESOURCE_NOT_FOUND", f"The resource '{missing}' was not found")
                return self._operation(
                    project, "insert", new["id"], name, collection, failure, request_id
                )
            self.state.gcp[project].append(new)
            return self._operation(project, "insert", new["id"], name, collection, None, request_id)

    def _missing_network(self, project: str, obj: Json) -> str | None:
        """The firewall's network as ``projects/P/global/networks/N`` if it does not exist."""
        if obj.get("kind") != "compute#firewall":
            return None
        network = str(obj.get("network", "")).rsplit("/", 1)[-1]
        known = {o.get("name") for o in self._global(project, "compute#network")}
        return None if network in known else f"projects/{project}/global/networks/{network}"

    def _complete(self, project: str, collection: str, kind: str, body: Json) -> Json:
        new = {
            **copy.deepcopy(body),
            "kind": kind,
            "id": str(next(self.ids)),
            "creationTimestamp": _now(),
            "selfLink": f"{API}/projects/{project}/global/{collection}/{body['name']}",
        }
        if kind == "compute#firewall":
            new = with_defaults(new, "global/networks/default")
            new["network"] = network_url(API, project, str(new["network"]))
        return new

    async def global_item(self, request: Request) -> Response:
        """Get, update (PUT), patch or delete one firewall / network."""
        project, collection = request.path_params["project"], request.path_params["collection"]
        name = request.path_params["name"]
        kind = COLLECTIONS.get(collection)
        if kind is None:
            return await unknown_route(request, LookupError(collection))
        request_id = request.query_params.get("requestId")
        with self.state.lock:
            if request.method != "GET" and (replayed := self._replayed(request, project)):
                return replayed
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
                    return self._operation(
                        project, "delete", found["id"], name, collection, None, request_id
                    )
            body: Json = await request.json()
            if body.get("name", name) != name:
                return google_error(
                    400, "Invalid value for field 'resource.name': cannot be changed."
                )
            keep = {k: found[k] for k in ("kind", "id", "creationTimestamp", "selfLink", "name")}
            # PUT replaces the whole object (what it leaves out is back at its default; the
            # network stays); PATCH replaces the fields it carries.
            if request.method == "PUT":
                merged = {"network": found.get("network"), **body, **keep}
            else:
                merged = {**found, **body, **keep}
            if kind == "compute#firewall":
                merged = with_defaults(merged, str(found.get("network")))
                merged["network"] = network_url(API, project, str(merged["network"]))
                if (problem := firewall_problem(merged)) is not None:
                    return google_error(*problem)
            found.clear()
            found.update(merged)
            verb = "update" if request.method == "PUT" else "patch"
            return self._operation(project, verb, found["id"], name, collection, None, request_id)

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
                return self._aggregated(request, project, instances)
            in_zone = [i for i in instances if str(i.get("zone", "")).endswith(f"/zones/{zone}")]
            name = request.path_params.get("name")
            if name is None:
                link = f"{API}/projects/{project}/zones/{zone}/instances"
                return _listing(request, "compute#instanceList", link, in_zone)
            found = next((i for i in in_zone if i.get("name") == name), None)
            if found is None:
                return google_error(
                    404,
                    f"The resource 'projects/{project}/zones/{zone}/instances/{name}' was not found",
                )
            return JSONResponse(found)

    @staticmethod
    def _aggregated(request: Request, project: str, instances: list[Json]) -> Response:
        """``aggregated/instances``: one page of instances grouped by ``zones/Z``."""
        keep = list_filter(request.query_params.get("filter"))
        if keep is None:
            return _bad_filter(request)
        page, following = one_page(request, [i for i in instances if keep(i)])
        grouped: dict[str, Json] = {}
        for inst in page:
            key = "zones/" + str(inst.get("zone", "")).rsplit("/", 1)[-1]
            grouped.setdefault(key, {"instances": []})["instances"].append(inst)
        body: Json = {
            "kind": "compute#instanceAggregatedList",
            "id": f"projects/{project}/aggregated/instances",
            "items": grouped,
            "selfLink": f"{API}/projects/{project}/aggregated/instances",
        }
        if following:
            body["nextPageToken"] = following
        return JSONResponse(body)

    async def operation(self, request: Request) -> Response:
        """Global, zone and region operations ``get`` and ``wait``: the operation is DONE
        by now."""
        project, name = request.path_params["project"], request.path_params["name"]
        zone, region = request.path_params.get("zone"), request.path_params.get("region")
        where = f"zones/{zone}" if zone else f"regions/{region}" if region else "global"
        with self.state.lock:
            op = self.operations.get((project, where, name))
            if op is None:
                return google_error(
                    404,
                    f"The resource 'projects/{project}/{where}/operations/{name}' was not found",
                )
            if op["status"] != "DONE":
                op.update(status="DONE", progress=100, endTime=_now())
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
                    "parent": project_parent(self.state, project),
                }
                for i, project in enumerate(self.state.gcp)
            ]
        page, following = one_page(request, projects, size_param="pageSize")
        body: Json = {"projects": page}
        if following:
            body["nextPageToken"] = following
        return JSONResponse(body)

    async def projects_list_v1(self, request: Request) -> Response:
        """Resource Manager v1 ``projects.list``: each scenario project is ACTIVE."""
        with self.state.lock:
            projects = [
                {
                    "projectNumber": str(100000000000 + i),
                    "projectId": project,
                    "lifecycleState": "ACTIVE",
                    "name": project,
                    "parent": _v1_parent(project_parent(self.state, project)),
                }
                for i, project in enumerate(self.state.gcp)
            ]
        return JSONResponse({"projects": projects})


__all__ = ["ComputeApi"]
