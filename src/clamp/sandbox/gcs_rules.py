"""What Cloud Storage decides about a bucket write, without any HTTP: the fields it fills
in, the changes it refuses, the server-set fields it stamps, and IAM policy defaults.

``refusal(old, new)`` answers why GCS would refuse to turn bucket ``old`` into ``new``
(an HTTP status and message) or None; ``settle(old, new)`` then stamps what the server
sets (int64 fields as strings, effective and locked times, a new metageneration and etag).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from datetime import UTC, datetime, timedelta

from clamp.sandbox.state import Json

LINK = "https://www.googleapis.com/storage/v1/b/"
NO_BUCKET = "The specified bucket does not exist."
CONDITION_NOT_MET = "At least one of the pre-conditions you specified did not hold."
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
SOFT_DELETE_DAYS = (7, 90)
MAX_RETENTION_SECONDS = 3_155_760_000  # 100 years
UNIFORM_ACCESS_LOCK_DAYS = 90
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
MEMBER_PREFIXES = (
    "user:",
    "serviceAccount:",
    "group:",
    "domain:",
    "projectOwner:",
    "projectEditor:",
    "projectViewer:",
    "principal:",
    "principalSet:",
    "deleted:",
)
# Fields the server owns: a PUT or PATCH never changes them.
SERVER_FIELDS = ("kind", "id", "name", "selfLink", "projectNumber", "timeCreated", "generation")


def timestamp(after: timedelta = timedelta()) -> str:
    """An RFC 3339 time in Cloud Storage's format (milliseconds, ``Z``), ``after`` from now."""
    moment = datetime.now(UTC) + after
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def counter_etag(value: int) -> str:
    """The etag GCS gives generation ``value``: the number as a protobuf varint, base64."""
    out = bytearray([0x08])
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return base64.b64encode(bytes(out)).decode()


def next_policy_etag(etag: str) -> str:
    """The etag an IAM policy gets on its next write (GCS counts ``CAQ=`` → ``CAU=``)."""
    try:
        raw = base64.b64decode(etag.encode(), validate=True)
    except ValueError:
        raw = b""
    if len(raw) >= 2 and raw[0] == 0x08:
        value = 0
        for shift, byte in enumerate(raw[1:]):
            value |= (byte & 0x7F) << (7 * shift)
        return counter_etag(value + 1)
    return base64.b64encode(hashlib.sha256(etag.encode()).digest()[:6]).decode()


def project_number(project: str) -> str:
    """A stable twelve-digit project number for a sandbox project id."""
    return str(int(hashlib.sha256(project.encode()).hexdigest(), 16) % 10**12).zfill(12)


def complete_bucket(project: str, bucket: Json) -> Json:
    """Fill in, in place, what GCS sets on every bucket that a scenario left out."""
    name = str(bucket.get("name", ""))
    bucket.setdefault("kind", "storage#bucket")
    bucket.setdefault("id", name)
    bucket.setdefault("selfLink", LINK + name)
    bucket.setdefault("projectNumber", project_number(project))
    bucket["metageneration"] = str(bucket.get("metageneration") or "1")
    bucket.setdefault("etag", counter_etag(int(bucket["metageneration"])))
    bucket.setdefault("timeCreated", timestamp())
    bucket.setdefault("updated", bucket["timeCreated"])
    bucket.setdefault("location", "US")
    bucket.setdefault("storageClass", "STANDARD")
    retention = bucket.get("retentionPolicy")
    if isinstance(retention, dict) and retention.get("retentionPeriod") is not None:
        retention["retentionPeriod"] = str(retention["retentionPeriod"])
        retention.setdefault("effectiveTime", bucket["timeCreated"])
        retention.setdefault("isLocked", False)
    soft = bucket.get("softDeletePolicy")
    if isinstance(soft, dict) and soft.get("retentionDurationSeconds") is not None:
        soft["retentionDurationSeconds"] = str(soft["retentionDurationSeconds"])
        if soft["retentionDurationSeconds"] != "0":  # a disabled policy has no effective time
            soft.setdefault("effectiveTime", bucket["timeCreated"])
    config = bucket.setdefault("iamConfiguration", {})
    uniform = config.get("uniformBucketLevelAccess") or config.get("bucketPolicyOnly")
    config["uniformBucketLevelAccess"] = dict(uniform or {"enabled": False})
    config["bucketPolicyOnly"] = dict(config["uniformBucketLevelAccess"])
    if config.get("publicAccessPrevention") in (None, "unspecified"):
        config["publicAccessPrevention"] = "inherited"
    return bucket


