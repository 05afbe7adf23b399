"""Azure storage through azure-mgmt-storage and azure-mgmt-resource-locks against the
sandbox's ARM: collection from recorded responses, and what ARM enforces on writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.locks.models import ManagementLockObject

from builders import STORAGE, SUB, storage_account
from clamp.config import Settings
from clamp.errors import CloudError, ConflictError
from clamp.model import Change, ChangeOp, ResourceType
from clamp.providers.azure.driver import AzureDriver
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState

CASSETTES = Path(__file__).parents[3] / ".." / "shared" / "data" / "custodian" / "azure-cassettes"
GROUP = f"/subscriptions/{SUB}/resourceGroups/rg"
ACCOUNT = f"{STORAGE}/data"


def _recorded(name: str) -> list[dict[str, Any]]:
    """Every ARM object the responses of a recorded cassette hold."""
    objects: list[dict[str, Any]] = []
    for interaction in json.loads((CASSETTES / name).read_text())["interactions"]:
        body = (interaction["response"]["body"] or {}).get("data") or {}
        if isinstance(body, dict):
            objects += body.get("value") or ([body] if body.get("id") else [])
    return objects


@pytest.fixture
def estate() -> Iterator[Sandbox]:
    with Sandbox(SandboxState.from_scenario({"azure": {SUB: storage_account("data")}})) as box:
        yield box


def _driver(sandbox: Sandbox) -> AzureDriver:
    return AzureDriver(Settings(database_url="sqlite://", sandbox_url=sandbox.url))


@pytest.mark.skipif(not CASSETTES.is_dir(), reason="../shared/data/custodian is not present")
def test_recorded_accounts_blob_services_and_containers_are_collected() -> None:
    objects = [
        *_recorded("StorageTest.test_storage_blob_services.json"),
        *_recorded("StorageContainerTest.containers.json"),
    ]
    subscription = objects[0]["id"].split("/")[2]
    unique = list({o["id"].lower(): o for o in objects}.values())
    with Sandbox(SandboxState.from_scenario({"azure": {subscription: unique}})) as sandbox:
        resources = list(_driver(sandbox).collect(subscription))

    accounts = {r.name: r for r in resources if r.type == ResourceType.AZURE_STORAGE_ACCOUNT}
    recorded = {o["name"] for o in unique if o["type"] == "Microsoft.Storage/storageAccounts"}
    assert set(accounts) == recorded
    assert accounts["cctstorageyenndgetjsvtg"].facets["blob_soft_delete_days"] == 7
    assert accounts["cctstoragey6akyqpagdt3o"].facets["public_containers"] == ("containerone",)
    assert accounts["bfsdevstorage"].facets["min_tls"] == "TLS1_0"
    # Accounts without a recorded blob service get Azure's default one: everything off.
    assert accounts["bfsdevstorage"].facets["versioning"] is False


def test_an_inherited_resource_group_lock_is_seen_and_blocks_deletion(estate: Sandbox) -> None:
    driver = _driver(estate)
    locks = driver.clients.locks(SUB).management_locks
    locks.create_or_update_by_scope(GROUP, "rg-lock", ManagementLockObject(level="CanNotDelete"))

    resource = driver.read(ACCOUNT)

    assert resource.facets["delete_locks"] == (f"rg-lock (CanNotDelete, at {GROUP.lower()})",)
    storage = driver.clients.storage(SUB).storage_accounts
    with pytest.raises(HttpResponseError) as refused:
        storage.delete("rg", "data")
    assert refused.value.status_code == 409
    assert "ScopeLocked" in str(refused.value)
    # CanNotDelete still lets properties change.
    storage.update("rg", "data", {"properties": {"minimumTlsVersion": "TLS1_2"}})


def test_a_readonly_lock_refuses_a_fix_with_a_clear_error(estate: Sandbox) -> None:
    driver = _driver(estate)
    driver.clients.locks(SUB).management_locks.create_or_update_by_scope(
        ACCOUNT, "frozen", ManagementLockObject(level="ReadOnly")
    )
    before = dict(driver.read(ACCOUNT).raw["account"])
    after = {**before, "properties": {**before["properties"], "allowBlobPublicAccess": False}}

    change = Change(
        ChangeOp.UPDATE, ACCOUNT, "Microsoft.Storage/storageAccounts", before, after, "x"
    )
    with pytest.raises(CloudError, match="locked"):
        driver.apply(change)


def test_a_blob_service_changed_since_the_plan_is_not_overwritten(estate: Sandbox) -> None:
    driver = _driver(estate)
    before = dict(driver.read(ACCOUNT).raw["blobService"])
    planned = {"enabled": True, "days": 14}
    after = {**before, "properties": {**before["properties"], "deleteRetentionPolicy": planned}}
    # Someone sets 30 days between the plan and the apply.
    driver.clients.storage(SUB).blob_services.set_service_properties(
        "rg", "data", {"properties": {"deleteRetentionPolicy": {"enabled": True, "days": 30}}}
    )

    change = Change(ChangeOp.UPDATE, before["id"], before["type"], before, after, "x")
    with pytest.raises(ConflictError):
        driver.apply(change)

    assert driver.read(ACCOUNT).facets["blob_soft_delete_days"] == 30


def test_azure_refuses_bad_settings_and_public_containers_when_the_account_forbids_them(
    estate: Sandbox,
) -> None:
    client = _driver(estate).clients.storage(SUB)
    with pytest.raises(HttpResponseError) as bad_days:
        client.blob_services.set_service_properties(
            "rg", "data", {"properties": {"deleteRetentionPolicy": {"enabled": True, "days": 0}}}
        )
    with pytest.raises(HttpResponseError) as public:
        client.blob_containers.create("rg", "data", "web", {"properties": {"publicAccess": "Blob"}})

    assert bad_days.value.status_code == 400
    assert public.value.status_code == 409
