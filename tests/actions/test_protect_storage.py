"""Planning the storage intents and the data-protection bundle (pure: no cloud)."""

from __future__ import annotations

from typing import Any

import pytest

from builders import SUB, bucket, storage_account
from clamp.actions.bundles import plan_bundle
from clamp.actions.interface import INTENTS
from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import InputError, PlanRefused
from clamp.model import ChangeOp, Finding, Plan, Resource, Severity
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute

SETTINGS = Settings(database_url="sqlite://")


def _one(resources: list[Resource]) -> tuple[Resource, dict[str, Finding]]:
    [resource] = resources
    return resource, {f.check: f for f in evaluate(resources, SETTINGS)}


def account(**kw: Any) -> tuple[Resource, dict[str, Finding]]:
    return _one(resources_from_arm(storage_account("acct", **kw), SUB))


def gcs(**kw: Any) -> tuple[Resource, dict[str, Finding]]:
    return _one(resources_from_compute("p1", bucket("b", **kw)))


def plan(
    intent: str, check: str, target: tuple[Resource, dict[str, Finding]], **params: Any
) -> Plan:
    resource, findings = target
    return INTENTS.get(intent)().plan(findings[check], resource, params, SETTINGS)


def test_enable_versioning_on_azure_writes_only_the_blob_service() -> None:
    result = plan(
        "enable_versioning",
        "storage-versioning-disabled",
        account(service={"isVersioningEnabled": False}, locks={"k": "CanNotDelete"}),
    )

    [change] = result.changes
    assert change.type == "Microsoft.Storage/storageAccounts/blobServices"
    assert change.target.endswith("/storageAccounts/acct/blobServices/default")
    assert change.before is not None and change.after is not None
    assert change.before["properties"]["isVersioningEnabled"] is False
    assert change.after["properties"]["isVersioningEnabled"] is True
    assert result.reversible and not result.irreversible
    assert "billed as storage" in result.blast_radius


def test_soft_delete_keeps_an_enabled_policy_and_turns_on_the_other_for_n_days() -> None:
    result = plan(
        "enable_soft_delete",
        "storage-soft-delete-disabled",
        account(service={"deleteRetentionPolicy": {"enabled": True, "days": 30}}),
        days=21,
    )

    after = result.changes[0].after or {}
    assert after["properties"]["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert after["properties"]["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 21}


def test_bad_parameters_are_refused_before_anything_is_planned() -> None:
    target = account(service={})
    with pytest.raises(InputError, match="valid: days"):
        plan("enable_soft_delete", "storage-soft-delete-disabled", target, day=3)
    with pytest.raises(InputError, match="at most 365"):
        plan("enable_soft_delete", "storage-soft-delete-disabled", target, days=999)
    with pytest.raises(InputError, match="7 to 90 days"):
        plan(
            "enable_soft_delete",
            "storage-soft-delete-disabled",
            gcs(softDeletePolicy={}),
            days=3,
        )


def test_protect_from_deletion_on_azure_creates_a_cannotdelete_lock_on_the_account() -> None:
    result = plan("protect_from_deletion", "storage-delete-protection-missing", account())

    [change] = result.changes
    assert change.op == ChangeOp.CREATE
    assert change.type == "Microsoft.Authorization/locks"
    assert change.target.endswith(
        "/storageAccounts/acct/providers/Microsoft.Authorization/locks/clamp-do-not-delete"
    )
    assert (change.after or {})["properties"]["level"] == "CanNotDelete"


def test_gcs_retention_is_refused_while_versioning_is_on_and_versioning_while_retention_is() -> (
    None
):
    versioned = gcs(softDeletePolicy={})
    retained = gcs(versioning={}, softDeletePolicy={}, retentionPolicy={"retentionPeriod": "86400"})

    resource, _ = versioned
    with pytest.raises(PlanRefused, match="does not allow a retention policy together"):
        INTENTS.get("protect_from_deletion")().plan(
            _fake_finding(resource, "storage-delete-protection-missing"),
            resource,
            {},
            SETTINGS,
        )
    resource, _ = retained
    with pytest.raises(PlanRefused, match="does not allow versioning together"):
        INTENTS.get("enable_versioning")().plan(
            _fake_finding(resource, "storage-versioning-disabled"), resource, {}, SETTINGS
        )