def _retention_refusal(old: Json, new: Json) -> tuple[int, str] | None:
    before, after = old.get("retentionPolicy") or {}, new.get("retentionPolicy") or {}
    period = after.get("retentionPeriod")
    if period is not None and not (
        str(period).isdigit() and 0 < int(period) <= MAX_RETENTION_SECONDS
    ):
        return 400, (
            f"Invalid retention period {period}: it must be a positive number of seconds "
            f"of at most {MAX_RETENTION_SECONDS} (100 years)."
        )
    if before.get("isLocked"):
        if period is None:
            return 403, "Cannot remove a locked retention policy from a bucket."
        if int(period) < int(before.get("retentionPeriod") or 0):
            return 403, "Cannot reduce the retention period of a locked retention policy."
    versioned = bool((new.get("versioning") or {}).get("enabled"))
    if period is not None and versioned:
        if before.get("retentionPeriod") is not None:
            return 400, (
                "Object Versioning cannot be enabled on a bucket with a retention policy; "
                "remove the retention policy first."
            )
        return 400, (
            "A retention policy cannot be set on a bucket with Object Versioning enabled; "
            "disable Object Versioning first."
        )
    return None


def _uniform_access_refusal(old: Json, new: Json) -> tuple[int, str] | None:
    was = (old.get("iamConfiguration") or {}).get("uniformBucketLevelAccess") or {}
    now = (new.get("iamConfiguration") or {}).get("uniformBucketLevelAccess") or {}
    locked = str(was.get("lockedTime") or "")
    disabling = bool(was.get("enabled")) and not now.get("enabled")
    if disabling and locked and datetime.fromisoformat(locked) < datetime.now(UTC):
        return 400, (
            f"Uniform bucket-level access was locked at {locked}; it can no longer be disabled."
        )
    return None


def refusal(old: Json, new: Json) -> tuple[int, str] | None:
    """Why Cloud Storage would refuse to turn bucket ``old`` into ``new`` (status, message)."""
    for rule in (_retention_refusal, _uniform_access_refusal):
        if (problem := rule(old, new)) is not None:
            return problem
    seconds = str((new.get("softDeletePolicy") or {}).get("retentionDurationSeconds") or "0")
    low, high = (days * 86400 for days in SOFT_DELETE_DAYS)
    if not seconds.isdigit() or (int(seconds) and not low <= int(seconds) <= high):
        return 400, (
            f"Invalid soft delete retention duration {seconds}: it must be 0 (off) or "
            f"between 7 and 90 days ({low} to {high} seconds)."
        )
    prevention = (new.get("iamConfiguration") or {}).get("publicAccessPrevention")
    if prevention not in (None, "enforced", "inherited", "unspecified"):
        return 400, (
            f"Invalid value for publicAccessPrevention: {prevention!r}; "
            "use 'enforced' or 'inherited'."
        )
    return None


