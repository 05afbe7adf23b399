"""restrict_ingress on the layer that opens the port on Azure: the Virtual Network Manager
security admin rule (AlwaysAllow WinRM on the demo's demo-vnet), narrowed with
azure-mgmt-network's ``admin_rules.create_or_update`` and deployed with a commit, verified
by re-reading the VNet's effective admin rules, and undone — against the sandbox, whose
effective admin rules change only when the configuration is committed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network.models import AdminRule, NetworkManagerCommit

from clamp.errors import ConflictError, PlanRefused
from clamp.model import ActionStatus, ChangeOp, Provider
from clamp.providers.azure.clients import AzureClients
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from rig import Rig, make_rig

CHECK = "exposed-admin-port"
SUB = "00000000-0000-4000-8000-000000000001"
MANAGER = f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Network/networkManagers/demo-avnm"
CONFIG = f"{MANAGER}/securityAdminConfigurations/platform-baseline"
RULE = f"{CONFIG}/ruleCollections/vendor-access/rules/always-allow-winrm"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The demo estate; each test leaves the admin rule as it found it."""
    with Sandbox(load_state(None)) as sandbox:
        yield make_rig(sandbox, Path(tmp_path_factory.mktemp("admin-rules")))


def _stored(rig: Rig) -> dict[str, Any]:
    return next(o for o in rig.state()["azure"][SUB] if o.get("id") == RULE)


def _effective_sources(rig: Rig) -> list[str]:
    network = AzureClients(rig.settings).network(SUB)
    page = network.list_network_manager_effective_security_admin_rules(
        "clamp-demo", "demo-vnet", {"skipToken": None}
    )
    [rule] = [r.as_dict() for r in page.value or [] if r.id == RULE]
    return [s["addressPrefix"] for s in rule["properties"]["sources"]]


def test_the_admin_rule_is_narrowed_committed_verified_and_undone(demo: Rig) -> None:
    finding = demo.finding(Provider.AZURE, CHECK, "demo-vnet").finding
    plan = demo.engine.plan(finding.id, params={"allow": ["198.51.100.0/24"]})

    [change] = plan.changes
    assert change.target == RULE
    assert "NetworkManagerCommitsOperations.begin_post" in change.api_call
    assert "sources Internet → 198.51.100.0/24" in plan.summary and "committed" in plan.summary
    assert "commit redeploys" in plan.blast_radius
    record = demo.engine.apply(plan, actor="tester")

    assert record.status == ActionStatus.VERIFIED
    assert _stored(demo)["properties"]["sources"] == [
        {"addressPrefix": "198.51.100.0/24", "addressPrefixType": "IPPrefix"}
    ]
    assert _effective_sources(demo) == ["198.51.100.0/24"]

    demo.engine.undo(record.id, actor="tester")
    assert _effective_sources(demo) == ["Internet"]
    demo.scan()
    assert demo.finding(Provider.AZURE, CHECK, "demo-vnet")  # open again after the undo


def _effective(rig: Rig) -> dict[str, dict[str, Any]]:
    """The admin rules in effect on demo-vnet, by name: sources and ports."""
    network = AzureClients(rig.settings).network(SUB)
    page = network.list_network_manager_effective_security_admin_rules(
        "clamp-demo", "demo-vnet", {"skipToken": None}
    )
    return {
        str(r.id).rsplit("/", 1)[-1]: {
            "sources": [s.address_prefix for s in r.sources or []],
            "ports": list(r.destination_port_ranges or []),
            "priority": r.priority,
        }
        for r in page.value or []
    }


