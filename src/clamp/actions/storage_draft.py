"""A working copy of a storage account's or bucket's parts that protections edit (pure).

Each storage intent edits a ``Draft`` (the parts as read, deep-copied); the plan's changes
are then the difference between the draft and what was read, one change per cloud object,
in an order that is safe to apply and to undo in reverse. A bundle lets several intents
edit the same draft, so the account or bucket is written once per object.

Order — Azure: the account (HTTPS/TLS, public access), then the blob service (versioning,
soft delete), then new management locks last, so everything is protected before it is
locked (and undo unlocks first). GCS: the IAM policy first (public grants removed), then
the bucket (public access prevention, versioning, soft delete, retention), so undo puts
public access prevention back to its old value before it restores any public grant.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from clamp.model import Change, ChangeOp, ChangeType, Resource, ResourceType
from clamp.providers.azure.normalize_storage import account_facets
from clamp.providers.gcp.normalize_storage import bucket_facets

ACCOUNT_TYPE = ChangeType.AZURE_STORAGE_ACCOUNT
BLOB_SERVICE_TYPE = ChangeType.AZURE_BLOB_SERVICE
LOCK_TYPE = ChangeType.AZURE_LOCK
BUCKET_TYPE = ChangeType.GCS_BUCKET
POLICY_TYPE = ChangeType.GCS_BUCKET_POLICY
API_CALLS: dict[str, str] = {
    ACCOUNT_TYPE: "StorageAccountsOperations.update",
    BLOB_SERVICE_TYPE: "BlobServicesOperations.set_service_properties",
    LOCK_TYPE: "ManagementLocksOperations.create_or_update_by_scope",
    BUCKET_TYPE: "Bucket.patch",
    POLICY_TYPE: "Bucket.set_iam_policy",
}


@dataclass
class Draft:
    """The parts being edited, what each edit does in words, and what it may break."""

    resource: Resource
    parts: dict[str, Any]
    steps: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, resource: Resource) -> Draft:
        """A draft of a storage account or bucket, read just now."""
        return cls(resource, copy.deepcopy(dict(resource.raw)))

    @property
    def is_azure(self) -> bool:
        """Whether this is an Azure storage account (else a GCS bucket)."""
        return self.resource.type == ResourceType.AZURE_STORAGE_ACCOUNT

    def part(self, name: str) -> dict[str, Any]:
        """A part (``account``, ``blobService``, ``bucket``, ``iam``) to edit in place."""
        value: dict[str, Any] = self.parts[name]
        return value

    def props(self, name: str) -> dict[str, Any]:
        """The ``properties`` of an Azure part, to edit in place."""
        props: dict[str, Any] = self.part(name).setdefault("properties", {})
        return props

    def edited(self) -> Resource:
        """The resource as it will be once the draft is applied (facets recomputed)."""
        facets = account_facets(self.parts) if self.is_azure else bucket_facets(self.parts)
        return replace(self.resource, raw=self.parts, facets=facets)

    def changes(self) -> tuple[Change, ...]:
        """One change per object that differs from what was read, in the safe order."""
        before = self.resource.raw
        if self.is_azure:
            return (
                *_update(before.get("account"), self.parts.get("account"), ACCOUNT_TYPE),
                *_update(
                    before.get("blobService"), self.parts.get("blobService"), BLOB_SERVICE_TYPE
                ),
                *_created_locks(before.get("locks") or [], self.parts.get("locks") or []),
            )
        target = self.resource.id
        return (
            *_update(before.get("iam"), self.parts.get("iam"), POLICY_TYPE, target),
            *_update(before.get("bucket"), self.parts.get("bucket"), BUCKET_TYPE, target),
        )


def _update(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    kind: str,
    target: str | None = None,
) -> tuple[Change, ...]:
    if before is None or after is None or before == after:
        return ()
    return (
        Change(
            ChangeOp.UPDATE,
            target or str(before.get("id", "")),
            kind,
            copy.deepcopy(dict(before)),
            copy.deepcopy(dict(after)),
            API_CALLS[kind],
        ),
    )


def _created_locks(
    before: list[Mapping[str, Any]], after: list[Mapping[str, Any]]
) -> tuple[Change, ...]:
    known = {str(lock.get("id", "")).lower() for lock in before}
    return tuple(
        Change(ChangeOp.CREATE, str(lock["id"]), LOCK_TYPE, None, dict(lock), API_CALLS[LOCK_TYPE])
        for lock in after
        if str(lock.get("id", "")).lower() not in known
    )
