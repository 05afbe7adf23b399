"""Cloud Storage buckets and their IAM policies → one ``Resource`` per bucket (pure, no SDK).

Input objects are ``storage#bucket`` objects as the JSON API returns them and
``storage#policy`` objects (a bucket's IAM policy, ``resourceId``
``projects/_/buckets/<bucket>``). The Resource's id is the Cloud Asset Inventory name
``//storage.googleapis.com/<bucket>``, its ``raw`` is ``{"bucket", "iam"}`` (either may be
None when an export holds only the other) and its facets are:

- ``versioning`` (bool); ``soft_delete_seconds`` (0 when off or absent);
  ``retention_seconds`` (0 when there is no retention policy) and ``retention_locked`` —
  all None when the bucket object is missing;
- ``public_access_prevention`` (``enforced``/``inherited``; None when unknown) and
  ``uniform_access`` (uniform bucket-level access, or its old name bucket policy only);
- ``public_bindings``: ``(role, member)`` pairs granting ``allUsers`` or
  ``allAuthenticatedUsers`` — None when the IAM policy was not read;
- ``public_acls``: ``(entity, role)`` pairs of the bucket's ACL and default object ACL that
  name ``allUsers``/``allAuthenticatedUsers`` (empty when the object carries no ACLs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clamp.model import Provider, Resource, ResourceType

STORAGE = "//storage.googleapis.com"
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
POLICY_PREFIX = "projects/_/buckets/"


def bucket_name(resource_id: str) -> str:
    """The bucket name in ``//storage.googleapis.com/<bucket>``."""
    return resource_id.removeprefix(STORAGE + "/")


def buckets(project: str, objects: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """One Resource per bucket among ``objects`` (other kinds are ignored)."""
    found: dict[str, dict[str, Any]] = {}
    for obj in objects:
        match obj.get("kind"):
            case "storage#bucket":
                found.setdefault(str(obj.get("name", "")), {"bucket": None, "iam": None})[
                    "bucket"
                ] = obj
            case "storage#policy":  # resourceId: projects/_/buckets/B (or projects/P/...)
                name = str(obj.get("resourceId", "")).rpartition("/buckets/")[2]
                found.setdefault(name, {"bucket": None, "iam": None})["iam"] = obj
    return [
        Resource(
            id=f"{STORAGE}/{name}",
            provider=Provider.GCP,
            type=ResourceType.GCS_BUCKET,
            name=name,
            scope=project,
            facets=bucket_facets(parts),
            raw=parts,
            tags=dict((parts["bucket"] or {}).get("labels") or {}),
        )
        for name, parts in found.items()
        if name
    ]


def bucket_facets(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The protection facets of one bucket from its parts (see the module docstring)."""
    bucket = parts.get("bucket")
    iam = parts.get("iam")
    facets: dict[str, Any] = {
        "versioning": None,
        "soft_delete_seconds": None,
        "retention_seconds": None,
        "retention_locked": None,
        "public_access_prevention": None,
        "uniform_access": None,
        "public_bindings": None if iam is None else public_bindings(iam),
        "public_acls": (),
    }
    if bucket is None:
        return facets
    iam_config = bucket.get("iamConfiguration") or {}
    retention = bucket.get("retentionPolicy") or {}
    uniform = iam_config.get("uniformBucketLevelAccess") or iam_config.get("bucketPolicyOnly")
    prevention = iam_config.get("publicAccessPrevention")
    facets.update(
        versioning=bool((bucket.get("versioning") or {}).get("enabled")),
        soft_delete_seconds=int(
            (bucket.get("softDeletePolicy") or {}).get("retentionDurationSeconds") or 0
        ),
        retention_seconds=int(retention.get("retentionPeriod") or 0),
        retention_locked=bool(retention.get("isLocked")),
        public_access_prevention="inherited" if prevention == "unspecified" else prevention,
        uniform_access=bool((uniform or {}).get("enabled")),
        public_acls=tuple(
            (str(entry.get("entity")), str(entry.get("role", "")))
            for entry in [*(bucket.get("acl") or []), *(bucket.get("defaultObjectAcl") or [])]
            if entry.get("entity") in PUBLIC_MEMBERS
        ),
    )
    return facets


def public_bindings(policy: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """``(role, member)`` for every binding of ``policy`` that names the public."""
    return tuple(
        (str(binding.get("role", "")), member)
        for binding in policy.get("bindings") or []
        for member in binding.get("members") or []
        if member in PUBLIC_MEMBERS
    )