def _fake_finding(resource: Resource, check: str) -> Finding:
    """A finding as a stale scan left it (the bucket changed since)."""
    return Finding(check, resource.provider, resource.id, resource.scope, Severity.MEDIUM, "", {})


def test_gcs_delete_protection_lets_the_user_choose_versioning_or_retention() -> None:
    target = gcs(versioning={})

    retention = plan("protect_from_deletion", "storage-delete-protection-missing", target, days=30)
    versioning = plan(
        "protect_from_deletion", "storage-delete-protection-missing", target, method="versioning"
    )

    assert (retention.changes[0].after or {})["retentionPolicy"] == {"retentionPeriod": "2592000"}
    assert (versioning.changes[0].after or {})["versioning"] == {"enabled": True}


def test_lock_retention_policy_is_irreversible_and_needs_an_explicit_period() -> None:
    target = gcs(versioning={})

    with pytest.raises(InputError, match="needs --param days"):
        plan("lock_retention_policy", "storage-delete-protection-missing", target)
    result = plan("lock_retention_policy", "storage-delete-protection-missing", target, days=365)

    assert result.irreversible and not result.reversible
    assert "IRREVERSIBLE" in result.summary
    assert "can never be removed or shortened" in result.blast_radius
    assert (result.changes[0].after or {})["retentionPolicy"] == {
        "retentionPeriod": str(365 * 86400),
        "isLocked": True,
    }


def test_block_public_access_on_gcs_removes_only_public_members() -> None:
    target = gcs(
        public={"allUsers": "roles/storage.objectViewer"},
        iamConfiguration={"publicAccessPrevention": "inherited"},
    )
    resource, _ = target
    iam = resource.raw["iam"]
    iam["bindings"].append(
        {"role": "roles/storage.objectViewer", "members": ["allUsers", "group:data@example.com"]}
    )
    target = _one([resource])

    result = plan("block_public_access", "storage-public-access", target)

    policy, patch = result.changes
    assert policy.type == "storage#policy" and patch.type == "storage#bucket"
    assert (policy.after or {})["etag"] == "CAE="
    assert (policy.after or {})["bindings"] == [
        {
            "role": "roles/storage.legacyBucketOwner",
            "members": ["projectOwner:p1", "projectEditor:p1"],
        },
        {"role": "roles/storage.legacyBucketReader", "members": ["projectViewer:p1"]},
        {"role": "roles/storage.objectViewer", "members": ["group:data@example.com"]},
    ]
    assert (patch.after or {})["iamConfiguration"]["publicAccessPrevention"] == "enforced"


def test_the_bundle_fixes_every_gap_of_an_azure_account_in_one_plan() -> None:
    resource, findings = account(
        service={},
        containers={"web": "Container"},
        allowBlobPublicAccess=True,
        minimumTlsVersion="TLS1_1",
    )
    finding = findings["storage-versioning-disabled"]

    result = plan_bundle("data-protection", finding, resource, SETTINGS)

    assert [c.type for c in result.changes] == [
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Authorization/locks",
    ]
    assert set(result.findings) == {f.id for f in findings.values()}
    account_after = (result.changes[0].after or {})["properties"]
    assert account_after["allowBlobPublicAccess"] is False
    assert account_after["minimumTlsVersion"] == "TLS1_2"
    assert "Microsoft.Authorization/locks/write" in result.permissions


def test_the_bundle_on_gcs_uses_versioning_as_delete_protection() -> None:
    resource, findings = gcs(versioning={}, softDeletePolicy={})

    result = plan_bundle(
        "data-protection", findings["storage-soft-delete-disabled"], resource, SETTINGS
    )

    [change] = result.changes
    after = change.after or {}
    assert after["versioning"] == {"enabled": True}
    assert after["softDeletePolicy"] == {"retentionDurationSeconds": str(14 * 86400)}
    assert "retentionPolicy" not in after
    assert set(result.findings) == {f.id for f in findings.values()}


def test_an_unknown_bundle_is_refused_with_the_valid_names() -> None:
    resource, findings = account(service={})
    with pytest.raises(InputError, match="valid: data-protection"):
        plan_bundle("everything", findings["storage-versioning-disabled"], resource, SETTINGS)
