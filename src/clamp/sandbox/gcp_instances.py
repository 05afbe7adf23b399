"""Instance lifecycle, labels and identity in the sandbox (Compute ``stop``, ``start``,
``suspend``, ``resume``, ``setLabels`` and ``setTags`` with their fingerprints,
``setServiceAccount``) and project IAM policies (Resource Manager v3 ``getIamPolicy`` /
``setIamPolicy``).

As on Compute: ``setServiceAccount`` is refused unless the instance is TERMINATED (stopped),
and every call answers with a zone operation. A project's IAM policy is the scenario object
``{"kind": "cloudresourcemanager#policy", "resource": "projects/P", ...}``; a write with a
stale etag is refused (409 ABORTED) and changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp import google_error
from clamp.sandbox.state import Json

if TYPE_CHECKING:
    from clamp.sandbox.gcp import ComputeApi

POLICY_KIND = "cloudresourcemanager#policy"
EMPTY_FINGERPRINT = "42WmSpB8rSM="  # Compute's fingerprint of no labels


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
        body: Json = (
            await request.json() if action in ("setServiceAccount", "setLabels", "setTags") else {}
        )
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
                    seed = f"{current}{sorted(instance['labels'].items())}".encode()
                    instance["labelFingerprint"] = base64.b64encode(
                        hashlib.sha256(seed).digest()[:8]
                    ).decode()
                case "setTags":
                    tags = instance.setdefault("tags", {})
                    if body.get("fingerprint") != tags.get("fingerprint", EMPTY_FINGERPRINT):
                        return google_error(
                            412,
                            "Supplied fingerprint does not match current metadata fingerprint.",
                        )
                    items = list(dict.fromkeys(body.get("items") or []))
                    seed = f"{tags.get('fingerprint')}{items}".encode()
                    instance["tags"] = {
                        "items": items,
                        "fingerprint": base64.b64encode(hashlib.sha256(seed).digest()[:8]).decode(),
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
                return google_error(
                    403, f"The caller does not have permission on projects/{project}"
                )
            if verb == "getIamPolicy":
                return JSONResponse(_wire(policy))
            if verb != "setIamPolicy":
                return google_error(400, f"Unknown method {verb}")
            new: Json = body.get("policy") or {}
            if new.get("etag") and new["etag"] != policy.get("etag"):
                return JSONResponse(
                    {
                        "error": {
                            "code": 409,
                            "message": "There were concurrent policy changes. Please retry the "
                            "whole read-modify-write with exponential backoff.",
                            "status": "ABORTED",
                        }
                    },
                    status_code=409,
                )
            bindings = [b for b in new.get("bindings") or [] if b.get("members")]
            seed = f"{policy.get('etag')}{bindings}".encode()
            policy.update(
                bindings=bindings,
                version=int(new.get("version") or 1),
                etag=base64.b64encode(hashlib.sha256(seed).digest()[:8]).decode(),
            )
            return JSONResponse(_wire(policy))


def _wire(policy: Json) -> Json:
    """The policy as the API returns it (without the scenario's kind/resource keys)."""
    return {k: v for k, v in policy.items() if k not in ("kind", "resource")}


def instance_routes(api: ComputeApi) -> list[Route]:
    """Routes for instance actions and project IAM policies."""
    actions = InstanceActions(api)
    base = "/compute/v1/projects/{project}/zones/{zone}/instances/{name}/{action}"
    return [
        Route(base, actions.act, methods=["POST"]),
        Route("/v3/projects/{project}:{verb}", actions.iam, methods=["POST"]),
    ]
