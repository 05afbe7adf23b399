"""Reachability through Azure load balancers: a VM without a public IP is one hop from the
internet when a public load balancer's inbound NAT rule or load-balancing rule forwards to
it on a port its NSGs let in (raw ARM shapes → normalize → the port checks)."""

from __future__ import annotations

from typing import Any

from builders import NET, admin, arm_nsg, arm_rule, scan
from clamp.web.filters import reach_path

VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
SUBNET = f"{NET}/virtualNetworks/v/subnets/a"
LB = f"{NET}/loadBalancers/lb"
FRONTEND = f"{LB}/frontendIPConfigurations/fe"
POOL = f"{LB}/backendAddressPools/pool"
PIP = f"{NET}/publicIPAddresses/lb-ip"


def nic(name: str) -> dict[str, Any]:
    config = {"subnet": {"id": SUBNET}}
    return {
        "id": f"{NET}/networkInterfaces/{name}",
        "name": name,
        "type": "Microsoft.Network/networkInterfaces",
        "properties": {
            "ipConfigurations": [{"name": "c", "properties": config}],
            "virtualMachine": {"id": f"{VM}/{name}"},
        },
    }


def ipconfig(name: str) -> dict[str, str]:
    return {"id": f"{NET}/networkInterfaces/{name}/ipConfigurations/c"}


def public_ip() -> dict[str, Any]:
    return {
        "id": PIP,
        "name": "lb-ip",
        "type": "Microsoft.Network/publicIPAddresses",
        "properties": {"ipAddress": "203.0.113.50"},
    }


def load_balancer(
    nat: tuple[dict[str, Any], ...] = (),
    rules: tuple[dict[str, Any], ...] = (),
    pool: tuple[str, ...] = (),
    public: bool = True,
) -> dict[str, Any]:
    frontend: dict[str, Any] = {"id": FRONTEND, "name": "fe", "properties": {}}
    if public:
        frontend["properties"]["publicIPAddress"] = {"id": PIP}
    else:
        frontend["properties"]["privateIPAddress"] = "10.0.0.4"
    return {
        "id": LB,
        "name": "lb",
        "type": "Microsoft.Network/loadBalancers",
        "properties": {
            "frontendIPConfigurations": [frontend],
            "backendAddressPools": [
                {
                    "id": POOL,
                    "name": "pool",
                    "properties": {"backendIPConfigurations": [ipconfig(n) for n in pool]},
                }
            ],
            "inboundNatRules": list(nat),
            "loadBalancingRules": list(rules),
        },
    }


def nat_rule(name: str, frontend_port: int, backend_port: int, target: str) -> dict[str, Any]:
    return {
        "id": f"{LB}/inboundNatRules/{name}",
        "name": name,
        "properties": {
            "frontendIPConfiguration": {"id": FRONTEND},
            "protocol": "Tcp",
            "frontendPort": frontend_port,
            "backendPort": backend_port,
            "backendIPConfiguration": ipconfig(target),
        },
    }


def lb_rule(name: str, port: int, protocol: str = "Tcp") -> dict[str, Any]:
    return {
        "id": f"{LB}/loadBalancingRules/{name}",
        "name": name,
        "properties": {
            "frontendIPConfiguration": {"id": FRONTEND},
            "backendAddressPool": {"id": POOL},
            "protocol": protocol,
            "frontendPort": port,
            "backendPort": port,
        },
    }


def nsg() -> dict[str, Any]:
    return arm_nsg("open", arm_rule("ssh", 100, "22", "*"), subnets=[{"id": SUBNET}])


def test_a_nat_rule_to_the_exposed_port_makes_a_private_vm_reachable_and_critical() -> None:
    lb = load_balancer(nat=(nat_rule("ssh-50022", 50022, 22, "vm1"),))
    finding = admin(scan([nsg(), nic("vm1"), public_ip(), lb]))["open"]

    [reach] = finding.details["reaches"]
    assert reach["public_ip"] is None
    assert reach["path"] == {
        "via": "load_balancer",
        "load_balancer": LB,
        "frontend_ip": "203.0.113.50",
        "rule": "ssh-50022",
        "kind": "inbound_nat_rule",
        "protocol": "tcp",
        "frontend_port": 50022,
        "backend_port": 22,
    }
    assert finding.severity == "critical"


