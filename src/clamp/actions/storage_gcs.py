"""The protections of a Cloud Storage bucket, as edits of a ``Draft`` (pure, no I/O).

Know the conflicts: object versioning and a retention policy cannot both be set on a
bucket, and a locked retention policy can never be removed or shortened — the functions
refuse with an explanation rather than let the API fail half-way.
"""

from __future__ import annotations

from typing import Any

from clamp.actions.storage_draft import Draft
from clamp.errors import PlanRefused
from clamp.providers.gcp.normalize_storage import PUBLIC_MEMBERS

DAY = 86400


def _bucket(draft: Draft) -> dict[str, Any]:
    if draft.parts.get("bucket") is None:
        raise PlanRefused(
            f"the settings of bucket {draft.resource.name} were not read",
            hint="re-scan the project with `clamp scan` (not an IAM-only export)",
        )
    return draft.part("bucket")


def _retention_days(bucket: dict[str, Any]) -> int:
    return int((bucket.get("retentionPolicy") or {}).get("retentionPeriod") or 0) // DAY


def enable_versioning(draft: Draft) -> None:
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
        "overwritten and deleted objects are kept as noncurrent versions, billed as storage "
        "(add a lifecycle rule to delete old versions)"
    )


def enable_soft_delete(draft: Draft, days: int) -> None:
    """A soft-delete policy of ``days`` (where there is none)."""
    bucket = _bucket(draft)
    if int((bucket.get("softDeletePolicy") or {}).get("retentionDurationSeconds") or 0):
        return
    bucket["softDeletePolicy"] = {"retentionDurationSeconds": str(days * DAY)}
    draft.steps.append(f"soft delete: off → {days} days")
    draft.effects.append(f"deleted objects stay restorable (and billed) for {days} days")


def set_retention(draft: Draft, days: int, *, lock: bool) -> None:
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


def block_public_access(draft: Draft) -> None:
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