def _deploy_ports(rig: Rig, ports: list[str]) -> None:
    """The admin rule's ports set (``create_or_update``) and its configuration committed."""
    network = AzureClients(rig.settings).network(SUB)
    args = ("clamp-demo", "demo-avnm", "platform-baseline", "vendor-access", "always-allow-winrm")
    current = network.admin_rules.get(*args).as_dict()
    properties = {**current["properties"], "destinationPortRanges": ports}
    network.admin_rules.create_or_update(
        *args, AdminRule({"kind": "Custom", "properties": properties})
    )
    [status] = network.network_manager_deployment_status.list(
        "clamp-demo", "demo-avnm", {"deploymentTypes": ["SecurityAdmin"]}
    ).value
    commit = NetworkManagerCommit(
        target_locations=[status.region], configuration_ids=[CONFIG], commit_type="SecurityAdmin"
    )
    network.network_manager_commits.begin_post("clamp-demo", "demo-avnm", commit).result()
    rig.scan()


@pytest.fixture
def also_https(demo: Rig) -> Iterator[None]:
    """The admin rule AlwaysAllows 443 from the internet too (a port that must stay open)."""
    _deploy_ports(demo, ["5985-5986", "443"])
    yield
    _deploy_ports(demo, ["5985-5986"])


@pytest.mark.usefixtures("also_https")
def test_a_rule_that_also_opens_other_ports_is_split_verified_and_undone(demo: Rig) -> None:
    finding = demo.finding(Provider.AZURE, CHECK, "demo-vnet").finding
    plan = demo.engine.plan(finding.id, params={"allow": ["198.51.100.0/24"]})

    added, narrowed = plan.changes
    assert (added.op, narrowed.op) == (ChangeOp.CREATE, ChangeOp.UPDATE)
    assert added.target == f"{RULE}-restricted" and narrowed.target == RULE
    assert (
        "split" in plan.summary and "always-allow-winrm-restricted (priority 101)" in plan.summary
    )
    record = demo.engine.apply(plan, actor="tester")

    assert record.status == ActionStatus.VERIFIED
    effective = _effective(demo)
    # 443 stays open to the internet exactly as before; WinRM only from the kept network
    assert effective["always-allow-winrm"] == {
        "sources": ["Internet"],
        "ports": ["443"],
        "priority": 100,
    }
    assert effective["always-allow-winrm-restricted"] == {
        "sources": ["198.51.100.0/24"],
        "ports": ["5985-5986"],
        "priority": 101,
    }

    demo.engine.undo(record.id, actor="tester")
    effective = _effective(demo)
    assert "always-allow-winrm-restricted" not in effective
    assert effective["always-allow-winrm"]["ports"] == ["5985-5986", "443"]
    assert not any(o["id"] == f"{RULE}-restricted" for o in demo.state()["azure"][SUB])
    demo.scan()
    assert demo.finding(Provider.AZURE, CHECK, "demo-vnet")  # open again after the undo


@pytest.mark.usefixtures("also_https")
def test_a_split_without_a_kept_source_only_drops_the_sensitive_ports(demo: Rig) -> None:
    finding = demo.finding(Provider.AZURE, CHECK, "demo-vnet").finding
    plan = demo.engine.plan(finding.id)

    [change] = plan.changes
    record = demo.engine.apply(plan, actor="tester")

    assert change.op == ChangeOp.UPDATE and record.status == ActionStatus.VERIFIED
    assert _effective(demo)["always-allow-winrm"]["ports"] == ["443"]
    demo.engine.undo(record.id, actor="tester")
    assert _effective(demo)["always-allow-winrm"]["ports"] == ["5985-5986", "443"]


def test_a_rule_whose_only_source_is_the_internet_needs_allow(demo: Rig) -> None:
    finding = demo.finding(Provider.AZURE, CHECK, "demo-vnet").finding
    with pytest.raises(PlanRefused, match="cannot be disabled: give --allow"):
        demo.engine.plan(finding.id)


def test_a_rule_changed_since_the_plan_is_not_written(demo: Rig) -> None:
    finding = demo.finding(Provider.AZURE, CHECK, "demo-vnet").finding
    plan = demo.engine.plan(finding.id, params={"allow": ["198.51.100.0/24"]})
    with demo.sandbox.state.lock:
        _live = next(o for o in demo.sandbox.state.azure[SUB] if o.get("id") == RULE)
        _live["properties"]["priority"] = 101
    try:
        with pytest.raises(ConflictError, match="changed since it was read"):
            demo.engine.apply(plan, actor="tester")
        assert _stored(demo)["properties"]["sources"][0]["addressPrefix"] == "Internet"
    finally:
        with demo.sandbox.state.lock:
            _live["properties"]["priority"] = 100