def _stamp_times(old: Json, new: Json) -> None:
    for key in ("retentionPolicy", "softDeletePolicy"):
        if not isinstance(new.get(key), dict):
            continue
        if str(new[key].get("retentionDurationSeconds")) == "0":
            new[key].pop("effectiveTime", None)  # soft delete turned off
        elif new[key] != old.get(key) or "effectiveTime" not in new[key]:
            new[key] = {**new[key], "effectiveTime": timestamp()}
    if isinstance(new.get("retentionPolicy"), dict):
        # isLocked is set by lockRetentionPolicy only; a write can neither set nor clear it.
        locked = bool((old.get("retentionPolicy") or {}).get("isLocked"))
        new["retentionPolicy"]["isLocked"] = locked
    config = new.get("iamConfiguration") or {}
    uniform = config.get("uniformBucketLevelAccess") or config.get("bucketPolicyOnly")
    if isinstance(uniform, dict):
        was = ((old.get("iamConfiguration") or {}).get("uniformBucketLevelAccess")) or {}
        uniform = {"enabled": bool(uniform.get("enabled"))}
        if uniform["enabled"]:
            lock_days = timedelta(days=UNIFORM_ACCESS_LOCK_DAYS)
            uniform["lockedTime"] = (was.get("enabled") and was.get("lockedTime")) or timestamp(
                lock_days
            )
        config["uniformBucketLevelAccess"] = uniform
        config["bucketPolicyOnly"] = dict(uniform)


def settle(project: str, old: Json, new: Json) -> Json:
    """``new`` as GCS stores it after a write to ``old``: server fields kept, int64 fields
    as strings, times stamped, defaults filled, metageneration and etag bumped."""
    new = {**copy.deepcopy(new), **{k: old[k] for k in SERVER_FIELDS if k in old}}
    for key, field in (
        ("softDeletePolicy", "retentionDurationSeconds"),
        ("retentionPolicy", "retentionPeriod"),
    ):
        if isinstance(new.get(key), dict) and new[key].get(field) is not None:
            new[key][field] = str(new[key][field])
    if (
        isinstance(new.get("retentionPolicy"), dict)
        and "retentionPeriod" not in (new["retentionPolicy"])
    ):
        del new["retentionPolicy"]
    _stamp_times(old, new)
    generation = int(old.get("metageneration") or 0) + 1
    new.update(metageneration=str(generation), etag=counter_etag(generation), updated=timestamp())
    return complete_bucket(project, new)


def default_policy(project: str, bucket: str) -> Json:
    """The IAM policy GCS gives a new bucket: project owners and editors own it, viewers read."""
    return {
        "kind": "storage#policy",
        "resourceId": f"projects/_/buckets/{bucket}",
        "version": 1,
        "etag": "CAE=",
        "bindings": [
            {
                "role": "roles/storage.legacyBucketOwner",
                "members": [f"projectEditor:{project}", f"projectOwner:{project}"],
            },
            {"role": "roles/storage.legacyBucketReader", "members": [f"projectViewer:{project}"]},
        ],
    }


def bindings_refusal(bindings: object) -> str | None:
    """Why a setIamPolicy body's ``bindings`` are malformed, or None."""
    if not isinstance(bindings, list):
        return "Invalid policy: 'bindings' must be a list."
    for binding in bindings:
        if not isinstance(binding, dict) or not isinstance(binding.get("role"), str):
            return "Invalid policy: every binding needs a 'role'."
        members = binding.get("members") or []
        if not isinstance(members, list):
            return f"Invalid policy: the members of {binding['role']} must be a list."
        for member in members:
            known = member in PUBLIC_MEMBERS or str(member).startswith(MEMBER_PREFIXES)
            if not isinstance(member, str) or not known:
                return f"Invalid argument: member {member!r} of {binding['role']} is malformed."
    return None


def public_members(bindings: list[Json]) -> set[str]:
    """The public members (allUsers, allAuthenticatedUsers) that ``bindings`` grant."""
    return {m for b in bindings for m in b.get("members") or []} & PUBLIC_MEMBERS


def shown(bucket: Json, projection: str | None) -> Json:
    """The bucket as a response shows it: ``noAcl`` (the default) leaves out the ACLs."""
    if projection == "full":
        return bucket
    return {k: v for k, v in bucket.items() if k not in ("owner", "acl", "defaultObjectAcl")}
