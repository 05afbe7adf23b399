"""The storage data-protection checks on Azure storage accounts and Cloud Storage buckets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from builders import SUB, bucket, storage_account
from clamp.checks import evaluate
from clamp.config import Settings
from clamp.inventory.offline import load_offline
from clamp.model import Finding, Severity
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute

SETTINGS = Settings(database_url="sqlite://")
CAI = Path(__file__).parents[2] / ".." / "shared" / "data" / "gcp-cai"
FIXTURES = CAI / "policy-library" / "validator" / "test" / "fixtures"


def azure(*objects: list[dict[str, Any]]) -> dict[str, Finding]:
    resources = resources_from_arm([o for group in objects for o in group], SUB)
    return {f.check: f for f in evaluate(resources, SETTINGS)}


def gcs(*objects: list[dict[str, Any]]) -> dict[str, Finding]:
    resources = resources_from_compute("p1", [o for group in objects for o in group])
    return {f.check: f for f in evaluate(resources, SETTINGS)}


def test_a_fully_protected_account_and_bucket_have_no_finding() -> None:
    assert azure(storage_account("safe", locks={"keep": "CanNotDelete"})) == {}
    assert gcs(bucket("safe")) == {}


def test_an_unprotected_account_reports_every_missing_protection_with_the_table() -> None:
    findings = azure(
        storage_account(
            "bare",
            service={},
            containers={"web": "Blob", "private": "None"},
            allowBlobPublicAccess=True,
            supportsHttpsTrafficOnly=False,
            minimumTlsVersion="TLS1_0",
        )
    )

    assert set(findings) == {
        "storage-versioning-disabled",
        "storage-soft-delete-disabled",
        "storage-delete-protection-missing",
        "storage-public-access",
        "storage-insecure-transport",
    }
    public = findings["storage-public-access"]
    assert public.details["problem"] == "public containers: web (the account allows it)"
    assert public.severity == Severity.HIGH
    assert findings["storage-soft-delete-disabled"].details["problem"] == (
        "blob and container soft delete is off"
    )
    table = {row["protection"]: row for row in public.details["protections"]}
    assert table["blob versioning"]["status"] == "off"
    assert table["delete lock"]["status"] == "off"
    assert table["anonymous access blocked"]["detail"] == "public containers: web"
    assert table["TLS 1.2 or later"] == {
        "protection": "TLS 1.2 or later",
        "status": "off",
        "detail": "minimum TLS1_0",
    }
    assert findings["storage-insecure-transport"].details["problem"] == (
        "plain HTTP is allowed; minimum TLS is TLS1_0"
    )


def test_an_account_that_merely_allows_public_access_says_so_at_lower_severity() -> None:
    finding = azure(
        storage_account("open", locks={"k": "CanNotDelete"}, allowBlobPublicAccess=True)
    )["storage-public-access"]

    assert "no container uses it yet" in finding.details["problem"]
    assert finding.severity == Severity.MEDIUM


def test_an_inherited_resource_group_lock_protects_the_account() -> None:
    group_lock = {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/locks/rg",
        "name": "rg",
        "type": "Microsoft.Authorization/locks",
        "properties": {"level": "CanNotDelete"},
    }
    other_group = {
        **group_lock,
        "id": f"/subscriptions/{SUB}/resourceGroups/rg2/providers/Microsoft.Authorization/locks/x",
    }

    assert "storage-delete-protection-missing" not in azure(storage_account("a"), [group_lock])
    assert "storage-delete-protection-missing" in azure(storage_account("a"), [other_group])


def test_immutable_storage_counts_as_delete_protection_and_a_readonly_note_does_not_matter() -> (
    None
):
    immutable = storage_account("a", immutableStorageWithVersioning={"enabled": True})

    assert "storage-delete-protection-missing" not in azure(immutable)


def test_data_classification_ranks_the_same_gap_differently() -> None:
    gap = {"service": {"isVersioningEnabled": False}, "locks": {"k": "CanNotDelete"}}
    critical = azure(storage_account("a", tags={"data-classification": "business-critical"}, **gap))
    scratch = azure(storage_account("b", tags={"data-classification": "scratch"}, **gap))

    assert critical["storage-versioning-disabled"].severity == Severity.CRITICAL
    assert scratch["storage-versioning-disabled"].severity == Severity.LOW
    assert critical["storage-versioning-disabled"].details["classification"] == (
        "business-critical"
    )


def test_a_bucket_without_versioning_soft_delete_or_retention_is_reported() -> None:
    findings = gcs(bucket("b", versioning={}, softDeletePolicy={"retentionDurationSeconds": "0"}))

    assert set(findings) == {
        "storage-versioning-disabled",
        "storage-soft-delete-disabled",
        "storage-delete-protection-missing",
    }
    assert findings["storage-versioning-disabled"].resource == "//storage.googleapis.com/b"


def test_a_retention_policy_protects_a_bucket_and_excludes_the_versioning_finding() -> None:
    findings = gcs(bucket("b", versioning={}, retentionPolicy={"retentionPeriod": "86400"}))

    assert findings == {}


def test_public_grants_count_only_without_enforced_public_access_prevention() -> None:
    grant = {"allUsers": "roles/storage.objectViewer"}
    enforced = gcs(bucket("b", public=grant))
    open_ = gcs(
        bucket(
            "b",
            public=grant,
            iamConfiguration={"uniformBucketLevelAccess": {"enabled": True}},
        )
    )

    assert "storage-public-access" not in enforced
    finding = open_["storage-public-access"]
    assert finding.details["problem"] == "allUsers has roles/storage.objectViewer"
    assert finding.severity == Severity.HIGH


def test_a_public_write_grant_is_critical_and_public_acls_count_without_uniform_access() -> None:
    writable = gcs(
        bucket(
            "b",
            public={"allAuthenticatedUsers": "roles/storage.objectAdmin"},
            iamConfiguration={"publicAccessPrevention": "inherited"},
        )
    )
    acl = gcs(
        bucket(
            "c",
            iamConfiguration={"publicAccessPrevention": "inherited"},
            acl=[{"entity": "allUsers", "role": "READER"}],
        )
    )

    assert writable["storage-public-access"].severity == Severity.CRITICAL
    assert acl["storage-public-access"].details["problem"] == "ACL allUsers: READER"


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/data/gcp-cai is not present")
def test_cai_bucket_exports_are_read_with_their_iam_policies() -> None:
    resources = load_offline([FIXTURES / "storage_bucket_world_readable" / "assets" / "data.json"])
    findings = {
        f.resource.rsplit("/", 1)[-1]: f
        for f in evaluate(resources, SETTINGS)
        if f.check == "storage-public-access"
    }

    assert set(findings) == {"my-test-bucket", "my-second-test-bucket"}
    assert findings["my-test-bucket"].details["problem"] == (
        "allUsers has roles/storage.legacyBucketReader"
    )
    # allAuthenticatedUsers as a legacy bucket owner can write: the worst case.
    assert findings["my-second-test-bucket"].severity == Severity.CRITICAL


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/data/gcp-cai is not present")
def test_cai_buckets_without_versioning_are_reported_in_their_project() -> None:
    path = FIXTURES / "storage_bucket_retention" / "assets" / "buckets_all" / "data.json"
    resources = load_offline([path])
    assets = json.loads(path.read_text())
    findings = [
        f for f in evaluate(resources, SETTINGS) if f.check == "storage-versioning-disabled"
    ]

    assert len(findings) == len(assets) == 8
    parents = {a["resource"]["parent"].rsplit("/", 1)[-1] for a in assets}
    assert {f.scope for f in findings} == parents


def test_an_export_without_blob_services_or_locks_reports_them_unknown_not_missing(
    tmp_path: Path,
) -> None:
    export = tmp_path / "accounts.json"
    account = storage_account("bare", service={})[0]
    export.write_text(json.dumps({"value": [account]}))

    [resource] = load_offline([export])
    findings = {f.check for f in evaluate([resource], SETTINGS)}

    assert findings == set()
    assert resource.facets["versioning"] is None
    assert resource.facets["delete_locks"] is None
