"""The protections of an Azure storage account in ARM's shapes (pure: the changes
``StorageService`` applies).

A draft's parts are the ``account`` (HTTPS only, minimum TLS, ``allowBlobPublicAccess``,
written by ``StorageAccountsOperations.update``), its ``blobService`` (versioning, blob and
container soft delete, by ``BlobServicesOperations.set_service_properties``) and its
management ``locks`` (a new ``CanNotDelete`` lock, by ``create_or_update_by_scope``).
Order: the account, then the blob service, then new locks last, so everything is protected
before it is locked (and undo unlocks first). Azure has no retention lock on a whole
account (immutability policies are per container), so ``lock_retention`` is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from clamp.errors import InputError, PlanRefused
from clamp.model import Change, ChangeOp, ChangeType, Provider, Resource
from clamp.providers.azure.normalize_storage import account_facets
from clamp.providers.storage_changes import Draft, StorageChanges, update

LOCK_NAME = "clamp-do-not-delete"
TLS_OK = ("TLS1_2", "TLS1_3")


class AzureStorageChanges(StorageChanges):
    """An Azure storage account's settings, blob service and management locks."""

    provider = Provider.AZURE
    noun = "storage account"

    def edited(self, draft: Draft) -> Resource:
        """The account with its facets recomputed from the draft."""
        return replace(draft.resource, raw=draft.parts, facets=account_facets(draft.parts))

    def changes(self, draft: Draft) -> tuple[Change, ...]:
        """The account, the blob service, then the new locks."""
        before = draft.resource.raw
        return (
            *update(
                before.get("account"),
                draft.parts.get("account"),
                ChangeType.AZURE_STORAGE_ACCOUNT,
                "StorageAccountsOperations.update",
            ),
            *update(
                before.get("blobService"),
                draft.parts.get("blobService"),
                ChangeType.AZURE_BLOB_SERVICE,
                "BlobServicesOperations.set_service_properties",
            ),
            *_created_locks(before.get("locks") or [], draft.parts.get("locks") or []),
        )

    def enable_versioning(self, draft: Draft) -> None:
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

    def enable_soft_delete(self, draft: Draft, days: int) -> None:
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

    def protect_from_deletion(
        self, draft: Draft, finding: str, method: str | None, days: int | None
    ) -> None:
        """A ``CanNotDelete`` management lock on the account (there is no choice)."""
        given = [name for name, value in (("days", days), ("method", method)) if value is not None]
        if given:
            raise InputError(f"protect_from_deletion takes no parameters on Azure, not {given}")
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

    def block_public_access(self, draft: Draft) -> None:
        """``allowBlobPublicAccess: false`` on the account."""
        props = _props(draft, "account")
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

    def require_secure_transport(self, draft: Draft) -> None:
        """HTTPS only, and TLS 1.2 as the minimum version."""
        props = _props(draft, "account")
        if props.get("supportsHttpsTrafficOnly") is False:
            props["supportsHttpsTrafficOnly"] = True
            draft.steps.append("secure transfer: HTTP allowed → HTTPS only")
            draft.effects.append("clients using plain http:// URLs are refused")
        old = str(props.get("minimumTlsVersion") or "TLS1_0")
        if old not in TLS_OK:
            props["minimumTlsVersion"] = "TLS1_2"
            draft.steps.append(f"minimum TLS: {old} → TLS1_2")
            draft.effects.append("clients limited to TLS 1.0/1.1 can no longer connect")

    def lock_retention(self, draft: Draft, days: int | None) -> None:
        """Refused: Clamp locks no retention on an Azure storage account."""
        raise PlanRefused(
            f"Clamp locks no retention policy on Azure storage account {draft.resource.name}"
        )


def _props(draft: Draft, name: str) -> dict[str, Any]:
    """The ``properties`` of a part, to edit in place."""
    props: dict[str, Any] = draft.part(name).setdefault("properties", {})
    return props


def _service(draft: Draft) -> dict[str, Any]:
    if draft.parts.get("blobService") is None:
        raise PlanRefused(
            f"the blob service settings of {draft.resource.name} were not read",
            hint="re-scan the subscription with `clamp scan` (not an offline export)",
        )
    return _props(draft, "blobService")


def _created_locks(
    before: list[Mapping[str, Any]], after: list[Mapping[str, Any]]
) -> tuple[Change, ...]:
    known = {str(lock.get("id", "")).lower() for lock in before}
    return tuple(
        Change(
            ChangeOp.CREATE,
            str(lock["id"]),
            ChangeType.AZURE_LOCK,
            None,
            dict(lock),
            "ManagementLocksOperations.create_or_update_by_scope",
        )
        for lock in after
        if str(lock.get("id", "")).lower() not in known
    )
