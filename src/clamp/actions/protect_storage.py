"""Storage data-protection intents and the ``data-protection`` bundle.

``enable_versioning``, ``enable_soft_delete``, ``protect_from_deletion``,
``block_public_access``, ``require_secure_transport`` (reversible) and
``lock_retention_policy`` (irreversible). Each edits a ``Draft`` of the account or bucket
through its cloud's ``StorageChanges`` (``clamp.providers.storage_changes``); the plan's
changes are the draft's difference from what was read, and ``resolves`` lists every storage finding the edit makes disappear
(computed by running the checks on the edited resource), so verification checks them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.interface import INTENTS, NO_PARAMS, Category, Intent
from clamp.actions.params import checked_params
from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Finding, Plan, Provider, Resource, ResourceType
from clamp.providers.factory import storage_changes
from clamp.providers.storage_changes import Draft, StorageChanges

STORAGE_TYPES = (ResourceType.AZURE_STORAGE_ACCOUNT, ResourceType.GCS_BUCKET)
GONE = "nothing to change: the protection is already on; run `clamp scan`"
ACCOUNT_READ = "Microsoft.Storage/storageAccounts/read"
ACCOUNT_WRITE = "Microsoft.Storage/storageAccounts/write"
BLOB_SERVICE = (
    ACCOUNT_READ,
    "Microsoft.Storage/storageAccounts/blobServices/read",
    "Microsoft.Storage/storageAccounts/blobServices/write",
)
BUCKET_UPDATE = ("storage.buckets.get", "storage.buckets.update")
DAYS: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 365}


class StorageIntent(Intent):
    """An intent that edits a storage account's or bucket's draft."""

    category = Category.REMEDIATION
    reversible = True

    def protect(self, draft: Draft, params: Mapping[str, Any], finding: Finding) -> None:
        """Edit ``draft`` to turn this protection on (``params`` already checked)."""
        raise NotImplementedError

    def checked(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` validated against the schema, defaults filled in."""
        return checked_params(self.name, self.params_schema, params)

    def plan(
        self,
        finding: Finding,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """Edit a draft of the account or bucket and plan the difference (pure, no I/O)."""
        checked = self.checked(params)
        _check_target(self.name, finding, resource, self.permissions)
        draft = Draft.of(resource)
        self.protect(draft, checked, finding)
        return storage_plan(
            self.name,
            finding,
            draft,
            settings,
            self.permissions,
            checked,
            reversible=self.reversible,
            irreversible=self.irreversible,
        )


def _cloud(draft: Draft) -> StorageChanges:
    return storage_changes(draft.resource.provider)


def _check_target(
    name: str, finding: Finding, resource: Resource, permissions: Mapping[Provider, Any]
) -> None:
    if resource.type not in STORAGE_TYPES or resource.provider not in permissions:
        raise PlanRefused(f"{name} cannot change a {resource.type} ({resource.provider})")
    if finding.resource.lower() != resource.id.lower():
        raise PlanRefused(f"{resource.id} is not the resource of finding {finding.id}")


def storage_plan(
    intent: str,
    finding: Finding,
    draft: Draft,
    settings: Settings,
    permissions: Mapping[Provider, tuple[str, ...]],
    params: Mapping[str, Any],
    *,
    reversible: bool = True,
    irreversible: bool = False,
) -> Plan:
    """The plan that makes the cloud look like ``draft``; refuses when it fixes nothing."""
    changes = storage_changes(draft.resource.provider).changes(draft)
    if not changes:
        raise PlanRefused(GONE)
    resource = draft.resource
    cloud = storage_changes(resource.provider)
    before = {f.id for f in evaluate([resource], settings)}
    after = {f.id for f in evaluate([cloud.edited(draft)], settings)}
    if finding.id in after:
        raise PlanRefused(f"{intent} would not make finding {finding.id} go away")
    resolves = sorted((before - after) - {finding.id})
    return Plan(
        intent=intent,
        finding=finding.id,
        resource=resource.id,
        provider=resource.provider,
        summary=f"{intent} on {cloud.noun} {resource.name}: " + "; ".join(draft.steps),
        changes=changes,
        reversible=reversible,
        blast_radius="; ".join(dict.fromkeys(draft.effects)),
        permissions=permissions[resource.provider],
        params=dict(params),
        resolves=tuple(resolves),
        irreversible=irreversible,
    )


@INTENTS.register("enable_versioning")
class EnableVersioning(StorageIntent):
    """Turn on blob versioning (Azure) or object versioning (GCS)."""

    name = "enable_versioning"
    fixes = ("storage-versioning-disabled", "storage-delete-protection-missing")
    preferred = ("storage-versioning-disabled",)
    params_schema: ClassVar[Mapping[str, Any]] = NO_PARAMS
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: BLOB_SERVICE,
        Provider.GCP: BUCKET_UPDATE,
    }

    def protect(self, draft: Draft, params: Mapping[str, Any], finding: Finding) -> None:
        """Versioning on."""
        _cloud(draft).enable_versioning(draft)


