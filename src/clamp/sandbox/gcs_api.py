"""The Cloud Storage JSON API side of the sandbox: buckets and bucket IAM policies.

Buckets live in ``state.gcp[project]`` as ``storage#bucket`` objects exactly as the API
returns them, their IAM policies beside them as ``storage#policy`` objects
(``resourceId`` ``projects/_/buckets/<bucket>``). What Cloud Storage enforces, the
sandbox enforces: ``ifMetagenerationMatch`` (412), IAM etags (412, nothing changed),
versioning and a retention policy excluding each other, a locked retention policy that can
never be removed or shortened, soft-delete bounds, and public access prevention refusing
public grants. Every write bumps the bucket's metageneration and etag.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp import google_error
from clamp.sandbox.gcp_listing import one_page
from clamp.sandbox.state import Json, SandboxState

BASE = "/storage/v1/b"
LINK = "https://www.googleapis.com/storage/v1/b/"
PUBLIC = ("allUsers", "allAuthenticatedUsers")
SOFT_DELETE_BOUNDS = (7 * 86400, 90 * 86400)
NO_BUCKET = "The specified bucket does not exist."


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _etag(generation: int) -> str:
    """GCS-style etag: the metageneration as a protobuf varint, base64."""
    out, value = bytearray([0x08]), generation
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return base64.b64encode(bytes(out)).decode()


def merge_patch(target: Json, patch: Json) -> Json:
    """RFC 7396 JSON merge patch: objects merge, ``null`` deletes, everything else replaces."""
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _problem(old: Json, new: Json) -> tuple[int, str] | None:
    """Why Cloud Storage would refuse to turn bucket ``old`` into ``new``, or None."""
    old_policy, policy = old.get("retentionPolicy") or {}, new.get("retentionPolicy") or {}
    if old_policy.get("isLocked"):
        if not policy.get("retentionPeriod"):
            return 403, "Cannot remove a locked retention policy."
        if int(policy["retentionPeriod"]) < int(old_policy.get("retentionPeriod") or 0):
            return 403, "Cannot reduce the retention period of a locked retention policy."
    if policy.get("isLocked") and not old_policy.get("isLocked"):
        return 400, "A retention policy can only be locked with lockRetentionPolicy."
    if policy.get("retentionPeriod") and (new.get("versioning") or {}).get("enabled"):
        return 400, (
            "Object Versioning cannot be enabled on a bucket with a retention policy, and a "
            "retention policy cannot be set on a bucket with Object Versioning enabled."
        )
    seconds = int((new.get("softDeletePolicy") or {}).get("retentionDurationSeconds") or 0)
    if seconds and not SOFT_DELETE_BOUNDS[0] <= seconds <= SOFT_DELETE_BOUNDS[1]:
        return 400, "The soft delete retention duration must be 0 or between 7 and 90 days."
    prevention = (new.get("iamConfiguration") or {}).get("publicAccessPrevention")
    if prevention not in (None, "enforced", "inherited", "unspecified"):
        return 400, f"Invalid value for publicAccessPrevention: {prevention}"
    return None


class GcsApi:
    """Request handlers over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        with state.lock:
            for project, objects in state.gcp.items():
                for obj in objects:
                    if obj.get("kind") == "storage#bucket":
                        self._complete(project, obj)

    # -- lookups --------------------------------------------------------------------------
    def _find(self, name: str) -> tuple[str, Json] | None:
        for project, objects in self.state.gcp.items():
            for obj in objects:
                if obj.get("kind") == "storage#bucket" and obj.get("name") == name:
                    return project, obj
        return None

    def _policy(self, project: str, name: str) -> Json:
        resource = f"projects/_/buckets/{name}"
        objects = self.state.gcp[project]
        for obj in objects:
            owner = str(obj.get("resourceId", "")).rpartition("/buckets/")[2]
            if obj.get("kind") == "storage#policy" and owner == name:
                return obj
        default: Json = {
            "kind": "storage#policy",
            "resourceId": resource,
            "version": 1,
            "etag": "CAE=",
            "bindings": [
                {
                    "role": "roles/storage.legacyBucketOwner",
                    "members": [f"projectEditor:{project}", f"projectOwner:{project}"],
                },
                {
                    "role": "roles/storage.legacyBucketReader",
                    "members": [f"projectViewer:{project}"],
                },
            ],
        }
        objects.append(default)
        return default

    @staticmethod
    def _complete(project: str, bucket: Json) -> Json:
        """Fill in what GCS sets on every bucket (kept in state once set)."""
        name = str(bucket.get("name", ""))
        number = int(hashlib.sha256(project.encode()).hexdigest()[:10], 16)
        bucket.setdefault("id", name)
        bucket.setdefault("selfLink", LINK + name)
        bucket.setdefault("projectNumber", str(number))
        bucket.setdefault("metageneration", "1")
        bucket["metageneration"] = str(bucket["metageneration"])
        bucket.setdefault("etag", _etag(int(bucket["metageneration"])))
        bucket.setdefault("timeCreated", _now())
        bucket.setdefault("updated", bucket["timeCreated"])
        bucket.setdefault("location", "US")
        bucket.setdefault("storageClass", "STANDARD")
        config = bucket.setdefault("iamConfiguration", {})
        config.setdefault("uniformBucketLevelAccess", {"enabled": False})
        config.setdefault("bucketPolicyOnly", dict(config["uniformBucketLevelAccess"]))
        config.setdefault("publicAccessPrevention", "inherited")
        return bucket

    # -- handlers -------------------------------------------------------------------------
    async def buckets(self, request: Request) -> Response:
        """List the buckets of ``?project=`` (GET) or create one (POST)."""
        project = request.query_params.get("project", "")
        with self.state.lock:
            if project not in self.state.gcp:
                return google_error(404, f"The project {project} does not exist.")
            if request.method == "POST":
                body: Json = await request.json()
                if self._find(str(body.get("name", ""))) is not None:
                    return google_error(
                        409,
                        "Your previous request to create the named bucket succeeded and you already own it.",
                    )
                bucket = self._complete(project, {"kind": "storage#bucket", **body})
                self.state.gcp[project].append(bucket)
                return JSONResponse(bucket)
            prefix = request.query_params.get("prefix", "")
            items = [
                self._shown(request, o)
                for o in self.state.gcp[project]
                if o.get("kind") == "storage#bucket" and str(o.get("name", "")).startswith(prefix)
            ]
        page, following = one_page(request, items, size_param="maxResults")
        body = {"kind": "storage#buckets", "items": page}
        if following:
            body["nextPageToken"] = following
        return JSONResponse(body)

    @staticmethod
    def _shown(request: Request, bucket: Json) -> Json:
        if request.query_params.get("projection") == "full":
            return bucket
        return {k: v for k, v in bucket.items() if k not in ("acl", "defaultObjectAcl")}

    async def bucket(self, request: Request) -> Response:
        """GET, PATCH, PUT or DELETE one bucket."""
        name = request.path_params["bucket"]
        with self.state.lock:
            found = self._find(name)
            if found is None:
                return google_error(404, NO_BUCKET)
            project, bucket = found
            if (refusal := self._precondition(request, bucket)) is not None:
                return refusal
            match request.method:
                case "GET":
                    return JSONResponse(self._shown(request, bucket))
                case "DELETE":
                    self.state.gcp[project] = [
                        o
                        for o in self.state.gcp[project]
                        if o is not bucket
                        and str(o.get("resourceId", "")).rpartition("/buckets/")[2] != name
                    ]
                    return Response(status_code=204)
            body: Json = await request.json()
            fixed: Json = {
                k: bucket[k]
                for k in ("kind", "id", "name", "selfLink", "projectNumber", "timeCreated")
                if k in bucket
            }
            new = merge_patch(bucket, body) if request.method == "PATCH" else {**body, **fixed}
            return self._write(bucket, {**new, **fixed})

    def _write(self, bucket: Json, new: Json) -> Response:
        problem = _problem(bucket, new)
        if problem is not None:
            return google_error(*problem)
        for key, field in (
            ("softDeletePolicy", "retentionDurationSeconds"),
            ("retentionPolicy", "retentionPeriod"),
        ):  # int64 fields travel as strings in the JSON API
            if isinstance(new.get(key), dict) and new[key].get(field) is not None:
                new[key][field] = str(new[key][field])
        for key in ("softDeletePolicy", "retentionPolicy"):
            if new.get(key) and (new[key] != bucket.get(key) or "effectiveTime" not in new[key]):
                new[key] = {**new[key], "effectiveTime": _now()}
        uniform = (new.get("iamConfiguration") or {}).get("uniformBucketLevelAccess") or {}
        if uniform.get("enabled") and "lockedTime" not in uniform:
            locked = (datetime.now(UTC) + timedelta(days=90)).isoformat(timespec="milliseconds")
            uniform["lockedTime"] = locked.replace("+00:00", "Z")
        if uniform:
            new["iamConfiguration"]["bucketPolicyOnly"] = dict(uniform)
        if (new.get("iamConfiguration") or {}).get("publicAccessPrevention") == "unspecified":
            new["iamConfiguration"]["publicAccessPrevention"] = "inherited"
        generation = int(bucket.get("metageneration") or 1) + 1
        new.update(metageneration=str(generation), etag=_etag(generation), updated=_now())
        bucket.clear()
        bucket.update(new)
        return JSONResponse(bucket)

    @staticmethod
    def _precondition(request: Request, bucket: Json) -> Response | None:
        current = str(bucket.get("metageneration"))
        match = request.query_params.get("ifMetagenerationMatch")
        if match is not None and match != current:
            return google_error(
                412, "At least one of the pre-conditions you specified did not hold."
            )
        not_match = request.query_params.get("ifMetagenerationNotMatch")
        if not_match is not None and not_match == current:
            return Response(status_code=304)
        return None

    async def iam(self, request: Request) -> Response:
        """GET or PUT a bucket's IAM policy (PUT refused on a stale etag)."""
        name = request.path_params["bucket"]
        with self.state.lock:
            found = self._find(name)
            if found is None:
                return google_error(404, NO_BUCKET)
            project, bucket = found
            policy = self._policy(project, name)
            if request.method == "GET":
                return JSONResponse(policy)
            body: Json = await request.json()
            if body.get("etag") and body["etag"] != policy.get("etag"):
                return google_error(
                    412, "At least one of the pre-conditions you specified did not hold."
                )
            bindings = [b for b in body.get("bindings") or [] if b.get("members")]
            granted = {m for b in bindings for m in b["members"]}
            if (bucket.get("iamConfiguration") or {}).get(
                "publicAccessPrevention"
            ) == "enforced" and (granted & set(PUBLIC)):
                return google_error(
                    412,
                    "The member bindings allUsers and allAuthenticatedUsers are not allowed "
                    "since public access prevention is enforced.",
                )
            seed = f"{policy.get('etag')}{bindings}".encode()
            policy.update(
                bindings=bindings,
                version=int(body.get("version") or 1),
                etag=base64.b64encode(hashlib.sha256(seed).digest()[:6]).decode(),
            )
            return JSONResponse(policy)

    async def lock_retention(self, request: Request) -> Response:
        """Lock a bucket's retention policy (needs ``ifMetagenerationMatch``)."""
        name = request.path_params["bucket"]
        with self.state.lock:
            found = self._find(name)
            if found is None:
                return google_error(404, NO_BUCKET)
            _, bucket = found
            if request.query_params.get("ifMetagenerationMatch") is None:
                return google_error(400, "Required parameter: ifMetagenerationMatch")
            if (refusal := self._precondition(request, bucket)) is not None:
                return refusal
            policy = bucket.get("retentionPolicy") or {}
            if not policy.get("retentionPeriod"):
                return google_error(400, "The bucket has no retention policy to lock.")
            new = copy.deepcopy(bucket)
            new["retentionPolicy"]["isLocked"] = True
            generation = int(bucket.get("metageneration") or 1) + 1
            new.update(metageneration=str(generation), etag=_etag(generation), updated=_now())
            bucket.clear()
            bucket.update(new)
            return JSONResponse(bucket)


def gcs_routes(state: SandboxState) -> list[Route]:
    """The Cloud Storage JSON API routes, to mount on the sandbox's Google listener."""
    api = GcsApi(state)
    return [
        Route(BASE, api.buckets, methods=["GET", "POST"]),
        Route(BASE + "/{bucket}", api.bucket, methods=["GET", "PATCH", "PUT", "DELETE"]),
        Route(BASE + "/{bucket}/iam", api.iam, methods=["GET", "PUT"]),
        Route(BASE + "/{bucket}/lockRetentionPolicy", api.lock_retention, methods=["POST"]),
    ]
