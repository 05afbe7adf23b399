"""The Cloud Storage JSON API side of the sandbox: buckets and bucket IAM policies.

Buckets live in ``state.gcp[project]`` as ``storage#bucket`` objects exactly as the API
returns them, their IAM policies beside them as ``storage#policy`` objects (``resourceId``
``projects/_/buckets/<bucket>``). What Cloud Storage enforces, the sandbox enforces (see
``gcs_rules``): metageneration preconditions (412/304), IAM etags (412, nothing changed),
versioning and a retention policy excluding each other, a locked retention policy that is
never removed or shortened, soft-delete bounds, and public access prevention refusing
public grants. Every bucket write bumps the metageneration and the etag.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox import gcs_rules as rules
from clamp.sandbox.gcp_errors import google_error
from clamp.sandbox.gcp_listing import one_page
from clamp.sandbox.state import Json, SandboxState, merge_patch

BASE = "/storage/v1/b"
NEW_BUCKET_SOFT_DELETE = str(7 * 86400)  # new buckets get a 7-day soft delete policy


async def _body(request: Request) -> Json | Response:
    """The request's JSON object, or a 400 in Google's shape."""
    try:
        body: Any = json.loads(await request.body() or b"{}")
    except ValueError:
        return google_error(400, "Parse Error: the request body is not valid JSON.")
    if not isinstance(body, dict):
        return google_error(400, "Invalid request: the body must be a JSON object.")
    return body


def _precondition(request: Request, bucket: Json) -> Response | None:
    """412 (or 304 on a read) when ``ifMetagenerationMatch``/``NotMatch`` does not hold."""
    current = str(bucket.get("metageneration"))
    match = request.query_params.get("ifMetagenerationMatch")
    not_match = request.query_params.get("ifMetagenerationNotMatch")
    for value in (match, not_match):
        if value is not None and not value.lstrip("-").isdigit():
            return google_error(400, f"Invalid argument: metageneration {value!r} is not a number.")
    if match is not None and int(match) != int(current):
        return google_error(412, rules.CONDITION_NOT_MET)
    if not_match is not None and int(not_match) == int(current):
        if request.method == "GET":
            return Response(status_code=304)
        return google_error(412, rules.CONDITION_NOT_MET)
    return None


class GcsApi:
    """The request handlers, over one ``SandboxState`` (every access under its lock)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        with state.lock:
            for project, objects in state.gcp.items():
                for obj in objects:
                    if obj.get("kind") == "storage#bucket":
                        rules.complete_bucket(project, obj)

    # -- state lookups (callers hold the lock) --------------------------------------------
    def _find(self, name: str) -> tuple[str, Json] | None:
        """The project and stored bucket named ``name`` (completed in place), or None."""
        for project, objects in self.state.gcp.items():
            for obj in objects:
                if obj.get("kind") == "storage#bucket" and obj.get("name") == name:
                    return project, rules.complete_bucket(project, obj)
        return None

    def _locate(self, request: Request) -> tuple[str, Json] | Response:
        found = self._find(request.path_params["bucket"])
        return google_error(404, rules.NO_BUCKET) if found is None else found

    @staticmethod
    def _is_policy_of(obj: Json, name: str) -> bool:
        owner = str(obj.get("resourceId", "")).rpartition("/buckets/")[2]
        return obj.get("kind") == "storage#policy" and owner == name

    def _policy(self, project: str, name: str) -> Json:
        """The bucket's stored IAM policy; GCS's default one is stored on first access."""
        objects = self.state.gcp[project]
        stored = next((o for o in objects if self._is_policy_of(o, name)), None)
        if stored is None:
            stored = rules.default_policy(project, name)
            objects.append(stored)
        return stored

    def _write(self, request: Request, project: str, bucket: Json, new: Json) -> Response:
        """Replace ``bucket`` by ``new`` if GCS would allow it; answer as GCS does."""
        problem = rules.refusal(bucket, new)
        if problem is not None:
            return google_error(*problem)
        settled = rules.settle(project, bucket, new)
        bucket.clear()
        bucket.update(settled)
        return JSONResponse(rules.shown(bucket, request.query_params.get("projection", "full")))

    # -- handlers -------------------------------------------------------------------------
    async def buckets(self, request: Request) -> Response:
        """``buckets.list`` (GET) and ``buckets.insert`` (POST) for ``?project=``."""
        project = request.query_params.get("project")
        body = await _body(request) if request.method == "POST" else {}
        if isinstance(body, Response):
            return body
        if not project:
            return google_error(400, "Required parameter: project")
        with self.state.lock:
            if project not in self.state.gcp:
                return google_error(404, "The requested project was not found.")
            if request.method == "POST":
                return self._insert(request, project, body)
            prefix = request.query_params.get("prefix", "")
            projection = request.query_params.get("projection")
            items = sorted(
                (
                    rules.shown(rules.complete_bucket(project, o), projection)
                    for o in self.state.gcp[project]
                    if o.get("kind") == "storage#bucket"
                    and str(o.get("name", "")).startswith(prefix)
                ),
                key=lambda b: str(b["name"]),
            )
        page, following = one_page(request, items, size_param="maxResults")
        listing: Json = {"kind": "storage#buckets", "items": page}
        if following:
            listing["nextPageToken"] = following
        return JSONResponse(listing)

    def _insert(self, request: Request, project: str, body: Json) -> Response:
        name = str(body.get("name") or "")
        if not rules.BUCKET_NAME.match(name) or (len(name) > 63 and "." not in name):
            return google_error(400, f"Invalid bucket name: '{name}'")
        found = self._find(name)
        if found is not None:
            return google_error(
                409,
                "Your previous request to create the named bucket succeeded and you already own it."
                if found[0] == project
                else "The requested bucket name is not available. The bucket namespace is "
                "shared by all users of the system. Please select a different name and try "
                "again.",
            )
        body.setdefault("softDeletePolicy", {"retentionDurationSeconds": NEW_BUCKET_SOFT_DELETE})
        problem = rules.refusal({}, body)
        if problem is not None:
            return google_error(*problem)
        created = {"kind": "storage#bucket", "id": name, "name": name}
        created = rules.settle(project, created, {**body, **created})
        self.state.gcp[project].append(created)
        return JSONResponse(rules.shown(created, request.query_params.get("projection")))

    async def bucket(self, request: Request) -> Response:
        """``buckets.get``, ``patch``, ``update`` (PUT) and ``delete`` of one bucket."""
        body = await _body(request) if request.method in ("PATCH", "PUT") else {}
        if isinstance(body, Response):
            return body
        with self.state.lock:
            found = self._locate(request)
            if isinstance(found, Response):
                return found
            project, bucket = found
            if (refused := _precondition(request, bucket)) is not None:
                return refused
            match request.method:
                case "GET":
                    projection = request.query_params.get("projection")
                    return JSONResponse(rules.shown(bucket, projection))
                case "DELETE":
                    name = bucket["name"]
                    self.state.gcp[project] = [
                        o
                        for o in self.state.gcp[project]
                        if o is not bucket and not self._is_policy_of(o, name)
                    ]
                    return Response(status_code=204)
                case "PATCH":
                    return self._write(request, project, bucket, merge_patch(bucket, body))
                case _:
                    return self._write(request, project, bucket, body)

    async def iam(self, request: Request) -> Response:
        """``getIamPolicy`` (GET) and ``setIamPolicy`` (PUT, refused on a stale etag)."""
        body = await _body(request) if request.method == "PUT" else {}
        if isinstance(body, Response):
            return body
        requested = request.query_params.get("optionsRequestedPolicyVersion", "1")
        if requested not in ("1", "2", "3"):
            return google_error(400, f"Invalid requested policy version: {requested}")
        with self.state.lock:
            found = self._locate(request)
            if isinstance(found, Response):
                return found
            project, bucket = found
            policy = self._policy(project, bucket["name"])
            if request.method == "GET":
                return JSONResponse(policy)
            return self._set_policy(bucket, policy, body)

    @staticmethod
    def _set_policy(bucket: Json, policy: Json, body: Json) -> Response:
        if body.get("etag") and body["etag"] != policy.get("etag"):
            return google_error(412, rules.CONDITION_NOT_MET)
        bindings = body.get("bindings") or []
        if (malformed := rules.bindings_refusal(bindings)) is not None:
            return google_error(400, malformed)
        granted = rules.public_members(bindings)
        prevention = bucket["iamConfiguration"].get("publicAccessPrevention")
        if granted and prevention == "enforced":
            return google_error(
                412,
                f"The member bindings {', '.join(sorted(granted))} are not allowed since "
                "public access prevention is enforced on this bucket.",
            )
        policy.update(
            bindings=[dict(b, members=list(b["members"])) for b in bindings if b.get("members")],
            version=int(body.get("version") or 1),
            etag=rules.next_policy_etag(str(policy.get("etag") or "")),
        )
        return JSONResponse(policy)

    async def test_permissions(self, request: Request) -> Response:
        """``testIamPermissions``: the sandbox's caller holds every permission it asks for."""
        asked = request.query_params.getlist("permissions")
        if not asked:
            return google_error(400, "Required parameter: permissions")
        with self.state.lock:
            found = self._locate(request)
            if isinstance(found, Response):
                return found
        return JSONResponse({"kind": "storage#testIamPermissionsResponse", "permissions": asked})

    async def lock_retention(self, request: Request) -> Response:
        """``lockRetentionPolicy``: needs ``ifMetagenerationMatch``; irreversible."""
        with self.state.lock:
            found = self._locate(request)
            if isinstance(found, Response):
                return found
            project, bucket = found
            if request.query_params.get("ifMetagenerationMatch") is None:
                return google_error(400, "Required parameter: ifMetagenerationMatch")
            if (refused := _precondition(request, bucket)) is not None:
                return refused
            if (bucket.get("retentionPolicy") or {}).get("retentionPeriod") is None:
                return google_error(400, "The bucket has no retention policy to lock.")
            settled = rules.settle(project, bucket, bucket)
            settled["retentionPolicy"]["isLocked"] = True
            bucket.clear()
            bucket.update(settled)
            return JSONResponse(bucket)


def gcs_routes(state: SandboxState) -> list[Route]:
    """The Cloud Storage JSON API routes, to mount on the sandbox's Google listener."""
    api = GcsApi(state)
    return [
        Route(BASE, api.buckets, methods=["GET", "POST"]),
        Route(BASE + "/{bucket}", api.bucket, methods=["GET", "PATCH", "PUT", "DELETE"]),
        Route(BASE + "/{bucket}/iam", api.iam, methods=["GET", "PUT"]),
        Route(BASE + "/{bucket}/iam/testPermissions", api.test_permissions, methods=["GET"]),
        Route(BASE + "/{bucket}/lockRetentionPolicy", api.lock_retention, methods=["POST"]),
    ]
