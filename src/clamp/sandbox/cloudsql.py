"""Cloud SQL Admin API v1 in the sandbox: ``instances.list``, ``instances.get``,
``instances.patch`` and ``operations.get``, as google-api-python-client's bundled discovery
document (``sqladmin.v1.json``) describes them.

Instances are ``sql#instance`` objects of ``state.gcp[project]`` exactly as the API returns
them. A patch is a JSON merge patch of the instance (lists such as ``authorizedNetworks``
are replaced whole) and answers with a ``sql#operation`` that the first ``operations.get``
still finds ``RUNNING`` and the next ``DONE``, so clients exercise their polling. What the
sandbox enforces, and its sources:

- ``settings.settingsVersion`` — "required ... to make sure concurrent updates are handled
  properly. During update, use the most recent settingsVersion value" (discovery
  document): a patch naming another version than the instance's is refused with 412 and
  changes nothing; every accepted patch of ``settings`` increments it.
- ``authorizedNetworks`` values are CIDRs "in 'CIDR' notation" (``IpConfiguration``).
- An instance keeps at least one way in: public IP (``ipv4Enabled``), ``privateNetwork``
  or Private Service Connect (``pscConfig.pscEnabled``); ``privateNetwork`` "cannot be
  removed after it is set". The error reasons are the sandbox's choice.
"""

from __future__ import annotations

import copy
import ipaddress
import itertools
import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp_errors import google_error
from clamp.sandbox.gcp_listing import one_page
from clamp.sandbox.state import Json, SandboxState, merge_patch

KIND = "sql#instance"
API = "https://sqladmin.googleapis.com/v1"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CloudSqlApi:
    """Handlers over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.operations: dict[tuple[str, str], Json] = {}
        self.ids = itertools.count(1)

    def _instances(self, project: str) -> list[Json]:
        return [o for o in self.state.gcp.get(project) or [] if o.get("kind") == KIND]

    def _find(self, project: str, name: str) -> Json | None:
        return next((o for o in self._instances(project) if o.get("name") == name), None)

    async def instances(self, request: Request) -> Response:
        """``GET v1/projects/{project}/instances``: one page of ``InstancesListResponse``."""
        project = request.path_params["project"]
        with self.state.lock:
            items = copy.deepcopy(self._instances(project))
        page, following = one_page(request, items)
        body: Json = {"kind": "sql#instancesList", "items": page}
        if following:
            body["nextPageToken"] = following
        return JSONResponse(body)

    async def instance(self, request: Request) -> Response:
        """``GET`` or ``PATCH v1/projects/{project}/instances/{instance}``."""
        project, name = request.path_params["project"], request.path_params["instance"]
        content = await request.body()
        with self.state.lock:
            current = self._find(project, name)
            if current is None:
                return google_error(
                    404, "The Cloud SQL instance does not exist.", reason="instanceDoesNotExist"
                )
            if request.method == "GET":
                return JSONResponse(copy.deepcopy(current))
            try:
                body = json.loads(content or b"{}")
            except ValueError:
                return google_error(400, "Invalid JSON payload received.")
            if not isinstance(body, dict):
                return google_error(400, "Invalid JSON payload received.")
            refusal = _refusal(current, body)
            if refusal is not None:
                return refusal
            patched = merge_patch(current, {k: v for k, v in body.items() if k != "name"})
            if isinstance(body.get("settings"), dict):
                version = int(str(current.get("settings", {}).get("settingsVersion") or 0))
                patched["settings"]["settingsVersion"] = str(version + 1)
            current.clear()
            current.update(patched)
            return JSONResponse(self._operation(project, name, current))

    def _operation(self, project: str, name: str, instance: Json) -> Json:
        op_name = f"sandbox-op-{next(self.ids):08d}"
        op: Json = {
            "kind": "sql#operation",
            "name": op_name,
            "operationType": "UPDATE",
            "status": "PENDING",
            "user": "sandbox@clamp.invalid",
            "insertTime": _now(),
            "targetId": name,
            "targetProject": project,
            "targetLink": f"{API}/projects/{project}/instances/{name}",
            "selfLink": f"{API}/projects/{project}/operations/{op_name}",
            "polls": 0,
        }
        self.operations[(project, op_name)] = op
        return {k: v for k, v in op.items() if k != "polls"}

    async def operation(self, request: Request) -> Response:
        """``GET v1/projects/{project}/operations/{operation}``: RUNNING once, then DONE."""
        key = (request.path_params["project"], request.path_params["operation"])
        with self.state.lock:
            op = self.operations.get(key)
            if op is None:
                return google_error(
                    404, f"The operation {key[1]} does not exist.", reason="operationDoesNotExist"
                )
            op["polls"] += 1
            op["status"] = "RUNNING" if op["polls"] == 1 else "DONE"
            if op["status"] == "DONE":
                op.setdefault("endTime", _now())
            return JSONResponse({k: v for k, v in op.items() if k != "polls"})


def _refusal(current: Json, body: Json) -> Response | None:
    """The API's refusal of a patch, or None (module docstring)."""
    settings = body.get("settings")
    if settings is None:
        return None
    if not isinstance(settings, dict):
        return google_error(400, "Invalid value for field 'settings'.")
    have = str((current.get("settings") or {}).get("settingsVersion") or "0")
    wanted = settings.get("settingsVersion")
    if wanted is not None and str(wanted) != have:
        return google_error(
            412,
            f"Precondition check failed: settingsVersion {wanted} is not the instance's "
            f"current version {have}.",
            reason="staleData",
        )
    was = (current.get("settings") or {}).get("ipConfiguration") or {}
    ip = merge_patch(was, settings.get("ipConfiguration") or {})
    for entry in ip.get("authorizedNetworks") or []:
        value = str((entry or {}).get("value", "")) if isinstance(entry, dict) else ""
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            network = None
        if network is None or network.version != 4:
            return google_error(400, f"Invalid request: Invalid authorized network: {value!r}.")
    if was.get("privateNetwork") and not ip.get("privateNetwork"):
        return google_error(400, "Invalid request: privateNetwork cannot be removed once set.")
    if (
        not ip.get("ipv4Enabled")
        and not ip.get("privateNetwork")
        and not (ip.get("pscConfig") or {}).get("pscEnabled")
    ):
        return google_error(
            400,
            "Invalid request: At least one of public IP, private IP or PSC connectivity must "
            "be enabled.",
        )
    return None


def cloudsql_routes(state: SandboxState) -> list[Route]:
    """The routes, to mount on the sandbox's Google listener."""
    api = CloudSqlApi(state)
    base = "/v1/projects/{project}"
    return [
        Route(base + "/instances", api.instances, methods=["GET"]),
        Route(base + "/instances/{instance}", api.instance, methods=["GET", "PATCH"]),
        Route(base + "/operations/{operation}", api.operation, methods=["GET"]),
    ]
