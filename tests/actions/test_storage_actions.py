"""Storage fixes end to end: plan → apply → verify → undo through the real SDKs and the
sandbox's Azure Resource Manager and Cloud Storage JSON API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.cloud.storage as gcs
import pytest
from google.api_core.iam import Policy
from google.auth.credentials import AnonymousCredentials

from builders import SUB, bucket, storage_account
from clamp.errors import ConflictError, PlanRefused, UndoRefused
from clamp.model import ActionStatus, FindingStatus, Provider
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState
from rig import Rig, make_rig

PROJECT = "p1"


def scenario() -> dict[str, Any]:
    """An unprotected, partly public account and bucket next to protected ones."""
    return {
        "azure": {
            SUB: [
                *storage_account(
                    "data",
                    service={"isVersioningEnabled": False},
                    containers={"reports": "Blob", "exports": "None"},
                    allowBlobPublicAccess=True,
                    supportsHttpsTrafficOnly=False,
                    minimumTlsVersion="TLS1_0",
                ),
                *storage_account("safe", locks={"platform": "CanNotDelete"}),
            ]
        },
        "gcp": {
            PROJECT: [
                *bucket(
                    "open",
                    versioning={},
                    softDeletePolicy={"retentionDurationSeconds": "0"},
                    iamConfiguration={
                        "uniformBucketLevelAccess": {"enabled": True},
                        "publicAccessPrevention": "inherited",
                    },
                    public={"allUsers": "roles/storage.objectViewer"},
                ),
                *bucket("safe"),
            ]
        },
    }


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Sandbox(SandboxState.from_scenario(scenario())) as sandbox:
        yield make_rig(sandbox, tmp_path)


def _azure(rig: Rig, type_suffix: str, name: str = "data") -> dict[str, Any]:
    for obj in rig.state()["azure"][SUB]:
        if obj["type"].endswith(type_suffix) and f"/storageAccounts/{name}" in obj["id"]:
            return dict(obj)
    raise AssertionError(f"no {type_suffix} for {name}")


def _gcs(rig: Rig, kind: str, name: str = "open") -> dict[str, Any]:
    for obj in rig.state()["gcp"][PROJECT]:
        if obj["kind"] == kind and name in (
            obj.get("name"),
            obj.get("resourceId", "").split("/")[-1],
        ):
            return dict(obj)
    raise AssertionError(f"no {kind} {name}")


def _locks(rig: Rig) -> list[str]:
    return [
        o["name"] for o in rig.state()["azure"][SUB] if o["type"] == "Microsoft.Authorization/locks"
    ]


def _client(rig: Rig) -> gcs.Client:
    return gcs.Client(
        project=None,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": rig.sandbox.url},
    )


def test_scan_reports_the_unprotected_account_and_bucket_only(rig: Rig) -> None:
    checks = {
        (r.finding.resource.rsplit("/", 1)[-1], r.finding.check)
        for r in rig.store.findings(status=FindingStatus.OPEN)
    }

    assert checks == {
        ("data", "storage-versioning-disabled"),
        ("data", "storage-soft-delete-disabled"),
        ("data", "storage-delete-protection-missing"),
        ("data", "storage-public-access"),
        ("data", "storage-insecure-transport"),
        ("open", "storage-versioning-disabled"),
        ("open", "storage-soft-delete-disabled"),
        ("open", "storage-delete-protection-missing"),
        ("open", "storage-public-access"),
    }


@pytest.mark.parametrize(
    ("provider", "name", "check", "intent", "params"),
    [
        (Provider.AZURE, "data", "storage-versioning-disabled", "enable_versioning", {}),
        (
            Provider.AZURE,
            "data",
            "storage-soft-delete-disabled",
            "enable_soft_delete",
            {"days": 30},
        ),
        (Provider.AZURE, "data", "storage-delete-protection-missing", "protect_from_deletion", {}),
        (Provider.AZURE, "data", "storage-public-access", "block_public_access", {}),
        (Provider.AZURE, "data", "storage-insecure-transport", "require_secure_transport", {}),
        (Provider.GCP, "open", "storage-versioning-disabled", "enable_versioning", {}),
        (Provider.GCP, "open", "storage-soft-delete-disabled", "enable_soft_delete", {}),
        (
            Provider.GCP,
            "open",
            "storage-delete-protection-missing",
            "protect_from_deletion",
            {"days": 3},
        ),
        (Provider.GCP, "open", "storage-public-access", "block_public_access", {}),
    ],
)
def test_each_storage_fix_is_verified_and_undone(
    rig: Rig, provider: Provider, name: str, check: str, intent: str, params: dict[str, Any]
) -> None:
    before = rig.state()
    finding = rig.finding(provider, check, name)

    plan = rig.engine.plan(finding.id, intent=intent, params=params)
    record = rig.engine.apply(plan, actor="tester")
    rig.scan()

    assert record.status == ActionStatus.VERIFIED
    assert rig.store.finding(finding.id).status == FindingStatus.RESOLVED

    undone = rig.engine.undo(record.id, actor="tester")
    rig.scan()

    assert undone.status == ActionStatus.VERIFIED
    assert rig.store.finding(finding.id).status == FindingStatus.OPEN
    assert _protections(rig.state()) == _protections(before)


def _protections(state: dict[str, Any]) -> dict[str, Any]:
    """Every storage protection of the estate, as the checks see it."""
    resources = [
        *resources_from_arm(state["azure"][SUB], SUB),
        *resources_from_compute(PROJECT, state["gcp"][PROJECT]),
    ]
    return {r.id: dict(r.facets) for r in resources}


def test_the_bundle_protects_an_azure_account_in_one_plan_and_undo_restores_it(rig: Rig) -> None:
    finding = rig.finding(Provider.AZURE, "storage-public-access", "data")

    plan = rig.engine.plan(finding.id, bundle="data-protection")
    record = rig.engine.apply(plan, actor="tester")
    rig.scan()

    assert record.status == ActionStatus.VERIFIED
    assert len(plan.findings) == 5
    assert all(rig.store.finding(f).status == FindingStatus.RESOLVED for f in plan.findings)
    service = _azure(rig, "/blobServices")["properties"]
    assert service["isVersioningEnabled"] is True
    assert service["deleteRetentionPolicy"]["days"] == 14
    account = _azure(rig, "/storageAccounts")["properties"]
    assert (account["allowBlobPublicAccess"], account["minimumTlsVersion"]) == (False, "TLS1_2")
    assert "clamp-do-not-delete" in _locks(rig)

    rig.engine.undo(record.id, actor="tester")

    assert "clamp-do-not-delete" not in _locks(rig)
    assert _azure(rig, "/blobServices")["properties"]["isVersioningEnabled"] is False
    assert _azure(rig, "/storageAccounts")["properties"]["allowBlobPublicAccess"] is True


def test_the_bundle_on_a_bucket_enables_versioning_soft_delete_and_prevention(rig: Rig) -> None:
    finding = rig.finding(Provider.GCP, "storage-versioning-disabled", "open")

    record = rig.engine.apply(rig.engine.plan(finding.id, bundle="data-protection"), actor="t")

    assert record.status == ActionStatus.VERIFIED
    state = _gcs(rig, "storage#bucket")
    assert state["versioning"] == {"enabled": True}
    assert state["iamConfiguration"]["publicAccessPrevention"] == "enforced"
    assert not state.get("retentionPolicy")
    members = {m for b in _gcs(rig, "storage#policy")["bindings"] for m in b["members"]}
    assert "allUsers" not in members and "projectViewer:p1" in members


def test_a_concurrent_iam_grant_is_never_lost(rig: Rig) -> None:
    finding = rig.finding(Provider.GCP, "storage-public-access", "open")
    plan = rig.engine.plan(finding.id)
    # Someone grants a group access between the plan and the apply.
    target = _client(rig).bucket("open")
    policy: Policy = target.get_iam_policy()
    policy.bindings.append(
        {"role": "roles/storage.objectViewer", "members": {"group:new@example.com"}}
    )
    target.set_iam_policy(policy)

    with pytest.raises(ConflictError):
        rig.engine.apply(plan, actor="tester")

    members = {m for b in _gcs(rig, "storage#policy")["bindings"] for m in b["members"]}
    assert {"group:new@example.com", "allUsers"} <= members
    assert _gcs(rig, "storage#bucket")["iamConfiguration"]["publicAccessPrevention"] == "inherited"


def test_an_account_changed_since_the_plan_is_not_overwritten(rig: Rig) -> None:
    finding = rig.finding(Provider.AZURE, "storage-insecure-transport", "data")
    plan = rig.engine.plan(finding.id)
    with rig.sandbox.state.lock:
        account = next(
            o for o in rig.sandbox.state.azure[SUB] if o["id"].endswith("/storageAccounts/data")
        )
        account["properties"]["minimumTlsVersion"] = "TLS1_1"

    with pytest.raises(ConflictError):
        rig.engine.apply(plan, actor="tester")

    props = _azure(rig, "/storageAccounts")["properties"]
    assert (props["minimumTlsVersion"], props["supportsHttpsTrafficOnly"]) == ("TLS1_1", False)


def test_locking_a_retention_policy_needs_the_second_confirmation_and_cannot_be_undone(
    rig: Rig,
) -> None:
    finding = rig.finding(Provider.GCP, "storage-delete-protection-missing", "open")
    plan = rig.engine.plan(finding.id, intent="lock_retention_policy", params={"days": 1})

    with pytest.raises(PlanRefused, match="can never be undone"):
        rig.engine.apply(plan, actor="tester")
    assert not _gcs(rig, "storage#bucket").get("retentionPolicy")

    record = rig.engine.apply(plan, actor="tester", confirm_irreversible=True)

    assert record.status == ActionStatus.VERIFIED
    policy = _gcs(rig, "storage#bucket")["retentionPolicy"]
    assert (policy["retentionPeriod"], policy["isLocked"]) == ("86400", True)
    with pytest.raises(UndoRefused, match="cannot be undone"):
        rig.engine.undo(record.id, actor="tester")


def test_undo_refuses_when_the_bucket_changed_since_the_fix(rig: Rig) -> None:
    finding = rig.finding(Provider.GCP, "storage-versioning-disabled", "open")
    record = rig.engine.apply(rig.engine.plan(finding.id), actor="tester")
    target = _client(rig).get_bucket("open")
    target.soft_delete_policy.retention_duration_seconds = 7 * 86400
    target.patch()

    with pytest.raises(UndoRefused, match="changed since"):
        rig.engine.undo(record.id, actor="tester")

    assert _gcs(rig, "storage#bucket")["versioning"] == {"enabled": True}
