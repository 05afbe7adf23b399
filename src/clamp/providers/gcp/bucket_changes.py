"""The protections of a Cloud Storage bucket in the JSON API's shapes (pure: the changes
``StorageService`` applies).

A draft's parts are the ``bucket`` (versioning, soft-delete policy, retention policy,
public access prevention, written by ``Bucket.patch``) and its ``iam`` policy (public
grants removed, by ``Bucket.set_iam_policy`` with the policy's etag). Order: the IAM
policy first, then the bucket, so undo puts public access prevention back to its old value
before it restores any public grant.

Know the conflicts: object versioning and a retention policy cannot both be set on a
bucket, and a locked retention policy can never be removed or shortened — the protections
refuse with an explanation rather than let the API fail half-way.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from clamp.errors import InputError, PlanRefused
from clamp.model import Change, ChangeType, Provider, Resource
from clamp.providers.gcp.normalize_storage import PUBLIC_MEMBERS, bucket_facets
from clamp.providers.storage_changes import Draft, StorageChanges, update

DAY = 86400
SOFT_DELETE_DAYS = (7, 90)  # softDeletePolicy.retentionDurationSeconds: 7 to 90 days


class GcsBucketChanges(StorageChanges):
    """A Cloud Storage bucket's settings and its IAM policy."""

    provider = Provider.GCP
    noun = "bucket"

    def edited(self, draft: Draft) -> Resource:
        """The bucket with its facets recomputed from the draft."""
        return replace(draft.resource, raw=draft.parts, facets=bucket_facets(draft.parts))

    def changes(self, draft: Draft) -> tuple[Change, ...]:
        """The IAM policy, then the bucket (both targeted at the bucket)."""
        before = draft.resource.raw
        target = draft.resource.id
        return (
            *update(
                before.get("iam"),
                draft.parts.get("iam"),
                ChangeType.GCS_BUCKET_POLICY,
                "Bucket.set_iam_policy",
                target,
            ),
            *update(
                before.get("bucket"),
                draft.parts.get("bucket"),
                ChangeType.GCS_BUCKET,
                "Bucket.patch",
                target,
            ),
        )

    def enable_versioning(self, draft: Draft) -> None:
        """Object versioning on (refused when a retention policy is set)."""
        bucket = _bucket(draft)
        if (bucket.get("versioning") or {}).get("enabled"):
            return
        policy = bucket.get("retentionPolicy") or {}
        if policy.get("retentionPeriod"):
            locked = policy.get("isLocked")
            raise PlanRefused(
                f"bucket {draft.resource.name} has a {'locked ' if locked else ''}retention "
                "policy, and Cloud Storage does not allow versioning together with one",
                hint="the retention policy already protects its objects from deletion"
                if locked
                else "remove the retention policy first if you prefer versioning",
            )
        bucket["versioning"] = {"enabled": True}
        draft.steps.append("object versioning: off → on")
        draft.effects.append(
            "overwritten and deleted objects are kept as noncurrent versions, billed as "
            "storage (add a lifecycle rule to delete old versions)"
        )

    def enable_soft_delete(self, draft: Draft, days: int) -> None:
        """A soft-delete policy of ``days`` (7 to 90), where there is none."""
        low, high = SOFT_DELETE_DAYS
        if not low <= days <= high:
            raise InputError(f"Cloud Storage soft delete lasts {low} to {high} days, not {days}")
        bucket = _bucket(draft)
        if int((bucket.get("softDeletePolicy") or {}).get("retentionDurationSeconds") or 0):
            return
        bucket["softDeletePolicy"] = {"retentionDurationSeconds": str(days * DAY)}
        draft.steps.append(f"soft delete: off → {days} days")
        draft.effects.append(f"deleted objects stay restorable (and billed) for {days} days")

    def protect_from_deletion(
        self, draft: Draft, finding: str, method: str | None, days: int | None
    ) -> None:
        """A retention policy of ``days`` (default 7), or versioning if ``method`` says so."""
        if method == "versioning":
            self.enable_versioning(draft)
        else:
            _set_retention(draft, days or 7, lock=False)

    def block_public_access(self, draft: Draft) -> None:
        """Enforce public access prevention and drop every public grant from the IAM policy."""
        bucket = _bucket(draft)
        iam = draft.parts.get("iam")
        if iam is None:
            raise PlanRefused(
                f"the IAM policy of bucket {draft.resource.name} was not read",
                hint="re-scan the project with `clamp scan`",
            )
        removed = []
        for binding in iam.get("bindings") or []:
            members = binding.get("members") or []
            public = [m for m in members if m in PUBLIC_MEMBERS]
            removed += [f"{m} from {binding.get('role')}" for m in public]
            binding["members"] = [m for m in members if m not in PUBLIC_MEMBERS]
        iam["bindings"] = [b for b in iam.get("bindings") or [] if b.get("members")]
        if removed:
            draft.steps.append(f"IAM policy: remove {', '.join(removed)}; other grants unchanged")
        config = bucket.setdefault("iamConfiguration", {})
        if config.get("publicAccessPrevention") != "enforced":
            config["publicAccessPrevention"] = "enforced"
            draft.steps.append("public access prevention: not enforced → enforced")
        draft.effects.append(
            "anonymous and all-authenticated-users reads stop (public links, static sites "
            "served from the bucket); signed URLs and granted identities keep working"
        )

    def require_secure_transport(self, draft: Draft) -> None:
        """Refused: a bucket has no transport setting to change."""
        raise PlanRefused(f"bucket {draft.resource.name} has no transport setting to change")

    def lock_retention(self, draft: Draft, days: int | None) -> None:
        """Set the retention policy if there is none (``days`` needed then), and lock it."""
        if not draft.resource.facets.get("retention_seconds") and days is None:
            raise InputError(
                "lock_retention_policy needs --param days=N: the bucket has no retention "
                "policy yet, and a locked one can never be shortened, so Clamp will not pick one"
            )
        _set_retention(draft, days or 0, lock=True)


