"""Azure Virtual Network Manager security admin rules, evaluated before the NSGs:
AlwaysAllow decides without them, Allow leaves them to decide, Deny stops the traffic."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import NET, SUB, admin, arm_nsg, arm_rule, scan
from clamp.actions.restrict_ingress import RestrictIngress
from clamp.checks.network_admin import left_to_nsgs, through_admin, verdict
from clamp.config import Settings
from clamp.errors import InputError, PlanRefused
from clamp.layers import Action, Layer, LayerRule, Match
from clamp.model import Plan, PortRange, Protocol
from clamp.ports import merge, subtract
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.azure.normalize_admin import ENVELOPE

VNET = f"{NET}/virtualNetworks/v"
OTHER = f"{NET}/virtualNetworks/w"
VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
MANAGER = f"{NET}/networkManagers/m/securityAdminConfigurations/c/ruleCollections/rc/rules"


def vnet(arm_id: str = VNET) -> dict[str, Any]:
    name = arm_id.rsplit("/", 1)[-1]
    subnet = {"id": f"{arm_id}/subnets/a", "name": "a", "properties": {}}
    return {
        "id": arm_id,
        "name": name,
        "type": "Microsoft.Network/virtualNetworks",
        "properties": {"subnets": [subnet]},
    }


def admin_rule(
    name: str,
    priority: int,
    ports: list[str],
    access: str,
    source: str = "Internet",
    destination: str = "*",
    protocol: str = "Tcp",
) -> dict[str, Any]:
    """An EffectiveSecurityAdminRule as the POST returns it (azure-mgmt-network models)."""
    return {
        "id": f"{MANAGER}/{name}",
        "kind": "Custom",
        "configurationDescription": "",
        "ruleCollectionAppliesToGroups": [{"networkGroupId": f"{NET}/networkManagers/m/g"}],
        "properties": {
            "protocol": protocol,
            "sources": [{"addressPrefix": source, "addressPrefixType": "ServiceTag"}],
            "destinations": [{"addressPrefix": destination, "addressPrefixType": "IPPrefix"}],
            "sourcePortRanges": ["0-65535"],
            "destinationPortRanges": ports,
            "access": access,
            "priority": priority,
            "direction": "Inbound",
        },
    }


def effective(*rules: dict[str, Any], on: str = VNET) -> dict[str, Any]:
    return {"type": ENVELOPE, "virtualNetwork": on, "value": list(rules)}


def nic(name: str, on: str = VNET) -> dict[str, Any]:
    config = {"subnet": {"id": f"{on}/subnets/a"}}
    return {
        "id": f"{NET}/networkInterfaces/{name}",
        "name": name,
        "type": "Microsoft.Network/networkInterfaces",
        "properties": {
            "ipConfigurations": [{"name": "c", "properties": config}],
            "virtualMachine": {"id": f"{VM}/{name}"},
        },
    }


def nsg(*rules: dict[str, Any], on: tuple[str, ...] = (VNET,)) -> dict[str, Any]:
    return arm_nsg("n", *rules, subnets=[{"id": f"{v}/subnets/a"} for v in on])


def test_always_allow_opens_the_port_though_the_nsg_denies_it() -> None:
    careful = nsg(arm_rule("deny-rdp", 100, "3389", "Internet", access="Deny"))
    objects = [
        vnet(),
        careful,
        nic("vm1"),
        effective(admin_rule("rdp", 10, ["3389"], "AlwaysAllow")),
    ]

    found = admin(scan(objects))

    assert "n" not in found
    finding = found["v"]
    assert finding.details["ports"] == ["3389"]
    assert finding.details["decided_by"] == {
        "layer": f"admin:{VNET}",
        "rule": "rdp",
        "rule_priority": 10,
        "action": "allow",
    }
    assert finding.details["layers"] == [f"admin:{VNET}", "nsg"]
    assert finding.details["rules"][0]["layer"] == f"admin:{VNET}"
    assert [r["vm"].rsplit("/", 1)[-1] for r in finding.details["reaches"]] == ["vm1"]
    assert "security admin rules" in finding.title


def test_admin_deny_makes_an_nsg_allow_harmless() -> None:
    objects = [
        vnet(),
        nsg(arm_rule("ssh", 100, "22", "*")),
        nic("vm1"),
        effective(admin_rule("no-ssh", 10, ["22"], "Deny")),
    ]
    assert admin(scan(objects)) == {}


def test_admin_deny_of_one_port_leaves_the_others_to_the_nsg() -> None:
    objects = [
        vnet(),
        nsg(arm_rule("admin", 100, ["22", "3389"], "*")),
        nic("vm1"),
        effective(admin_rule("no-ssh", 10, ["22"], "Deny")),
    ]
    assert admin(scan(objects))["n"].details["ports"] == ["3389"]


def test_admin_allow_leaves_the_decision_to_the_nsgs() -> None:
    rule = effective(admin_rule("ok", 10, ["22"], "Allow"))
    opened = admin(scan([vnet(), nsg(arm_rule("ssh", 100, "22", "*")), nic("vm1"), rule]))
    closed = admin(scan([vnet(), nsg(), nic("vm1"), rule]))
    assert opened["n"].details["ports"] == ["22"]
    assert "v" not in opened
    assert closed == {}


def test_an_allow_ahead_of_a_deny_defers_to_the_nsg_and_the_deny_still_holds() -> None:
    # Allow is goto_next: the NSGs decide, later admin rules are not consulted for it
    objects = [
        vnet(),
        nsg(arm_rule("ssh", 100, "22", "*")),
        nic("vm1"),
        effective(admin_rule("ok", 10, ["22"], "Allow"), admin_rule("no", 20, ["22"], "Deny")),
    ]
    assert admin(scan(objects))["n"].details["ports"] == ["22"]


def test_admin_rules_from_private_sources_decide_nothing_for_the_internet() -> None:
    objects = [
        vnet(),
        nsg(arm_rule("ssh", 100, "22", "*")),
        nic("vm1"),
        effective(
            admin_rule("corp", 10, ["22"], "Deny", source="10.0.0.0/8"),
            admin_rule("corp-rdp", 11, ["3389"], "AlwaysAllow", source="10.0.0.0/8"),
        ),
    ]
    found = admin(scan(objects))
    assert found["n"].details["ports"] == ["22"]
    assert "v" not in found


def test_a_deny_to_part_of_the_vnet_does_not_hide_an_nsg_exposure() -> None:
    objects = [
        vnet(),
        nsg(arm_rule("ssh", 100, "22", "*")),
        nic("vm1"),
        effective(admin_rule("no-ssh", 10, ["22"], "Deny", destination="10.0.0.0/24")),
    ]
    assert admin(scan(objects))["n"].details["ports"] == ["22"]


def test_an_nsg_on_two_vnets_keeps_the_port_one_of_them_does_not_deny() -> None:
    objects = [
        vnet(),
        vnet(OTHER),
        nsg(arm_rule("ssh", 100, "22", "*"), on=(VNET, OTHER)),
        nic("vm1"),
        nic("vm2", on=OTHER),
        effective(admin_rule("no-ssh", 10, ["22"], "Deny")),
    ]
    finding = admin(scan(objects))["n"]
    assert finding.details["ports"] == ["22"]
    assert [r["vm"].rsplit("/", 1)[-1] for r in finding.details["reaches"]] == ["vm2"]


def test_without_admin_rules_read_the_nsgs_alone_decide() -> None:
    found = admin(scan([vnet(), nsg(arm_rule("ssh", 100, "22", "*")), nic("vm1")]))
    assert found["n"].details["ports"] == ["22"]


def test_a_malformed_admin_rule_is_a_one_line_error_naming_the_vnet() -> None:
    bad = admin_rule("odd", 10, ["22"], "Sometimes")
    with pytest.raises(InputError, match=r"security admin rules of .*virtualNetworks/v: .*odd"):
        scan([vnet(), effective(bad)])


# -- properties ---------------------------------------------------------------------------
UNIVERSE = 30
ranges = st.lists(
    st.tuples(st.integers(0, UNIVERSE), st.integers(0, 6)).map(
        lambda t: PortRange(t[0], min(t[0] + t[1], UNIVERSE))
    ),
    min_size=1,
    max_size=3,
).map(merge)
actions = st.sampled_from([Action.ALLOW, Action.DENY, Action.GOTO_NEXT])


@st.composite
def admin_layers(draw: st.DrawFn) -> Layer:
    count = draw(st.integers(0, 5))
    priorities = draw(st.lists(st.integers(1, 4096), min_size=count, max_size=count, unique=True))
    rules = tuple(
        LayerRule(
            name=f"a{i}",
            priority=p,
            action=draw(actions),
            match=Match(
                protocols=frozenset({draw(st.sampled_from([Protocol.TCP, Protocol.ANY]))}),
                ports=draw(ranges),
                sources=(draw(st.sampled_from(["Internet", "*", "10.0.0.0/8"])),),
            ),
        )
        for i, p in enumerate(priorities)
    )
    return Layer("admin:v", rules)


SENSITIVE = (PortRange(0, UNIVERSE),)


def first_deciding(layer: Layer, port: int) -> Action | None:
    """Reference: the first TCP internet rule on ``port``, by priority (one port at a time)."""
    for rule in sorted(layer.rules, key=lambda r: (r.priority, r.action != Action.DENY)):
        if rule.match.sources[0] != "10.0.0.0/8" and any(port in r for r in rule.match.ports):
            return rule.action
    return None


@settings(max_examples=200, deadline=None)
@given(admin_layers(), ranges)
def test_always_allow_cannot_be_undone_by_an_nsg_and_an_admin_deny_wins(
    layer: Layer, nsg_open: tuple[PortRange, ...]
) -> None:
    judged = verdict(layer, "v", SENSITIVE)
    for nsgs in ({}, {Protocol.TCP: nsg_open}, {Protocol.TCP: SENSITIVE}):
        reached = merge(through_admin(judged, nsgs).get(Protocol.TCP, ()))
        for port in range(UNIVERSE + 1):
            first = first_deciding(layer, port)
            inside = any(port in r for r in reached)
            if first == Action.ALLOW:
                assert inside  # whatever the NSGs deny
            elif first == Action.DENY:
                assert not inside  # whatever the NSGs allow
            else:
                assert inside == any(port in r for r in nsgs.get(Protocol.TCP, ()))


@settings(max_examples=100, deadline=None)
@given(admin_layers(), ranges)
def test_what_is_left_to_the_nsgs_never_includes_a_port_the_admin_rules_decided(
    layer: Layer, nsg_open: tuple[PortRange, ...]
) -> None:
    judged = verdict(layer, "v", SENSITIVE)
    left = left_to_nsgs(judged, {Protocol.TCP: nsg_open}).get(Protocol.TCP, ())
    assert subtract(merge(left), judged.decided(Protocol.TCP)) == merge(left)
    assert subtract(merge(left), nsg_open) == ()


def _admin_plan(rule: dict[str, Any], **params: Any) -> Plan:
    objects = [vnet(), nsg(), nic("vm1"), effective(rule)]
    [finding] = [f for f in scan(objects) if f.check == "exposed-admin-port"]
    [resource] = [r for r in resources_from_arm(objects, SUB) if r.id == finding.resource]
    return RestrictIngress().plan(finding, resource, params, Settings(database_url="sqlite://"))


def test_restrict_ingress_narrows_the_admin_rule_to_the_allowed_networks() -> None:
    plan = _admin_plan(admin_rule("rdp", 10, ["3389"], "AlwaysAllow"), allow=["192.0.2.0/24"])
    [change] = plan.changes
    assert change.target.endswith("/rdp") and change.after is not None
    assert change.after["properties"]["sources"] == [
        {"addressPrefix": "192.0.2.0/24", "addressPrefixType": "IPPrefix"}
    ]
    assert "security admin rule rdp (priority 10)" in plan.summary


def test_restrict_ingress_refuses_an_admin_rule_with_only_the_internet_and_no_allow() -> None:
    with pytest.raises(PlanRefused, match="cannot be disabled: give --allow"):
        _admin_plan(admin_rule("rdp", 10, ["3389"], "AlwaysAllow"))


def test_restrict_ingress_splits_an_admin_rule_that_also_opens_other_ports() -> None:
    plan = _admin_plan(
        admin_rule("rdp-web", 10, ["3389", "443"], "AlwaysAllow"), allow=["192.0.2.0/24"]
    )

    added, narrowed = plan.changes
    assert added.after is not None and narrowed.after is not None
    # the rule keeps 443 for everyone it admitted; RDP only from the allowed network
    assert narrowed.target == f"{MANAGER}/rdp-web"
    assert narrowed.after["properties"]["destinationPortRanges"] == ["443"]
    assert narrowed.after["properties"]["sources"][0]["addressPrefix"] == "Internet"
    assert added.target == f"{MANAGER}/rdp-web-restricted"
    assert added.after["properties"] | {"sources": None} == narrowed.after["properties"] | {
        "sources": None,
        "priority": 11,
        "destinationPortRanges": ["3389"],
    }
    assert added.after["properties"]["sources"] == [
        {"addressPrefix": "192.0.2.0/24", "addressPrefixType": "IPPrefix"}
    ]


def test_an_admin_rule_split_takes_the_free_priority_beside_it_or_is_refused() -> None:
    rule = admin_rule("rdp-web", 10, ["3389", "443"], "AlwaysAllow")
    above, below = (admin_rule(n, p, ["80"], "Allow") for n, p in (("a", 11), ("b", 9)))
    objects = [vnet(), nsg(), nic("vm1"), effective(rule, above)]
    [finding] = [f for f in scan(objects) if f.check == "exposed-admin-port"]
    settings = Settings(database_url="sqlite://")
    for around, priority in (([above], 9), ([above, below], None)):
        objects[-1] = effective(rule, *around)
        [resource] = [r for r in resources_from_arm(objects, SUB) if r.id == finding.resource]
        params = {"allow": ["192.0.2.0/24"]}
        if priority is None:
            with pytest.raises(PlanRefused, match="priorities 9 and 11 of its collection"):
                RestrictIngress().plan(finding, resource, params, settings)
        else:
            added = RestrictIngress().plan(finding, resource, params, settings).changes[0].after
            assert added is not None and added["properties"]["priority"] == priority


def test_an_admin_rule_for_every_protocol_is_not_split() -> None:
    with pytest.raises(PlanRefused, match="cannot be split by port"):
        _admin_plan(
            admin_rule("rdp-web", 10, ["3389", "443"], "AlwaysAllow", protocol="Any"),
            allow=["192.0.2.0/24"],
        )


def test_an_admin_deny_from_the_internet_also_stops_azure_datacenters() -> None:
    # the Internet tag includes Azure's public address space (service tags docs)
    objects = [
        vnet(),
        nsg(arm_rule("azure", 100, "22", "AzureCloud")),
        nic("vm1"),
        effective(admin_rule("no-ssh", 10, ["22"], "Deny")),
    ]
    assert admin(scan(objects)) == {}
    assert admin(scan(objects[:3]))["n"].details["source_kind"] == "broad-service-tag"


NSG_PORTS = ["22", "3389", "20-25", "3000-4000", "*"]


@st.composite
def nsg_rule_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 5))
    priorities = draw(st.lists(st.integers(100, 4096), min_size=count, max_size=count, unique=True))
    return [
        arm_rule(
            f"r{i}",
            p,
            draw(st.sampled_from(NSG_PORTS)),
            draw(st.sampled_from(["*", "Internet", "10.0.0.0/8"])),
            access=draw(st.sampled_from(["Allow", "Deny"])),
            protocol=draw(st.sampled_from(["Tcp", "*"])),
        )
        for i, p in enumerate(priorities)
    ]


def _listed_ports(finding: Any) -> set[int]:
    """The ports a finding lists (the admin rule covers every protocol)."""
    out: set[int] = set()
    for text in finding.details["ports"]:
        lo, _, hi = text.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


@settings(max_examples=60, deadline=None)
@given(nsg_rule_lists(), nsg_rule_lists(), st.sampled_from(["AlwaysAllow", "Deny"]))
def test_through_whole_scans_no_nsg_undoes_an_always_allow_or_an_admin_deny(
    subnet_rules: list[dict[str, Any]], nic_rules: list[dict[str, Any]], access: str
) -> None:
    nic_nsg = arm_nsg("m", *nic_rules)
    vm = nic("vm1")
    vm["properties"]["networkSecurityGroup"] = {"id": nic_nsg["id"]}
    objects = [
        vnet(),
        nsg(*subnet_rules),
        nic_nsg,
        vm,
        effective(admin_rule("a", 10, ["22"], access, protocol="Any")),
    ]

    found = admin(scan(objects))

    assert all(22 not in _listed_ports(f) for name, f in found.items() if name != "v")
    if access == "AlwaysAllow":
        assert 22 in _listed_ports(found["v"])
        assert [r["vm"].rsplit("/", 1)[-1] for r in found["v"].details["reaches"]] == ["vm1"]
    else:
        assert "v" not in found
