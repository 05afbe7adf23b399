"""Cloud Storage: list and read buckets with their IAM policies; patch buckets, set IAM
policies and lock retention policies (google-cloud-storage).

Concurrency: a bucket patch is conditional on the metageneration it was planned from
(``ifMetagenerationMatch``), an IAM policy write on the policy's etag, so nothing another
writer changed in between is overwritten — the write is refused and nothing changes.
Only the bucket fields Clamp's intents touch can be patched, each through the SDK's own
setter; locking a retention policy is its own call, made after the patch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import google.cloud.storage as storage
from google.api_core.iam import Policy

from clamp.errors import InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.normalize_storage import POLICY_PREFIX, STORAGE, bucket_name
from clamp.providers.interface import ProgressCallback

BUCKET_TYPE = ChangeType.GCS_BUCKET
POLICY_TYPE = ChangeType.GCS_BUCKET_POLICY
IAM_VERSION = 3


def _versioning(bucket: storage.Bucket, value: Any) -> None:
    bucket.versioning_enabled = bool((value or {}).get("enabled"))


def _soft_delete(bucket: storage.Bucket, value: Any) -> None:
    bucket.soft_delete_policy.retention_duration_seconds = int(
        (value or {}).get("retentionDurationSeconds") or 0
    )


def _retention(bucket: storage.Bucket, value: Any) -> None:
    period = (value or {}).get("retentionPeriod")
    bucket.retention_period = int(period) if period else None


def _iam_configuration(bucket: storage.Bucket, value: Any) -> None:
    config = value or {}
    uniform = config.get("uniformBucketLevelAccess") or config.get("bucketPolicyOnly") or {}
    bucket.iam_configuration.uniform_bucket_level_access_enabled = bool(uniform.get("enabled"))
    bucket.iam_configuration.public_access_prevention = (
        config.get("publicAccessPrevention") or "inherited"
    )


def _labels(bucket: storage.Bucket, value: Any) -> None:
    bucket.labels = dict(value or {})


SETTERS: dict[str, Callable[[storage.Bucket, Any], None]] = {
    "versioning": _versioning,
    "softDeletePolicy": _soft_delete,
    "retentionPolicy": _retention,
    "iamConfiguration": _iam_configuration,
    "labels": _labels,
}
# What the server fills in on its own and a planned image never sets.
SERVER_FIELDS = frozenset({"metageneration", "etag", "updated", "effectiveTime", "lockedTime"})


class StorageService:
    """Buckets and their IAM policies."""

    change_types = frozenset({BUCKET_TYPE, POLICY_TYPE})

    def __init__(self, clients: GcpClients) -> None:
        self.clients = clients

    def context(self, resource_id: str) -> list[dict[str, Any]]:
        """Nothing: other services' resources need nothing from this one."""
        return []

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is a bucket's name ``//storage.googleapis.com/B``."""
        name = bucket_name(resource_id)
        return resource_id.startswith(STORAGE + "/") and bool(name) and "/" not in name

    def collect(
        self,
        scope: str,
        progress: ProgressCallback | None,
        policies: Mapping[str, dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Every bucket of a project and its IAM policy (from ``policies``, by bucket name,
        when Cloud Asset Inventory gave it; else ``getIamPolicy``)."""
        if progress:
            progress(f"gcp {scope}: buckets")
        buckets = call(
            f"list buckets in {scope}",
            "storage.buckets.list",
            lambda: list(self.clients.storage.list_buckets(project=scope, retry=None)),
        )
        objects: list[dict[str, Any]] = []
        for bucket in buckets:
            known = (policies or {}).get(bucket.name)
            objects += [_bucket_json(bucket), known or self._policy(bucket.name)]
        return objects

    def read(self, resource_id: str) -> tuple[str, list[dict[str, Any]]]:
        """The project and raw objects (bucket, IAM policy) of one bucket."""
        name = bucket_name(resource_id)
        bucket = self._bucket(name)
        return str(bucket["projectNumber"]), [bucket, self._policy(name)]

    def _bucket(self, name: str) -> dict[str, Any]:
        return call(
            f"read bucket {name}",
            "storage.buckets.get",
            lambda: _bucket_json(self.clients.storage.get_bucket(name, retry=None)),
        )

    def _policy(self, name: str) -> dict[str, Any]:
        policy = call(
            f"read the IAM policy of bucket {name}",
            "storage.buckets.getIamPolicy",
            lambda: self.clients.storage.bucket(name).get_iam_policy(
                requested_policy_version=IAM_VERSION, retry=None
            ),
        )
        return _policy_json(name, policy)

    # -- changes --------------------------------------------------------------------------
    def current(self, change: Change) -> dict[str, Any] | None:
        """The bucket or its IAM policy as Cloud Storage has it now (None if gone)."""
        name = bucket_name(change.target)
        try:
            return self._bucket(name) if change.type == BUCKET_TYPE else self._policy(name)
        except ResourceNotFound:
            return None

    def apply(self, change: Change) -> None:
        """Patch the bucket or set its IAM policy, conditional on what the plan read."""
        if change.op != ChangeOp.UPDATE or change.before is None or change.after is None:
            raise InputError(f"Clamp only updates {change.type} objects, never creates them")
        if change.type == POLICY_TYPE:
            self._set_policy(change.target, change.before, change.after)
        else:
            self._patch(change.target, change.before, change.after)

    def _set_policy(self, target: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        name = bucket_name(target)
        # The etag read before the change: Cloud Storage refuses the write if it moved.
        # A deep copy: the SDK's Policy turns the members lists it is given into sets.
        body = {k: copy.deepcopy(v) for k, v in after.items() if k not in ("kind", "resourceId")}
        policy = Policy.from_api_repr({**body, "etag": before.get("etag")})  # type: ignore[no-untyped-call]
        call(
            f"set the IAM policy of bucket {name}",
            "storage.buckets.setIamPolicy",
            lambda: self.clients.storage.bucket(name).set_iam_policy(policy, retry=None),
        )

    def _patch(self, target: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        name = bucket_name(target)
        fields = {
            k
            for k in {*before, *after}
            if k not in SERVER_FIELDS and _plain(before.get(k)) != _plain(after.get(k))
        }
        unknown = fields - set(SETTERS)
        if unknown:
            raise InputError(f"Clamp cannot change bucket field(s) {sorted(unknown)}")
        was_locked = bool((before.get("retentionPolicy") or {}).get("isLocked"))
        lock = bool((after.get("retentionPolicy") or {}).get("isLocked")) and not was_locked
        if was_locked and "retentionPolicy" in fields and not lock:
            raise InputError(f"the retention policy of bucket {name} is locked for good")
        bucket = self.clients.storage.bucket(name)
        bucket._set_properties(dict(before))  # the image the change was planned from
        for field in sorted(fields):
            SETTERS[field](bucket, after.get(field))
        metageneration = int(before.get("metageneration") or 0)
        if fields - {"retentionPolicy"} or (
            "retentionPolicy" in fields and _period(before) != _period(after)
        ):
            call(
                f"update bucket {name}",
                "storage.buckets.update",
                lambda: bucket.patch(if_metageneration_match=metageneration, retry=None),
            )
        if lock:  # conditional on the metageneration the patch left (or the plan read)
            call(
                f"lock the retention policy of bucket {name}",
                "storage.buckets.update",
                lambda: bucket.lock_retention_policy(retry=None),
            )


def _period(obj: Mapping[str, Any]) -> int:
    return int((obj.get("retentionPolicy") or {}).get("retentionPeriod") or 0)


def _plain(value: Any) -> Any:
    """A field without the parts the server stamps (effective times), for comparison."""
    if isinstance(value, Mapping):
        return {
            k: _plain(v) for k, v in value.items() if k not in SERVER_FIELDS and k != "isLocked"
        }
    return value


def _bucket_json(bucket: storage.Bucket) -> dict[str, Any]:
    """A bucket as the JSON API returned it (the SDK keeps the response as ``_properties``)."""
    data: dict[str, Any] = dict(bucket._properties)
    data.setdefault("kind", BUCKET_TYPE)
    return data


def _policy_json(name: str, policy: Policy) -> dict[str, Any]:
    data: dict[str, Any] = policy.to_api_repr()  # type: ignore[no-untyped-call]
    return {"kind": POLICY_TYPE, "resourceId": f"{POLICY_PREFIX}{name}", **data}