@INTENTS.register("enable_soft_delete")
class EnableSoftDelete(StorageIntent):
    """Keep deleted blobs and containers (Azure) or objects (GCS) recoverable for N days."""

    name = "enable_soft_delete"
    fixes = ("storage-soft-delete-disabled",)
    preferred = fixes
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "days": {
                **DAYS,
                "default": 14,
                "description": "days deleted data stays recoverable (Azure 1-365, GCS 7-90)",
            }
        },
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: BLOB_SERVICE,
        Provider.GCP: BUCKET_UPDATE,
    }

    def protect(self, draft: Draft, params: Mapping[str, Any], finding: Finding) -> None:
        """Soft delete on for ``days``."""
        _cloud(draft).enable_soft_delete(draft, int(params["days"]))


@INTENTS.register("protect_from_deletion")
class ProtectFromDeletion(StorageIntent):
    """Make deletion a deliberate step: a CanNotDelete lock (Azure) or a retention policy or
    versioning (GCS, the user's choice; they cannot be combined)."""

    name = "protect_from_deletion"
    fixes = ("storage-delete-protection-missing",)
    preferred = fixes
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "method": {
                "type": "string",
                "enum": ["retention", "versioning"],
                "description": "GCS only: a retention policy (default) or object versioning",
            },
            "days": {**DAYS, "description": "GCS retention period in days (default 7)"},
        },
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (
            ACCOUNT_READ,
            "Microsoft.Authorization/locks/read",
            "Microsoft.Authorization/locks/write",
            "Microsoft.Authorization/locks/delete",
        ),
        Provider.GCP: BUCKET_UPDATE,
    }

    def protect(self, draft: Draft, params: Mapping[str, Any], finding: Finding) -> None:
        """A lock (Azure); a retention policy or versioning (GCS)."""
        days = params.get("days")
        _cloud(draft).protect_from_deletion(
            draft, finding.id, params.get("method"), None if days is None else int(days)
        )


@INTENTS.register("block_public_access")
class BlockPublicAccess(StorageIntent):
    """Stop anonymous access: account-wide on Azure; public access prevention plus removal of
    public IAM grants (with the policy's etag, so no concurrent grant is lost) on GCS."""

    name = "block_public_access"
    fixes = ("storage-public-access",)
    preferred = fixes
    params_schema: ClassVar[Mapping[str, Any]] = NO_PARAMS
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (ACCOUNT_READ, ACCOUNT_WRITE),
        Provider.GCP: (
            *BUCKET_UPDATE,
            "storage.buckets.getIamPolicy",
            "storage.buckets.setIamPolicy",
        ),
    }

    def protect(self, draft: Draft, params: Mapping[str, Any], finding: Finding) -> None:
        """Public access off."""
        _cloud(draft).block_public_access(draft)


@INTENTS.register("require_secure_transport")
class RequireSecureTransport(StorageIntent):
    """HTTPS only and TLS 1.2 or later on an Azure storage account (GCS always is)."""

    name = "require_secure_transport"
    fixes = ("storage-insecure-transport",)
    preferred = fixes
    params_schema: ClassVar[Mapping[str, Any]] = NO_PARAMS
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (ACCOUNT_READ, ACCOUNT_WRITE),
    }

    def protect(self, draft: Draft, params: Mapping[str, Any], finding: Finding) -> None:
        """HTTPS only, TLS 1.2."""
        _cloud(draft).require_secure_transport(draft)


@INTENTS.register("lock_retention_policy")
class LockRetentionPolicy(StorageIntent):
    """Set (if needed) and LOCK a bucket's retention policy. Irreversible: a locked policy
    can never be removed or shortened, so it needs an explicit extra confirmation."""

    name = "lock_retention_policy"
    reversible = False
    irreversible = True
    fixes = ("storage-delete-protection-missing",)
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 36500,
                "description": "retention period in days, when the bucket has no policy yet",
            }
        },
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {Provider.GCP: BUCKET_UPDATE}

    def protect(self, draft: Draft, params: Mapping[str, Any], finding: Finding) -> None:
        """Set the retention policy if there is none, then lock it."""
        days = params.get("days")
        _cloud(draft).lock_retention(draft, None if days is None else int(days))
