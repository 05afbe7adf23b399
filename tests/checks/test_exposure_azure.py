"""Azure NSG exposure, evaluated as Azure evaluates it."""

from __future__ import annotations

from builders import NET, admin, arm_nsg, arm_rule, scan


def test_ssh_open_to_internet_tag_is_exposed() -> None:
    found = admin(scan([arm_nsg("n", arm_rule("ssh", 100, "22", "Internet"))]))
    assert found["n"].details["ports"] == ["22"]
    assert found["n"].details["rules"][0]["name"] == "ssh"


def test_every_internet_alias_counts() -> None:
    for source in ("*", "Any", "Internet", "0.0.0.0/0", "0.0.0.0", "::/0", "internet"):
        assert "n" in admin(scan([arm_nsg("n", arm_rule("r", 100, "3389", source))])), source


def test_private_and_service_tag_sources_are_not_internet() -> None:
    for source in ("10.0.0.0/8", "VirtualNetwork", "AzureLoadBalancer", "192.168.1.4"):
        assert admin(scan([arm_nsg("n", arm_rule("r", 100, "22", source))])) == {}, source


def test_higher_priority_deny_shadows_lower_allow() -> None:
    nsg = arm_nsg(
        "n",
        arm_rule("deny", 100, "22", "Internet", access="Deny"),
        arm_rule("allow", 200, "22", "*"),
    )
    assert admin(scan([nsg])) == {}


def test_lower_priority_deny_does_not_shadow() -> None:
    nsg = arm_nsg(
        "n",
        arm_rule("deny", 300, "22", "Internet", access="Deny"),
        arm_rule("allow", 200, "22", "*"),
    )
    assert "n" in admin(scan([nsg]))


def test_deny_from_a_private_range_does_not_shadow_internet_traffic() -> None:
    nsg = arm_nsg(
        "n",
        arm_rule("deny", 100, "22", "10.0.0.0/8", access="Deny"),
        arm_rule("allow", 200, "22", "*"),
    )
    assert "n" in admin(scan([nsg]))


def test_partial_shadow_leaves_the_uncovered_ports() -> None:
    nsg = arm_nsg(
        "n", arm_rule("deny", 100, "22", "*", access="Deny"), arm_rule("allow", 200, "20-25", "*")
    )
    assert admin(scan([nsg]))["n"].details["ports"] == ["21", "23"]


def test_plural_fields_count() -> None:
    nsg = arm_nsg("n", arm_rule("r", 100, ["80", "3389"], ["10.0.0.0/8", "0.0.0.0/0"]))
    assert admin(scan([nsg]))["n"].details["ports"] == ["3389"]


def test_star_and_ranges_cover_the_ports_inside() -> None:
    assert admin(scan([arm_nsg("n", arm_rule("r", 100, "*", "*"))]))["n"].details["ports"] == [
        "21-23",
        "135",
        "137-139",
        "445",
        "3389",
        "5900",
        "5985-5986",
    ]
    assert "n" in admin(scan([arm_nsg("n", arm_rule("r", 100, "5980-5990", "*"))]))
    assert admin(scan([arm_nsg("n", arm_rule("r", 100, "8000-9000", "*"))])) == {}


def test_protocol_star_covers_tcp_and_udp() -> None:
    found = admin(scan([arm_nsg("n", arm_rule("r", 100, "3389", "*", protocol="*"))]))
    assert found["n"].details["protocols"] == ["tcp", "udp"]


def test_icmp_rules_expose_nothing() -> None:
    assert admin(scan([arm_nsg("n", arm_rule("r", 100, "*", "*", protocol="Icmp"))])) == {}


def test_outbound_rules_expose_nothing() -> None:
    nsg = arm_nsg("n", arm_rule("r", 100, "22", "*", direction="Outbound"))
    assert admin(scan([nsg])) == {}


def test_default_rules_alone_expose_nothing() -> None:
    assert scan([arm_nsg("n")]) == []


def test_database_ports_are_a_separate_check() -> None:
    findings = scan([arm_nsg("n", arm_rule("r", 100, ["1433", "6379"], "*"))])
    assert [(f.check, f.details["ports"]) for f in findings] == [
        ("exposed-database-port", ["1433", "6379"])
    ]


def _nic(name: str, nsg: str | None, subnet: str, public_ip: str | None) -> dict[str, object]:
    config: dict[str, object] = {"subnet": {"id": f"{NET}/virtualNetworks/v/subnets/{subnet}"}}
    if public_ip:
        config["publicIPAddress"] = {"id": f"{NET}/publicIPAddresses/{public_ip}"}
    props: dict[str, object] = {
        "ipConfigurations": [{"name": "c", "properties": config}],
        "virtualMachine": {
            "id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{name}"
        },
    }
    if nsg:
        props["networkSecurityGroup"] = {"id": f"{NET}/networkSecurityGroups/{nsg}"}
    return {
        "id": f"{NET}/networkInterfaces/{name}-nic",
        "name": f"{name}-nic",
        "type": "Microsoft.Network/networkInterfaces",
        "properties": props,
    }


def _vnet(*subnets: tuple[str, str | None]) -> dict[str, object]:
    return {
        "id": f"{NET}/virtualNetworks/v",
        "name": "v",
        "type": "Microsoft.Network/virtualNetworks",
        "properties": {
            "subnets": [
                {
                    "id": f"{NET}/virtualNetworks/v/subnets/{s}",
                    "name": s,
                    "properties": (
                        {"networkSecurityGroup": {"id": f"{NET}/networkSecurityGroups/{n}"}}
                        if n
                        else {}
                    ),
                }
                for s, n in subnets
            ]
        },
    }


def test_vm_is_reached_only_when_nic_and_subnet_nsgs_both_allow() -> None:
    open_nsg = arm_nsg("open", arm_rule("ssh", 100, "22", "*"))
    closed = arm_nsg("closed")
    objects = [
        open_nsg,
        closed,
        _vnet(("a", "closed"), ("b", None)),
        _nic("blocked", "open", "a", None),
        _nic("reached", "open", "b", "pip"),
    ]

    reaches = admin(scan(objects))["open"].details["reaches"]

    assert [r["vm"].rsplit("/", 1)[-1] for r in reaches] == ["reached"]


def test_public_ip_on_a_reached_vm_makes_it_critical() -> None:
    objects = [
        arm_nsg("open", arm_rule("ssh", 100, "22", "*")),
        _vnet(("b", None)),
        _nic("vm", "open", "b", "pip"),
    ]
    assert admin(scan(objects))["open"].severity == "critical"
    objects[-1] = _nic("vm", "open", "b", None)
    assert admin(scan(objects))["open"].severity == "high"
