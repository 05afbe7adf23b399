"""Planning restrict_ingress: narrow, reversible changes that really close the port."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import admin, arm_nsg, arm_rule, firewall, scan
from clamp.actions.restrict_ingress import RestrictIngress
from clamp.config import Settings
from clamp.errors import InputError, PlanRefused
from clamp.model import ChangeOp, Plan
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute

SETTINGS = Settings(database_url="sqlite://")


def plan_azure(nsg: dict[str, Any], **params: Any) -> Plan:
    [finding] = [f for f in scan([nsg]) if f.check == "exposed-admin-port"]
    [resource] = resources_from_arm([nsg])
    return RestrictIngress().plan(finding, resource, params, SETTINGS)


def plan_gcp(fw: dict[str, Any], **params: Any) -> Plan:
    [finding] = [f for f in scan(gcp=[fw]) if f.check == "exposed-admin-port"]
    [resource] = resources_from_compute("p1", [fw])
    return RestrictIngress().plan(finding, resource, params, SETTINGS)


def applied_nsg(nsg: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """The NSG as it would be after the plan's changes."""
    out = copy.deepcopy(nsg)
    rules = out["properties"]["securityRules"]
    for change in plan.changes:
        name = change.target.rsplit("/", 1)[-1]
        rules[:] = [r for r in rules if r["name"] != name]
        if change.after is not None:
            rules.append(dict(change.after))
    return out


def rule(nsg: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = next(
        r for r in nsg["properties"]["securityRules"] if r["name"] == name
    )["properties"]
    return props


def test_keeps_private_sources_and_drops_only_the_internet() -> None:
    nsg = arm_nsg("n", arm_rule("rdp", 100, "3389", ["0.0.0.0/0", "10.0.0.0/8"]))
    after = applied_nsg(nsg, plan := plan_azure(nsg))
    assert rule(after, "rdp")["sourceAddressPrefix"] == "10.0.0.0/8"
    assert plan.reversible and [c.op for c in plan.changes] == [ChangeOp.UPDATE]


def test_allow_cidrs_replace_the_internet() -> None:
    nsg = arm_nsg("n", arm_rule("ssh", 100, "22", "*"))
    after = applied_nsg(nsg, plan_azure(nsg, allow=["192.0.2.0/24", "198.51.100.7"]))
    assert rule(after, "ssh")["sourceAddressPrefixes"] == ["192.0.2.0/24", "198.51.100.7/32"]
    assert "sourceAddressPrefix" not in rule(after, "ssh")


def test_rule_with_nothing_left_becomes_a_deny() -> None:
    nsg = arm_nsg("n", arm_rule("ssh", 100, "22", "Internet"))
    after = applied_nsg(nsg, plan_azure(nsg))
    assert rule(after, "ssh")["access"] == "Deny"
    assert rule(after, "ssh")["priority"] == 100


def test_mixed_rule_is_split_and_https_stays_as_it_was() -> None:
    nsg = arm_nsg(
        "n", arm_rule("web", 100, ["22", "443"], "Internet"), arm_rule("next", 105, "80", "*")
    )
    after = applied_nsg(nsg, plan_azure(nsg, allow=["10.0.0.0/8"]))
    assert rule(after, "web")["destinationPortRange"] == "443"
    assert rule(after, "web")["sourceAddressPrefix"] == "Internet"
    restricted = rule(after, "web-restricted")
    assert restricted["destinationPortRange"] == "22"
    assert restricted["sourceAddressPrefix"] == "10.0.0.0/8"
    assert 100 < restricted["priority"] < 105
    assert rule(after, "next") == rule(nsg, "next")


def test_star_ports_split_into_the_complement() -> None:
    nsg = arm_nsg("n", arm_rule("any", 100, "*", "*"))
    after = applied_nsg(nsg, plan_azure(nsg))
    ports = rule(after, "any")["destinationPortRanges"]
    assert ports[:3] == ["0-20", "24-134", "136"] and ports[-1] == "5987-65535"
    assert admin(scan([after])) == {}


def test_shadowed_allow_is_left_alone_and_a_lower_allow_is_fixed_too() -> None:
    nsg = arm_nsg(
        "n",
        arm_rule("deny-rdp", 100, "3389", "*", access="Deny"),
        arm_rule("shadowed", 200, "3389", "*"),
        arm_rule("first", 300, "22", "*"),
        arm_rule("second", 400, "22", "Internet"),
    )
    plan = plan_azure(nsg)
    touched = {c.target.rsplit("/", 1)[-1] for c in plan.changes}
    assert touched == {"first", "second"}
    assert admin(scan([applied_nsg(nsg, plan)])) == {}


def test_no_free_priority_next_to_the_rule_is_refused() -> None:
    nsg = arm_nsg(
        "n",
        arm_rule("a", 100, ["22", "443"], ["*", "10.0.0.0/8"]),
        arm_rule("b", 101, "80", "10.1.0.0/16"),
    )
    nsg["properties"]["securityRules"][0]["properties"]["priority"] = 100
    with pytest.raises(PlanRefused, match="no free priority"):
        plan_azure(nsg)


@pytest.mark.parametrize("bad", ["not-a-cidr", "10.0.0.0/33", "0.0.0.0/0", "::/0"])
def test_bad_allow_is_an_input_error(bad: str) -> None:
    nsg = arm_nsg("n", arm_rule("ssh", 100, "22", "*"))
    with pytest.raises(InputError):
        plan_azure(nsg, allow=[bad])


def test_unknown_parameter_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown parameter"):
        plan_azure(arm_nsg("n", arm_rule("ssh", 100, "22", "*")), allowed=["10.0.0.0/8"])


def test_nothing_to_fix_is_refused() -> None:
    nsg = arm_nsg("n", arm_rule("ssh", 100, "22", "*"))
    [finding] = [f for f in scan([nsg]) if f.check == "exposed-admin-port"]
    fixed = arm_nsg("n", arm_rule("ssh", 100, "22", "10.0.0.0/8"))
    with pytest.raises(PlanRefused, match="no longer present"):
        RestrictIngress().plan(finding, resources_from_arm([fixed])[0], {}, SETTINGS)


TCP = "tcp"


def test_gcp_firewall_keeps_private_ranges() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0", "10.20.0.0/16"],
        allowed=[{"IPProtocol": TCP, "ports": ["22"]}],
    )
    [change] = plan_gcp(fw).changes
    assert change.after is not None and change.after["sourceRanges"] == ["10.20.0.0/16"]