def test_the_sandbox_applies_an_admin_rule_change_only_once_committed(demo: Rig) -> None:
    network = AzureClients(demo.settings).network(SUB)
    current = network.admin_rules.get(
        "clamp-demo", "demo-avnm", "platform-baseline", "vendor-access", "always-allow-winrm"
    ).as_dict()
    narrowed = {
        **current["properties"],
        "sources": [{"addressPrefix": "192.0.2.0/24", "addressPrefixType": "IPPrefix"}],
    }
    args = ("clamp-demo", "demo-avnm", "platform-baseline", "vendor-access", "always-allow-winrm")
    try:
        network.admin_rules.create_or_update(
            *args, AdminRule({"kind": "Custom", "properties": narrowed})
        )
        assert _effective_sources(demo) == ["Internet"]  # written, not deployed yet

        [status] = network.network_manager_deployment_status.list(
            "clamp-demo", "demo-avnm", {"deploymentTypes": ["SecurityAdmin"]}
        ).value
        assert [c.lower() for c in status.configuration_ids] == [CONFIG.lower()]
        commit = NetworkManagerCommit(
            target_locations=[status.region],
            configuration_ids=[CONFIG],
            commit_type="SecurityAdmin",
        )
        network.network_manager_commits.begin_post("clamp-demo", "demo-avnm", commit).result()
        assert _effective_sources(demo) == ["192.0.2.0/24"]
    finally:
        network.admin_rules.create_or_update(
            *args, AdminRule({"kind": "Custom", "properties": current["properties"]})
        )
        commit = NetworkManagerCommit(
            target_locations=[status.region],
            configuration_ids=[CONFIG],
            commit_type="SecurityAdmin",
        )
        network.network_manager_commits.begin_post("clamp-demo", "demo-avnm", commit).result()
    assert _effective_sources(demo) == ["Internet"]


def test_restrict_ingress_declares_every_permission_the_admin_rule_fix_and_undo_need(
    demo: Rig,
) -> None:
    finding = demo.finding(Provider.AZURE, CHECK, "demo-vnet").finding
    plan = demo.engine.plan(finding.id, params={"allow": ["198.51.100.0/24"]})
    driver = demo.engine.drivers(Provider.AZURE)
    needed = {
        p
        for c in [*plan.changes, *(c.inverse() for c in plan.changes)]
        for p in driver.describe(c).permissions
    }
    assert "Microsoft.Network/networkManagers/commit/action" in needed
    assert needed <= set(plan.permissions)


@pytest.mark.parametrize(
    ("field", "value"),
    [("priority", 5000), ("priority", 200), ("access", "Maybe"), ("protocol", "Gre")],
)
def test_the_sandbox_refuses_an_admin_rule_the_model_refuses_and_changes_nothing(
    demo: Rig, field: str, value: object
) -> None:
    network = AzureClients(demo.settings).network(SUB)
    args = ("clamp-demo", "demo-avnm", "platform-baseline", "vendor-access")
    current = network.admin_rules.get(*args, "always-allow-winrm").as_dict()
    if value == 200:  # a sibling taking the priority another rule holds
        sibling = {**current["properties"], "priority": 200}
        network.admin_rules.create_or_update(
            *args, "sibling", AdminRule({"kind": "Custom", "properties": sibling})
        )
    bad = {**current["properties"], field: value}
    try:
        with pytest.raises(HttpResponseError) as refused:
            network.admin_rules.create_or_update(
                *args, "always-allow-winrm", AdminRule({"kind": "Custom", "properties": bad})
            )
        assert refused.value.status_code == 400
        assert _stored(demo)["properties"] == current["properties"]
    finally:
        if value == 200:
            network.admin_rules.begin_delete(*args, "sibling").result()
