"""The sandbox's Azure Resource Manager for storage and management locks, through the
official azure-mgmt-storage and azure-mgmt-resource-locks SDKs, built the way Clamp's
Azure driver builds them in sandbox mode (``AzureClients``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.resource.locks import ManagementLockClient
from azure.mgmt.resource.locks.models import ManagementLockObject
from azure.mgmt.storage import StorageManagementClient

from clamp.config import Settings
from clamp.providers.azure.clients import AzureClients
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState

DATA = Path(__file__).parents[2] / ".." / "shared" / "data"
CASSETTES = DATA / "custodian" / "azure-cassettes"
BLOB_PUT_EXAMPLE = DATA / "azure-rest-examples" / "BlobServicesPut.2026-04-01.json"
needs_data = pytest.mark.skipif(
    not CASSETTES.is_dir(), reason="../shared/data (recorded Azure responses) is not present"
)

SUB = "0b7f1e2a-5c3d-4e6f-8a9b-0c1d2e3f4a5b"
GROUP = f"/subscriptions/{SUB}/resourceGroups/data-rg"
ACCOUNT = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/payroll"
SERVICE = f"{ACCOUNT}/blobServices/default"
OTHER = (
    f"/subscriptions/{SUB}/resourceGroups/web-rg/providers/Microsoft.Storage/storageAccounts/assets"
)
NSG = f"{GROUP}/providers/Microsoft.Network/networkSecurityGroups/data-nsg"
AT = ("data-rg", "payroll")  # resource group and account, as the SDK methods take them
RECORDED = ("test_storage", "cctstoragey6akyqpagdt3o")  # a 2019 account in the cassettes


def _account(arm_id: str, **props: Any) -> dict[str, Any]:
    name = arm_id.rsplit("/", 1)[-1]
    return {
        "id": arm_id,
        "name": name,
        "type": "Microsoft.Storage/storageAccounts",
        "location": "westeurope",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "tags": {"team": "finance"},
        "properties": {
            "supportsHttpsTrafficOnly": True,
            "minimumTlsVersion": "TLS1_2",
            "allowBlobPublicAccess": False,
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": []},
            "primaryEndpoints": {"blob": f"https://{name}.blob.core.windows.net/"},
            "provisioningState": "Succeeded",
            **props,
        },
    }


def _container(name: str, access: str = "None") -> dict[str, Any]:
    return {
        "id": f"{SERVICE}/containers/{name}",
        "name": name,
        "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
        "etag": '"0x8DC0FFEE0000001"',
        "properties": {
            "publicAccess": access,
            "hasImmutabilityPolicy": False,
            "hasLegalHold": False,
        },
    }


def _estate() -> list[dict[str, Any]]:
    """Two accounts (neither with a stored blob service), two containers and an NSG."""
    nsg = {
        "id": NSG,
        "name": "data-nsg",
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": "westeurope",
        "etag": 'W/"00000000-0000-4000-8000-000000000001"',
        "properties": {"securityRules": []},
    }
    return [_account(ACCOUNT), _account(OTHER), _container("ledger"), _container("exports"), nsg]


def _recorded(*names: str) -> list[dict[str, Any]]:
    """The ARM objects of recorded responses, the last recording of each id winning."""
    objects: dict[str, dict[str, Any]] = {}
    for name in names:
        for interaction in json.loads((CASSETTES / name).read_text())["interactions"]:
            body = (interaction["response"]["body"] or {}).get("data") or {}
            if isinstance(body, dict):
                for obj in body.get("value") or ([body] if body.get("id") else []):
                    objects[obj["id"].lower()] = obj
    return list(objects.values())


def _clients(box: Sandbox) -> AzureClients:
    return AzureClients(Settings(database_url="sqlite://", sandbox_url=box.url))


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(SandboxState.from_scenario({"azure": {SUB: _estate()}})) as running:
        yield running


@pytest.fixture
def storage(box: Sandbox) -> StorageManagementClient:
    return _clients(box).storage(SUB)


@pytest.fixture
def locks(box: Sandbox) -> ManagementLockClient:
    return _clients(box).locks(SUB)


def _stored(box: Sandbox, arm_id: str) -> dict[str, Any] | None:
    objects = box.state.to_scenario()["azure"][SUB]
    return next((o for o in objects if o["id"].lower() == arm_id.lower()), None)


def _refusal(exc: pytest.ExceptionInfo[HttpResponseError]) -> tuple[int | None, str]:
    return exc.value.status_code, exc.value.error.code if exc.value.error else ""


# -- accounts -------------------------------------------------------------------------------
@needs_data
def test_recorded_accounts_are_listed_by_subscription_and_group_and_read_as_recorded() -> None:
    objects = _recorded("StorageTest.test_storage_blob_services.json")
    subscription = objects[0]["id"].split("/")[2]
    with Sandbox(SandboxState.from_scenario({"azure": {subscription: objects}})) as sandbox:
        client = _clients(sandbox).storage(subscription)
        listed = {a.name for a in client.storage_accounts.list()}
        in_group = {a.name for a in client.storage_accounts.list_by_resource_group("BFS-sandbox")}
        account = client.storage_accounts.get_properties("BFS-sandbox", "bfsdevstorage")

    recorded = {o["name"] for o in objects if o["type"] == "Microsoft.Storage/storageAccounts"}
    assert listed == recorded and len(listed) > 1
    assert in_group == {"bfsdevstorage"}
    assert account.properties.minimum_tls_version == "TLS1_0"
    assert (
        account.properties.primary_endpoints.blob == "https://bfsdevstorage.blob.core.windows.net/"
    )


def test_patching_one_property_leaves_the_others_and_the_account_has_no_etag(
    box: Sandbox, storage: StorageManagementClient
) -> None:
    before = _stored(box, ACCOUNT)

    updated = storage.storage_accounts.update(*AT, {"properties": {"minimumTlsVersion": "TLS1_1"}})

    after = _stored(box, ACCOUNT)
    assert updated.properties.minimum_tls_version == "TLS1_1"
    assert before is not None and after is not None
    assert {**before["properties"], "minimumTlsVersion": "TLS1_1"} == after["properties"]
    assert after["tags"] == {"team": "finance"} and "etag" not in after


def test_a_created_account_gets_azures_defaults_and_deleting_it_removes_its_parts(
    box: Sandbox, storage: StorageManagementClient, locks: ManagementLockClient
) -> None:
    params = {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_GRS"}}
    created = storage.storage_accounts.begin_create("data-rg", "scratch01", params).result()
    storage.blob_containers.create("data-rg", "scratch01", "tmp", {})
    locks.management_locks.create_or_update_by_scope(
        created.id, "keep", ManagementLockObject(level="CanNotDelete")
    )

    assert created.properties.provisioning_state == "Succeeded"
    assert created.properties.minimum_tls_version == "TLS1_2"
    assert created.properties.allow_blob_public_access is False
    assert created.properties.primary_endpoints.blob == "https://scratch01.blob.core.windows.net/"
    assert "etag" not in (_stored(box, created.id) or {})

    locks.management_locks.delete_by_scope(created.id, "keep")
    storage.storage_accounts.delete("data-rg", "scratch01")

    assert not [o for o in box.state.to_scenario()["azure"][SUB] if "scratch01" in o["id"]]
    with pytest.raises(ResourceNotFoundError):
        storage.storage_accounts.get_properties("data-rg", "scratch01")


# -- blob service ---------------------------------------------------------------------------
def test_an_account_without_a_blob_service_has_azures_default_one_stored_on_first_read(
    box: Sandbox, storage: StorageManagementClient
) -> None:
    assert _stored(box, SERVICE) is None

    service = storage.blob_services.get_service_properties(*AT)

    assert service.is_versioning_enabled is False
    assert service.delete_retention_policy.enabled is False
    assert service.container_delete_retention_policy.enabled is False
    assert (_stored(box, SERVICE) or {}).get("name") == "default"
    assert [s.name for s in storage.blob_services.list(*AT)] == ["default"]


def test_setting_versioning_and_soft_delete_keeps_the_settings_left_out(
    box: Sandbox, storage: StorageManagementClient
) -> None:
    storage.blob_services.set_service_properties(*AT, {"properties": {"isVersioningEnabled": True}})

    result = storage.blob_services.set_service_properties(
        *AT,
        {
            "properties": {
                "deleteRetentionPolicy": {"enabled": True, "days": 14},
                "containerDeleteRetentionPolicy": {"enabled": True, "days": 7},
            }
        },
    )

    assert result.is_versioning_enabled is True
    assert result.delete_retention_policy.days == 14
    stored = (_stored(box, SERVICE) or {})["properties"]
    assert stored["isVersioningEnabled"] is True
    assert stored["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 7}


@pytest.mark.skipif(not BLOB_PUT_EXAMPLE.is_file(), reason="Azure REST example is not present")
def test_the_documented_blob_service_put_answers_as_documented(
    storage: StorageManagementClient,
) -> None:
    example = json.loads(BLOB_PUT_EXAMPLE.read_text())

    result = storage.blob_services.set_service_properties(*AT, example["parameters"]["parameters"])

    documented = example["responses"]["200"]["body"]["properties"]
    answered = result.as_dict()["properties"]
    assert {k: answered[k] for k in documented} == documented


# -- containers -----------------------------------------------------------------------------
def test_a_container_update_gets_a_new_etag_and_ignores_if_match(
    box: Sandbox, storage: StorageManagementClient
) -> None:
    # The storage spec declares If-Match only on immutability policies (azure-mgmt-storage
    # 25.3, 2026-09-01), so ARM ignores it on a container update: the last write wins.
    read = storage.blob_containers.get(*AT, "ledger")
    fresh = storage.blob_containers.update(
        *AT,
        "ledger",
        {"properties": {"metadata": {"owner": "finance"}}},
        headers={"If-Match": read.etag},
    )

    later = storage.blob_containers.update(
        *AT,
        "ledger",
        {"properties": {"metadata": {"owner": "someone"}}},
        headers={"If-Match": read.etag},
    )

    assert fresh.etag != read.etag and later.etag not in (read.etag, fresh.etag)
    now = storage.blob_containers.get(*AT, "ledger")
    assert now.metadata == {"owner": "someone"} and now.etag == later.etag
    names = {c.name for c in storage.blob_containers.list(*AT)}
    assert names == {"ledger", "exports"}


@needs_data
def test_public_containers_are_refused_only_where_the_account_forbids_public_access() -> None:
    objects = _recorded("StorageContainerTest.containers.json")
    subscription = objects[0]["id"].split("/")[2]
    with Sandbox(SandboxState.from_scenario({"azure": {subscription: objects}})) as sandbox:
        client = _clients(sandbox).storage(subscription)
        # No allowBlobPublicAccess in 2019's answer: public access is allowed.
        client.blob_containers.update(
            *RECORDED,
            "containertwo",
            {"properties": {"publicAccess": "Blob"}},
        )
        client.storage_accounts.update(
            *RECORDED,
            {"properties": {"allowBlobPublicAccess": False}},
        )
        with pytest.raises(HttpResponseError) as refused:
            client.blob_containers.create(
                *RECORDED,
                "web",
                {"properties": {"publicAccess": "Container"}},
            )
        names = {c.name for c in client.blob_containers.list(*RECORDED)}

    assert _refusal(refused) == (409, "PublicAccessNotPermitted")
    assert names == {"containerone", "containertwo"}


# -- validation -----------------------------------------------------------------------------
REFUSED: dict[str, tuple[Any, int]] = {
    "tls-version": (
        lambda s: s.storage_accounts.update(*AT, {"properties": {"minimumTlsVersion": "TLS1_9"}}),
        400,
    ),
    "soft-delete-0-days": (
        lambda s: s.blob_services.set_service_properties(
            *AT,
            {"properties": {"deleteRetentionPolicy": {"enabled": True, "days": 0}}},
        ),
        400,
    ),
    "container-soft-delete-366-days": (
        lambda s: s.blob_services.set_service_properties(
            *AT,
            {"properties": {"containerDeleteRetentionPolicy": {"enabled": True, "days": 366}}},
        ),
        400,
    ),
    "public-container": (
        lambda s: s.blob_containers.create(*AT, "site", {"properties": {"publicAccess": "Blob"}}),
        409,
    ),
    "account-name": (
        lambda s: s.storage_accounts.begin_create(
            "data-rg", "Bad_Name", {"location": "westeurope", "sku": {"name": "Standard_LRS"}}
        ).result(),
        400,
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_settings_azure_refuses_are_refused_and_change_nothing(
    box: Sandbox, storage: StorageManagementClient, case: str
) -> None:
    call, status = REFUSED[case]
    storage.blob_services.get_service_properties(*AT)  # stores the default
    before = box.state.to_scenario()

    with pytest.raises(HttpResponseError) as refused:
        call(storage)

    assert refused.value.status_code == status
    assert box.state.to_scenario() == before


def test_tls_1_3_is_accepted(storage: StorageManagementClient) -> None:
    updated = storage.storage_accounts.update(*AT, {"properties": {"minimumTlsVersion": "TLS1_3"}})

    assert updated.properties.minimum_tls_version == "TLS1_3"


# -- management locks -----------------------------------------------------------------------
def test_locks_at_a_scope_and_inherited_from_its_group_and_subscription_are_listed(
    locks: ManagementLockClient,
) -> None:
    api = locks.management_locks
    api.create_or_update_by_scope(GROUP, "group-lock", ManagementLockObject(level="CanNotDelete"))
    api.create_or_update_at_subscription_level(
        "sub-lock", ManagementLockObject(level="CanNotDelete", notes="platform team")
    )
    api.create_or_update_at_resource_level(
        "data-rg",
        "Microsoft.Storage",
        "",
        "storageAccounts",
        "payroll",
        "own-lock",
        ManagementLockObject(level="ReadOnly"),
    )

    on_account = {lock.name: lock for lock in api.list_by_scope(ACCOUNT)}
    on_other = {lock.name for lock in api.list_by_scope(OTHER)}
    everywhere = {lock.name for lock in api.list_at_subscription_level()}

    assert set(on_account) == {"group-lock", "sub-lock", "own-lock"}
    assert (
        on_account["own-lock"].id == f"{ACCOUNT}/providers/Microsoft.Authorization/locks/own-lock"
    )
    assert on_account["sub-lock"].notes == "platform team"
    assert on_other == {"sub-lock"}
    assert everywhere == {"group-lock", "sub-lock", "own-lock"}
    assert api.get_by_scope(GROUP, "group-lock").level == "CanNotDelete"

    api.delete_by_scope(GROUP, "group-lock")

    assert {lock.name for lock in api.list_by_scope(ACCOUNT)} == {"sub-lock", "own-lock"}
    with pytest.raises(ResourceNotFoundError):
        api.get_by_scope(GROUP, "group-lock")


def test_an_inherited_cannotdelete_lock_refuses_deleting_the_account_and_its_containers(
    box: Sandbox, storage: StorageManagementClient, locks: ManagementLockClient
) -> None:
    locks.management_locks.create_or_update_by_scope(
        GROUP, "no-delete", ManagementLockObject(level="CanNotDelete")
    )

    with pytest.raises(HttpResponseError) as account:
        storage.storage_accounts.delete(*AT)
    with pytest.raises(HttpResponseError) as container:
        storage.blob_containers.delete(*AT, "ledger")
    patched = storage.storage_accounts.update(
        *AT, {"properties": {"supportsHttpsTrafficOnly": False}}
    )

    assert _refusal(account) == (409, "ScopeLocked")
    assert _refusal(container) == (409, "ScopeLocked")
    assert _stored(box, f"{SERVICE}/containers/ledger") is not None
    assert patched.properties.enable_https_traffic_only is False


def test_a_lock_below_an_account_refuses_deleting_the_account(
    storage: StorageManagementClient, locks: ManagementLockClient
) -> None:
    container = f"{SERVICE}/containers/ledger"
    locks.management_locks.create_or_update_by_scope(
        container, "keep-ledger", ManagementLockObject(level="CanNotDelete")
    )

    with pytest.raises(HttpResponseError) as refused:
        storage.storage_accounts.delete(*AT)

    assert _refusal(refused) == (409, "ScopeLocked")
    assert storage.storage_accounts.get_properties(*AT).name == "payroll"


def test_a_readonly_lock_refuses_every_write_but_not_reads_or_removing_the_lock(
    box: Sandbox, storage: StorageManagementClient, locks: ManagementLockClient
) -> None:
    locks.management_locks.create_or_update_by_scope(
        ACCOUNT, "frozen", ManagementLockObject(level="ReadOnly")
    )
    writes = {
        "patch": lambda: storage.storage_accounts.update(
            *AT, {"properties": {"minimumTlsVersion": "TLS1_0"}}
        ),
        "blob service": lambda: storage.blob_services.set_service_properties(
            *AT, {"properties": {"isVersioningEnabled": True}}
        ),
        "container": lambda: storage.blob_containers.create(*AT, "new", {}),
        "list keys": lambda: storage.storage_accounts.list_keys(*AT),
        "delete": lambda: storage.storage_accounts.delete(*AT),
    }
    before = _stored(box, ACCOUNT)

    for what, write in writes.items():
        with pytest.raises(HttpResponseError) as refused:
            write()
        assert _refusal(refused) == (409, "ScopeLocked"), what

    assert _stored(box, ACCOUNT) == before
    assert storage.storage_accounts.get_properties(*AT).name == "payroll"
    locks.management_locks.delete_by_scope(ACCOUNT, "frozen")
    assert len(storage.storage_accounts.list_keys(*AT).keys_property or []) == 2


def test_locks_apply_to_network_security_rules_too(
    box: Sandbox, locks: ManagementLockClient
) -> None:
    network = _clients(box).network(SUB)
    rule = {
        "protocol": "Tcp",
        "access": "Allow",
        "direction": "Inbound",
        "priority": 200,
        "sourceAddressPrefix": "10.0.0.0/8",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "destinationPortRange": "443",
    }
    network.security_rules.begin_create_or_update(
        "data-rg", "data-nsg", "https", {"properties": rule}
    ).result()
    locks.management_locks.create_or_update_by_scope(
        NSG, "keep", ManagementLockObject(level="CanNotDelete")
    )

    with pytest.raises(HttpResponseError) as delete:
        network.security_rules.begin_delete("data-rg", "data-nsg", "https").result()
    locks.management_locks.create_or_update_by_scope(
        NSG, "keep", ManagementLockObject(level="ReadOnly")
    )
    with pytest.raises(HttpResponseError) as write:
        network.security_rules.begin_create_or_update(
            "data-rg", "data-nsg", "https", {"properties": {**rule, "destinationPortRange": "22"}}
        ).result()

    assert _refusal(delete) == (409, "ScopeLocked") and _refusal(write) == (409, "ScopeLocked")
    kept = network.security_rules.get("data-rg", "data-nsg", "https")
    assert kept.destination_port_range == "443"


# -- the estate as a scenario ---------------------------------------------------------------
def test_the_estate_after_writes_round_trips_through_a_scenario(
    box: Sandbox, storage: StorageManagementClient, locks: ManagementLockClient
) -> None:
    storage.storage_accounts.update(*AT, {"properties": {"minimumTlsVersion": "TLS1_1"}})
    storage.blob_services.set_service_properties(*AT, {"properties": {"isVersioningEnabled": True}})
    storage.blob_containers.create(*AT, "archive", {})
    locks.management_locks.create_or_update_by_scope(
        ACCOUNT, "keep", ManagementLockObject(level="CanNotDelete")
    )
    scenario = box.state.to_scenario()

    with Sandbox(SandboxState.from_scenario(scenario)) as again:
        clients = _clients(again)
        client = clients.storage(SUB)
        account = client.storage_accounts.get_properties(*AT)
        service = client.blob_services.get_service_properties(*AT)
        containers = {c.name for c in client.blob_containers.list(*AT)}
        held = [lock.name for lock in clients.locks(SUB).management_locks.list_by_scope(ACCOUNT)]
        assert again.state.to_scenario() == scenario

    types = {o["type"] for o in scenario["azure"][SUB]}
    assert {
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "Microsoft.Authorization/locks",
    } <= types
    assert account.properties.minimum_tls_version == "TLS1_1"
    assert service.is_versioning_enabled is True
    assert containers == {"ledger", "exports", "archive"}
    assert held == ["keep"]