def test_gcp_firewall_with_nothing_left_is_disabled_not_deleted() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": TCP, "ports": ["22"]}])
    [change] = plan_gcp(fw).changes
    assert change.op == ChangeOp.UPDATE and change.after is not None
    assert change.after["disabled"] is True


def test_gcp_mixed_firewall_is_split() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0"],
        targetTags=["web"],
        allowed=[{"IPProtocol": TCP, "ports": ["22", "443"]}],
    )
    update, create = plan_gcp(fw, allow=["10.0.0.0/8"]).changes
    assert update.after is not None and create.after is not None
    assert update.after["allowed"] == [{"IPProtocol": TCP, "ports": ["443"]}]
    assert update.after["sourceRanges"] == ["0.0.0.0/0"]
    assert create.after["name"] == "fw-restricted"
    assert create.after["allowed"] == [{"IPProtocol": TCP, "ports": ["22"]}]
    assert create.after["sourceRanges"] == ["10.0.0.0/8"]
    assert create.after["targetTags"] == ["web"]
    assert admin(scan(gcp=[dict(update.after), dict(create.after)])) == {}


def test_gcp_protocol_all_keeps_other_traffic() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": "all"}])
    [update] = plan_gcp(fw).changes
    assert update.after is not None
    protocols = [e["IPProtocol"] for e in update.after["allowed"]]
    assert {"icmp", "tcp", "udp", "sctp"} <= set(protocols)
    assert admin(scan(gcp=[dict(update.after)])) == {}


ports_st = st.lists(
    st.sampled_from(["22", "80", "443", "3389", "20-25", "*", "1000-4000"]),
    min_size=1,
    max_size=3,
    unique=True,
)
sources_st = st.lists(
    st.sampled_from(["*", "Internet", "10.0.0.0/8", "0.0.0.0/0", "172.16.0.0/12"]),
    min_size=1,
    max_size=3,
    unique=True,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(ports_st, sources_st, st.sampled_from(["Allow", "Deny"])), min_size=1, max_size=4
    ),
    st.lists(st.sampled_from(["10.9.0.0/16", "192.0.2.0/24"]), max_size=1),
)
def test_plan_closes_the_exposure_and_keeps_other_ports(
    specs: list[tuple[list[str], list[str], str]], allow: list[str]
) -> None:
    rules = [
        arm_rule(
            f"r{i}",
            100 + 10 * i,
            ports if len(ports) > 1 else ports[0],
            sources if len(sources) > 1 else sources[0],
            access=access,
        )
        for i, (ports, sources, access) in enumerate(specs)
    ]
    nsg = arm_nsg("n", *rules)
    if "n" not in admin(scan([nsg])):
        return
    after = applied_nsg(nsg, plan_azure(nsg, allow=allow))
    assert admin(scan([after])) == {}
    # fixing admin ports opens no database port, and ports 80/443/8080 stay as they were
    before_db = {f.check for f in scan([nsg]) if f.check == "exposed-database-port"}
    after_db = {f.check for f in scan([after]) if f.check == "exposed-database-port"}
    assert after_db <= before_db
    for port in (443, 80, 8080):
        assert _internet_allowed(nsg, port) == _internet_allowed(after, port)


def _internet_allowed(nsg: dict[str, Any], port: int) -> bool:
    from clamp.checks.exposure import azure_exposure
    from clamp.model import PortRange

    [resource] = resources_from_arm([nsg])
    return bool(azure_exposure(resource.facets["rules"], (PortRange(port, port),)))