def _bucket(draft: Draft) -> dict[str, Any]:
    if draft.parts.get("bucket") is None:
        raise PlanRefused(
            f"the settings of bucket {draft.resource.name} were not read",
            hint="re-scan the project with `clamp scan` (not an IAM-only export)",
        )
    return draft.part("bucket")


def _retention_days(bucket: dict[str, Any]) -> int:
    return int((bucket.get("retentionPolicy") or {}).get("retentionPeriod") or 0) // DAY


def _set_retention(draft: Draft, days: int, *, lock: bool) -> None:
    """A retention policy of ``days`` (refused with versioning on); locked if ``lock``."""
    bucket = _bucket(draft)
    name = draft.resource.name
    if (bucket.get("versioning") or {}).get("enabled"):
        raise PlanRefused(
            f"bucket {name} has object versioning on, and Cloud Storage does not allow a "
            "retention policy together with it",
            hint="versioning already keeps deleted objects recoverable; to use a retention "
            "policy instead, turn versioning off first",
        )
    policy = dict(bucket.get("retentionPolicy") or {})
    if policy.get("isLocked"):
        raise PlanRefused(f"bucket {name}'s retention policy is already locked")
    current = _retention_days(bucket)
    if not current:
        policy["retentionPeriod"] = str(days * DAY)
        draft.steps.append(f"retention policy: none → {days} days")
        draft.effects.append(
            f"no object can be deleted or overwritten until it is {days} days old, by anyone "
            "(lifecycle rules included)"
        )
    if lock:
        policy["isLocked"] = True
        draft.steps.append(f"lock the {current or days}-day retention policy (IRREVERSIBLE)")
        draft.effects.append(
            "the policy can never be removed or shortened, and the bucket cannot be deleted "
            "while it holds objects younger than the retention period"
        )
    bucket["retentionPolicy"] = policy