def test_a_load_balancing_rule_to_the_pool_counts_for_each_vm_in_it() -> None:
    lb = load_balancer(rules=(lb_rule("ssh", 22),), pool=("vm1", "vm2"))
    finding = admin(scan([nsg(), nic("vm1"), nic("vm2"), public_ip(), lb]))["open"]
    assert [r["path"]["rule"] for r in finding.details["reaches"]] == ["ssh", "ssh"]
    assert finding.severity == "critical"


def test_a_rule_to_another_port_or_a_private_frontend_is_no_path() -> None:
    for lb in (
        load_balancer(nat=(nat_rule("web", 443, 443, "vm1"),)),
        load_balancer(nat=(nat_rule("ssh", 50022, 22, "vm1"),), public=False),
        load_balancer(rules=(lb_rule("ssh-udp", 22, "Udp"),), pool=("vm1",)),
    ):
        finding = admin(scan([nsg(), nic("vm1"), public_ip(), lb]))["open"]
        [reach] = finding.details["reaches"]
        assert reach["path"] is None
        assert finding.severity == "high"


def test_vms_with_a_path_are_listed_before_those_without() -> None:
    lb = load_balancer(nat=(nat_rule("ssh", 50022, 22, "vm2"),))
    finding = admin(scan([nsg(), nic("vm1"), nic("vm2"), public_ip(), lb]))["open"]
    assert [r["vm"].rsplit("/", 1)[-1] for r in finding.details["reaches"]] == ["vm2", "vm1"]


def _admin_estate(backend_port: int) -> list[dict[str, Any]]:
    vnet = {
        "id": f"{NET}/virtualNetworks/v",
        "name": "v",
        "type": "Microsoft.Network/virtualNetworks",
        "properties": {"subnets": [{"id": SUBNET, "name": "a", "properties": {}}]},
    }
    rule = {
        "id": f"{NET}/networkManagers/m/securityAdminConfigurations/c/ruleCollections/r/rules/rdp",
        "kind": "Custom",
        "properties": {
            "protocol": "Tcp",
            "sources": [{"addressPrefix": "Internet", "addressPrefixType": "ServiceTag"}],
            "destinations": [{"addressPrefix": "*", "addressPrefixType": "IPPrefix"}],
            "destinationPortRanges": ["3389"],
            "access": "AlwaysAllow",
            "priority": 10,
            "direction": "Inbound",
        },
    }
    envelope = {
        "type": "clamp#effectiveSecurityAdminRules",
        "virtualNetwork": vnet["id"],
        "value": [rule],
    }
    lb = load_balancer(nat=(nat_rule("nat", 50000, backend_port, "vm1"),))
    return [vnet, envelope, nic("vm1"), public_ip(), lb]


def test_an_admin_rule_finding_counts_a_path_on_the_port_it_always_allows_only() -> None:
    on_rdp = admin(scan(_admin_estate(3389)))["v"]
    assert on_rdp.details["reaches"][0]["path"]["rule"] == "nat"
    assert on_rdp.severity == "critical"
    on_ssh = admin(scan(_admin_estate(22)))["v"]
    assert on_ssh.details["reaches"][0]["path"] is None
    assert on_ssh.severity == "high"


def test_the_console_reads_a_load_balancer_path_as_one_line() -> None:
    lb = load_balancer(nat=(nat_rule("ssh-50022", 50022, 22, "vm1"),))
    [reach] = admin(scan([nsg(), nic("vm1"), public_ip(), lb]))["open"].details["reaches"]
    assert reach_path(reach["path"]) == (
        "203.0.113.50:50022 → port 22/tcp through Microsoft.Network/loadBalancers/lb"
        " (inbound nat rule ssh-50022)"
    )
