"""The protections of an Azure storage account, as edits of a ``Draft`` (pure, no I/O).

Each function turns one protection on where it is off, says what it did in
``draft.steps`` and what users may notice in ``draft.effects``; it leaves protections
that are already on exactly as they are (an enabled soft delete keeps its days).
"""

from __future__ import annotations

from typing import Any

from clamp.actions.storage_draft import Draft
from clamp.errors import PlanRefused

LOCK_NAME = "clamp-do-not-delete"
TLS_OK = ("TLS1_2", "TLS1_3")


def _service(draft: Draft) -> dict[str, Any]:
    if draft.parts.get("blobService") is None:
        raise PlanRefused(
            f"the blob service settings of {draft.resource.name} were not read",
            hint="re-scan the subscription with `clamp scan` (not an offline export)",
        )
    return draft.props("blobService")


def enable_versioning(draft: Draft) -> None:
    """Blob versioning on."""
    props = _service(draft)
    if props.get("isVersioningEnabled"):
        return
    props["isVersioningEnabled"] = True
    draft.steps.append("blob versioning: off → on")
    draft.effects.append(
        "every overwrite or delete keeps the previous version, billed as storage "
        "(add a lifecycle rule to expire old versions)"
    )


def enable_soft_delete(draft: Draft, days: int) -> None:
    """Blob and container soft delete on for ``days`` (where off)."""
    props = _service(draft)
    for key, what in (
        ("deleteRetentionPolicy", "blob"),
        ("containerDeleteRetentionPolicy", "container"),
    ):
        policy = props.get(key) or {}
        if policy.get("enabled"):
            continue
        props[key] = {**policy, "enabled": True, "days": days}
        draft.steps.append(f"{what} soft delete: off → {days} days")
    draft.effects.append(
        f"deleted blobs and containers stay recoverable (and billed) for {days} days"
    )


def protect_from_deletion(draft: Draft, finding: str) -> None:
    """A ``CanNotDelete`` management lock on the account."""
    account = draft.resource.id
    locks = draft.parts.setdefault("locks", [])
    if any(str(lock.get("name", "")).lower() == LOCK_NAME for lock in locks):
        raise PlanRefused(f"{account} already has a lock named {LOCK_NAME}")
    locks.append(
        {
            "id": f"{account}/providers/Microsoft.Authorization/locks/{LOCK_NAME}",
            "name": LOCK_NAME,
            "type": "Microsoft.Authorization/locks",
            "properties": {
                "level": "CanNotDelete",
                "notes": f"Added by Clamp (protect_from_deletion, finding {finding}); "
                "remove it with `clamp undo`",
            },
        }
    )
    draft.steps.append(f"management lock {LOCK_NAME} (CanNotDelete) on the account")
    draft.effects.append(
        "deleting the account fails until the lock is removed (it does not stop deleting "
        "blobs: soft delete and versioning cover those); deployments that delete and "
        "recreate the account will fail"
    )


def block_public_access(draft: Draft) -> None:
    """``allowBlobPublicAccess: false`` on the account."""
    props = draft.props("account")
    if props.get("allowBlobPublicAccess") is False:
        return
    props["allowBlobPublicAccess"] = False
    draft.steps.append("anonymous blob access: allowed → blocked for the whole account")
    public = draft.resource.facets.get("public_containers") or ()
    draft.effects.append(
        f"anonymous reads of container(s) {', '.join(public)} stop; links and apps that "
        "read them without a key or SAS break"
        if public
        else "no container is public now, so nothing that works today stops"
    )


def require_secure_transport(draft: Draft) -> None:
    """HTTPS only, and TLS 1.2 as the minimum version."""
    props = draft.props("account")
    if props.get("supportsHttpsTrafficOnly") is False:
        props["supportsHttpsTrafficOnly"] = True
        draft.steps.append("secure transfer: HTTP allowed → HTTPS only")
        draft.effects.append("clients using plain http:// URLs are refused")
    old = str(props.get("minimumTlsVersion") or "TLS1_0")
    if old not in TLS_OK:
        props["minimumTlsVersion"] = "TLS1_2"
        draft.steps.append(f"minimum TLS: {old} → TLS1_2")
        draft.effects.append("clients limited to TLS 1.0/1.1 can no longer connect")
