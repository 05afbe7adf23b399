"""The Azure driver: the real azure-mgmt clients against the sandbox's ARM wire format."""

from __future__ import annotations

import pytest

from clamp.config import Settings
from clamp.errors import ConflictError, PermissionDenied, RateLimited
from clamp.model import Change, ChangeOp, ResourceType
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.driver import AzureDriver
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault

SUB = "00000000-0000-4000-8000-000000000001"
TENANT = "00000000-0000-4000-8000-0000000000aa"
NSG = (
    f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Network/"
    "networkSecurityGroups/web-nsg"
)
RULE_TYPE = "Microsoft.Network/networkSecurityGroups/securityRules"


def test_discovers_the_subscription_and_collects_the_estate(sandbox_settings: Settings) -> None:
    driver = AzureDriver(sandbox_settings)

    assert driver.discover_scopes() == [SUB, f"tenant:{TENANT}"]
    resources = list(driver.collect(SUB))

    kinds = {r.type for r in resources}
    assert {
        ResourceType.AZURE_NSG,
        ResourceType.AZURE_NIC,
        ResourceType.AZURE_VM,
        ResourceType.AZURE_SUBNET,
        ResourceType.AZURE_PUBLIC_IP,
    } <= kinds
    vms = {r.name: r for r in resources if r.type == ResourceType.AZURE_VM}
    assert vms["build-agent"].facets["power_state"] == "PowerState/deallocated"
    nsg = next(r for r in resources if r.id.lower() == NSG.lower())
    assert any(rule.default and rule.name == "DenyAllInBound" for rule in nsg.facets["rules"])


def _rule_change(driver: AzureDriver, etag: str | None = None) -> Change:
    current = driver.current(
        Change(ChangeOp.UPDATE, f"{NSG}/securityRules/allow-http", RULE_TYPE, None, None, "test")
    )
    assert current is not None
    before = {**current, "etag": etag or current["etag"]}
    after = {
        "name": "allow-http",
        "properties": {**current["properties"], "sourceAddressPrefix": "10.0.0.0/8"},
    }  # type: ignore[dict-item]
    return Change(
        ChangeOp.UPDATE,
        f"{NSG}/securityRules/allow-http",
        RULE_TYPE,
        before,
        after,
        "SecurityRulesOperations.begin_create_or_update",
    )


def test_update_with_current_etag_goes_through_the_long_running_operation(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = AzureDriver(sandbox_settings)
    change = _rule_change(driver)

    driver.apply(change)

    now = driver.current(change)
    assert now is not None and now["properties"]["sourceAddressPrefix"] == "10.0.0.0/8"  # type: ignore[index]
    assert now["etag"] != change.before["etag"]  # type: ignore[index]


def test_a_rule_changed_since_the_plan_is_refused_and_nothing_changes(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    # ARM declares no If-Match on a security-rule PUT (azure-mgmt-network 33,
    # build_security_rules_create_or_update_request), so the driver re-reads and compares.
    driver = AzureDriver(sandbox_settings)
    change = _rule_change(driver)
    rules = AzureClients(sandbox_settings).network(SUB).security_rules
    meanwhile = rules.get("clamp-demo", "web-nsg", "allow-http")
    meanwhile.description = "changed by someone else"
    rules.begin_create_or_update("clamp-demo", "web-nsg", "allow-http", meanwhile).result()
    before = sandbox.state.to_scenario()

    with pytest.raises(ConflictError, match="nothing was changed"):
        driver.apply(change)

    assert sandbox.state.to_scenario() == before


def test_two_writes_in_one_nsg_both_land_though_the_nsg_etag_moves(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    # Both changes are planned from one read; the first write gives the NSG and all its
    # rules a new etag (as Azure does), which must not stop the second.
    driver = AzureDriver(sandbox_settings)
    update = _rule_change(driver)
    created = Change(
        ChangeOp.CREATE,
        f"{NSG}/securityRules/allow-http-restricted",
        RULE_TYPE,
        None,
        {
            "name": "allow-http-restricted",
            "properties": {
                **update.after["properties"],  # type: ignore[index]
                "priority": 111,
                "sourceAddressPrefix": "192.0.2.0/24",
            },
        },
        "SecurityRulesOperations.begin_create_or_update",
    )
    etag = update.before["etag"]  # type: ignore[index]

    driver.apply(created)
    driver.apply(update)

    nsg = (
        AzureClients(sandbox_settings)
        .network(SUB)
        .network_security_groups.get("clamp-demo", "web-nsg")
    )
    rules = {r.name: r for r in nsg.security_rules or []}
    assert rules["allow-http"].source_address_prefix == "10.0.0.0/8"
    assert rules["allow-http-restricted"].source_address_prefix == "192.0.2.0/24"
    assert nsg.etag != etag
    assert {r.etag for r in [*rules.values(), *(nsg.default_security_rules or [])]} == {nsg.etag}


def test_a_rule_created_meanwhile_is_not_overwritten(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = AzureDriver(sandbox_settings)
    update = _rule_change(driver)
    target = f"{NSG}/securityRules/taken"
    body = {"name": "taken", "properties": {**update.after["properties"], "priority": 150}}  # type: ignore[index]
    rules = AzureClients(sandbox_settings).network(SUB).security_rules
    rules.begin_create_or_update("clamp-demo", "web-nsg", "taken", body).result()
    before = sandbox.state.to_scenario()

    with pytest.raises(ConflictError, match="nothing was changed"):
        driver.apply(Change(ChangeOp.CREATE, target, RULE_TYPE, None, body, "test"))

    assert sandbox.state.to_scenario() == before


def test_throttling_is_retried_honouring_retry_after(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.state.faults.append(Fault(status=429, retry_after=0.01, provider="azure", times=2))

    assert AzureDriver(sandbox_settings).discover_scopes() == [SUB, f"tenant:{TENANT}"]
    assert sandbox.state.faults[0].times == 0


def test_endless_throttling_ends_in_a_rate_limited_error(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.state.faults.append(Fault(status=429, retry_after=0.01, provider="azure", times=None))

    with pytest.raises(RateLimited):
        AzureDriver(sandbox_settings).discover_scopes()


def test_forbidden_names_the_missing_permission(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.state.faults.append(
        Fault(status=403, provider="azure", path="networkSecurityGroups", times=None)
    )

    with pytest.raises(PermissionDenied, match=r"Microsoft\.Network/networkSecurityGroups/read"):
        AzureDriver(sandbox_settings).read(NSG)
