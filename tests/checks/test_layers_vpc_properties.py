"""The layered evaluation with the VPC firewall rules as its only layer agrees with the
per-port reference of VPC firewalls (hypothesis), and a policy layer only removes what
its denies shadow."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from checks.test_exposure_properties_gcp import gcp_reference, gcp_rules, pairs, port_ranges
from clamp.checks.network_layers import vpc_rule
from clamp.exposure import GCP_PROTOCOLS, is_gcp_internet_allow
from clamp.layers import Action, Decision, EachAllowAlone, Layer, LayerRule, Match, Subject
from clamp.model import Access, NetworkRule, PortRange, Protocol

NET = "projects/p1/global/networks/vpc"


def _layered(
    allows: list[NetworkRule],
    denies: list[NetworkRule],
    sensitive: tuple[PortRange, ...],
    before: tuple[Layer, ...] = (),
) -> set[tuple[Protocol, int]]:
    vpc = Layer("vpc", tuple(vpc_rule(r) for r in [*allows, *denies]))
    alone = EachAllowAlone([*before, vpc])
    found: list[Decision] = []
    for rule in allows:
        if is_gcp_internet_allow(rule):
            subject = Subject(NET, tags=rule.target_tags)
            found += alone.decisions(
                "vpc", rule.name, rule.priority, subject, sensitive, GCP_PROTOCOLS
            )
    by_protocol: dict[Protocol, tuple[PortRange, ...]] = {}
    for d in found:
        by_protocol[d.protocol] = (*by_protocol.get(d.protocol, ()), *d.ports)
    return pairs(by_protocol)


def _named(rules: list[NetworkRule], prefix: str) -> list[NetworkRule]:
    """Distinct names: a VPC firewall's name is unique in its project."""
    return [replace(r, name=f"{prefix}{i}") for i, r in enumerate(rules)]


@given(
    st.lists(gcp_rules(Access.ALLOW), max_size=3),
    st.lists(gcp_rules(Access.DENY), max_size=4),
    port_ranges,
)
def test_the_vpc_layer_alone_agrees_with_the_vpc_firewall_reference(
    allows: list[NetworkRule], denies: list[NetworkRule], sensitive: tuple[PortRange, ...]
) -> None:
    allows, denies = _named(allows, "allow"), _named(denies, "deny")
    # A deny with target tags shadows an allow for the same tags in the layers (it holds
    # for each of its VMs); the reference ignores every targeted deny, so compare without.
    denies = [replace(d, target_tags=()) for d in denies]
    assert _layered(allows, denies, sensitive) == gcp_reference(allows, denies, sensitive)


@given(
    st.lists(gcp_rules(Access.ALLOW), max_size=3),
    st.lists(gcp_rules(Access.DENY), max_size=3),
    port_ranges,
    port_ranges,
)
def test_an_organization_deny_removes_exactly_its_ports(
    allows: list[NetworkRule],
    denies: list[NetworkRule],
    sensitive: tuple[PortRange, ...],
    shut: tuple[PortRange, ...],
) -> None:
    allows, denies = _named(allows, "allow"), _named(denies, "deny")
    everything = frozenset({Protocol.ANY})
    org = Layer(
        "org", (LayerRule("deny", 1, Action.DENY, Match(everything, shut, ("0.0.0.0/0",))),)
    )
    without = _layered(allows, denies, sensitive)
    with_org = _layered(allows, denies, sensitive, (org,))
    assert with_org == {(p, n) for p, n in without if not any(n in r for r in shut)}
