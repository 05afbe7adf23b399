"""Instance lifecycle, labels and identity in the sandbox (Compute ``stop``, ``start``,
``suspend``, ``resume``, ``setLabels`` and ``setTags`` with their fingerprints,
``setServiceAccount``, ``setDeletionProtection``, ``delete``) and project IAM policies
(Resource Manager v3 ``getIamPolicy`` / ``setIamPolicy``).

As on Compute: ``setServiceAccount`` is refused unless the instance is TERMINATED (stopped),
an instance with ``deletionProtection`` is never deleted (400 ``invalidResourceUsage``),
and every call answers with a zone operation. Deleting an instance deletes its
``autoDelete`` disks and detaches the others. A project's IAM policy is the scenario
object ``{"kind": "cloudresourcemanager#policy", "resource": "projects/P", ...}``; a write
with a stale etag is refused (409 ABORTED) and changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp import _now
from clamp.sandbox.gcp_errors import google_error, platform_error
from clamp.sandbox.state import Json

if TYPE_CHECKING:
    from clamp.sandbox.gcp import ComputeApi

POLICY_KIND = "cloudresourcemanager#policy"
DISK_KIND = "compute#disk"
EMPTY_FINGERPRINT = "42WmSpB8rSM="  # Compute's fingerprint of no labels
LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def _fingerprint(seed: str) -> str:
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()[:8]).decode()


def _not_found(path: str) -> JSONResponse:
    return google_error(404, f"The resource '{path}' was not found")


class InstanceActions:
    """Handlers that change instances and project policies, over a ``ComputeApi``."""

    def __init__(self, api: ComputeApi) -> None:
        self.api = api

    def _instance(self, project: str, zone: str, name: str) -> Json | None:
        return next(
            (
                o
                for o in self.api.state.gcp.get(project) or []
                if o.get("kind") == "compute#instance"
                and o.get("name") == name
                and str(o.get("zone", "")).endswith(f"/zones/{zone}")
            ),
            None,
        )

    async def act(self, request: Request) -> Response:
        """``POST .../zones/Z/instances/I/{stop|start|setServiceAccount}``."""
        project, zone = request.path_params["project"], request.path_params["zone"]
        name, action = request.path_params["name"], request.path_params["action"]
        with_body = ("setServiceAccount", "setLabels", "setTags", "addAccessConfig")
        body: Json = await request.json() if action in with_body else {}
        with self.api.state.lock:
            instance = self._instance(project, zone, name)
            if instance is None:
                return google_error(
                    404,
                    f"The resource 'projects/{project}/zones/{zone}/instances/{name}' was not found",
                )
            match action:
                case "stop":
                    instance["status"] = "TERMINATED"
                case "start" | "resume":
                    instance["status"] = "RUNNING"
                case "suspend":
                    instance["status"] = "SUSPENDED"
                case "setLabels":
                    current = instance.get("labelFingerprint") or EMPTY_FINGERPRINT
                    if body.get("labelFingerprint") != current:
                        return google_error(
                            412,
                            "Supplied fingerprint does not match current metadata fingerprint.",
                        )
                    instance["labels"] = dict(body.get("labels") or {})
                    instance["labelFingerprint"] = _fingerprint(
                        f"{current}{sorted(instance['labels'].items())}"
                    )
                case "setTags":
                    tags = instance.setdefault("tags", {})
                    if body.get("fingerprint") != tags.get("fingerprint", EMPTY_FINGERPRINT):
                        return google_error(
                            412,
                            "Supplied fingerprint does not match current metadata fingerprint.",
                        )
                    items = list(dict.fromkeys(body.get("items") or []))
                    instance["tags"] = {
                        "items": items,
                        "fingerprint": _fingerprint(f"{tags.get('fingerprint')}{items}"),
                    }
                case "setServiceAccount":
                    if instance.get("status") != "TERMINATED":
                        return google_error(
                            400,
                            "The instance must be stopped before its service account can be "
                            "changed.",
                        )
                    email = body.get("email")
                    instance["serviceAccounts"] = (
                        [{"email": email, "scopes": list(body.get("scopes") or [])}]
                        if email
                        else []
                    )
                case "setDeletionProtection":
                    # The discovery document: a query boolean, ``true`` when left out.
                    wanted = request.query_params.get("deletionProtection", "true")
                    if wanted not in ("true", "false"):
                        return google_error(
                            400, f"Invalid value for field 'deletionProtection': '{wanted}'."
                        )
                    instance["deletionProtection"] = wanted == "true"
                case "deleteAccessConfig" | "addAccessConfig":
                    refused = _access_config(instance, action, request.query_params, body)
                    if refused is not None:
                        return refused
                case _:
                    return google_error(400, f"Unknown instance action {action}")
            return self.api._operation(
                project,
                action,
                str(instance.get("id", "")),
                name,
                collection="instances",
                where=f"zones/{zone}",
            )

    async def delete_instance(self, request: Request) -> Response:
        """``DELETE .../zones/Z/instances/I``: its ``autoDelete`` disks go with it, the
        others are detached."""
        project, zone = request.path_params["project"], request.path_params["zone"]
        name = request.path_params["name"]
        with self.api.state.lock:
            if replayed := self.api._replayed(request, project):
                return replayed
            objects = self.api.state.gcp.get(project) or []
            instance = self._instance(project, zone, name)
            if instance is None:
                return _not_found(f"projects/{project}/zones/{zone}/instances/{name}")
            if instance.get("deletionProtection"):
                # Compute's answer (as terraform-provider-google#1211 quotes it): 400
                # invalidResourceUsage, and the instance stays.
                return google_error(
                    400,
                    "Invalid resource usage: 'Resource cannot be deleted if it's protected "
                    "against deletion.'.",
                    "invalidResourceUsage",
                )
            attached = instance.get("disks") or []
            doomed = {str(d.get("source")) for d in attached if d.get("autoDelete")}
            objects[:] = [
                o
                for o in objects
                if o is not instance
                and not (o.get("kind") == DISK_KIND and o.get("selfLink") in doomed)
            ]
            for disk in [o for o in objects if o.get("kind") == DISK_KIND]:
                users = [u for u in disk.get("users") or [] if u != instance.get("selfLink")]
                disk["users"] = users
                if not users:
                    disk.pop("users")
                    disk["lastDetachTimestamp"] = _now()
            return self.api._operation(
                project,
                "delete",
                str(instance.get("id", "")),
                name,
                collection="instances",
                request_id=request.query_params.get("requestId"),
                where=f"zones/{zone}",
            )

    def _policy(self, project: str) -> Json | None:
        objects = self.api.state.gcp.get(project)
        if objects is None:
            return None
        for obj in objects:
            if obj.get("kind") == POLICY_KIND:
                return obj
        policy: Json = {
            "kind": POLICY_KIND,
            "resource": f"projects/{project}",
            "version": 1,
            "etag": "BwYAAAAAAAA=",
            "bindings": [],
        }
        objects.append(policy)
        return policy

    async def iam(self, request: Request) -> Response:
        """``POST /v3/projects/P:getIamPolicy`` and ``:setIamPolicy``."""
        project, verb = request.path_params["project"], request.path_params["verb"]
        body: Json = await request.json() if await request.body() else {}
        with self.api.state.lock:
            policy = self._policy(project)
            if policy is None:
                return platform_error(
                    403, f"The caller does not have permission on projects/{project}"
                )
            if verb == "getIamPolicy":
                return JSONResponse(_wire(policy))
            if verb != "setIamPolicy":
                return platform_error(404, f"Method not found: {verb}")
            new: Json = body.get("policy") or {}
            if new.get("etag") and new["etag"] != policy.get("etag"):
                return platform_error(
                    409,
                    "There were concurrent policy changes. Please retry the whole "
                    "read-modify-write with exponential backoff.",
                )
            bindings = [b for b in new.get("bindings") or [] if b.get("members")]
            policy.update(
                bindings=bindings,
                version=int(new.get("version") or 1),
                etag=_fingerprint(f"{policy.get('etag')}{bindings}"),
            )
            return JSONResponse(_wire(policy))


def _access_config(
    instance: Json, action: str, query: Mapping[str, str], body: Json
) -> Response | None:
    """Remove or add the external IP (access config) of one network interface, as
    Compute does: one access config per interface at most."""
    nic = next(
        (
            n
            for n in instance.get("networkInterfaces") or []
            if n.get("name") == query.get("networkInterface")
        ),
        None,
    )
    if nic is None:
        return google_error(
            400, f"Invalid value for field 'networkInterface': {query.get('networkInterface')!r}"
        )
    configs: list[Json] = nic.setdefault("accessConfigs", [])
    if action == "deleteAccessConfig":
        kept = [c for c in configs if c.get("name") != query.get("accessConfig")]
        if len(kept) == len(configs):
            return google_error(
                404, f"The access config {query.get('accessConfig')!r} was not found"
            )
        nic["accessConfigs"] = kept
        return None
    if configs:
        return google_error(400, "At most one access config currently supported.")
    configs.append(
        {"kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT", "networkTier": "PREMIUM", **body}
    )
    return None


def _valid_label(key: object, value: object) -> bool:
    return (
        isinstance(key, str)
        and isinstance(value, str)
        and LABEL_KEY.match(key) is not None
        and LABEL_VALUE.match(value) is not None
    )


def _wire(policy: Json) -> Json:
    """The policy as the API returns it (without the scenario's kind/resource keys)."""
    return {k: v for k, v in policy.items() if k not in ("kind", "resource")}


def instance_routes(api: ComputeApi) -> list[Route]:
    """Routes for instance actions and deletion, and project IAM policies."""
    actions = InstanceActions(api)
    project = "/compute/v1/projects/{project}"
    base = project + "/zones/{zone}/instances/{name}/{action}"
    return [
        Route(base, actions.act, methods=["POST"]),
        Route(
            project + "/zones/{zone}/instances/{name}", actions.delete_instance, methods=["DELETE"]
        ),
        Route("/v3/projects/{project}:{verb}", actions.iam, methods=["POST"]),
    ]
