"""Property tests over whole GCP scans (raw Compute objects → normalize → the port
checks): an organization policy that denies first always wins over any VPC rules,
``goto_next`` defers as if the layer were not there, and an organization allow is terminal
— reported on the network whatever the VPC rules say, without hiding them."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import admin, firewall, scan
from checks.test_exposure_layers_gcp import effective, instance, network, org, policy_rule

PORTS = ["22", "20-25", "3389", "1-65535"]
# SSH on every protocol that has ports (a VPC rule for ``all`` opens UDP and SCTP 22 too)
SSH = {"layer4Configs": [{"ipProtocol": p, "ports": ["22"]} for p in ("tcp", "udp", "sctp")]}


@st.composite
def vpc_rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 4))
    out = []
    for i in range(count):
        verb = draw(st.sampled_from(["allowed", "denied"]))
        config: dict[str, Any] = {"IPProtocol": draw(st.sampled_from(["tcp", "all"]))}
        if config["IPProtocol"] == "tcp":
            config["ports"] = [draw(st.sampled_from(PORTS))]
        out.append(
            firewall(
                f"fw{i}",
                priority=draw(st.integers(100, 2000)),
                sourceRanges=[draw(st.sampled_from(["0.0.0.0/0", "10.0.0.0/8"]))],
                disabled=draw(st.booleans()),
                **{verb: [config]},
            )
        )
    return out


def _ports(finding: Any) -> set[int]:
    out: set[int] = set()
    for text in finding.details["ports"]:
        lo, _, hi = str(text).partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _summary(found: dict[str, Any]) -> dict[str, set[int]]:
    return {name: _ports(f) for name, f in found.items()}


@settings(max_examples=80, deadline=None)
@given(vpc_rules(), st.sampled_from(["deny", "goto_next", "allow"]))
def test_an_organization_rule_decides_ssh_whatever_the_vpc_rules_say(
    rules: list[dict[str, Any]], action: str
) -> None:
    objects = [network(), instance("vm1"), *rules]
    without = _summary(admin(scan(gcp=objects)))

    found = admin(scan(gcp=[*objects, effective(org(policy_rule(10, action, match=SSH)))]))
    vpc = _summary({n: f for n, f in found.items() if n != "vpc"})

    if action == "deny":  # first deny wins: no finding lists SSH
        assert all(22 not in ports for ports in _summary(found).values())
        assert vpc == {n: p - {22} for n, p in without.items() if p - {22}}
    elif action == "goto_next":  # defers: as if the organization had no rule
        assert _summary(found) == without
    else:  # a terminal allow: SSH reported on the network, the VPC rules still reported
        assert _ports(found["vpc"]) == {22}
        assert found["vpc"].details["decided_by"]["layer"] == "hierarchical:firewallPolicies/123"
        assert vpc == without
