"""More properties, checked with hypothesis: GCP against a per-port reference, and the
fix helper's rule list against the effective exposures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from checks.test_exposure_properties import nsg_rules
from clamp.exposure import (
    azure_exposure,
    gcp_exposure,
    internet_allow_rules,
    internet_ports,
    is_gcp_shadow,
)
from clamp.model import Access, Direction, NetworkRule, PortRange, Protocol
from clamp.ports import merge

UNIVERSE = 30
port_ranges = st.lists(
    st.tuples(st.integers(0, UNIVERSE), st.integers(0, 6)).map(
        lambda t: PortRange(t[0], min(t[0] + t[1], UNIVERSE))
    ),
    min_size=1,
    max_size=3,
).map(merge)
gcp_protocols = st.sampled_from(
    [Protocol.TCP, Protocol.UDP, Protocol.SCTP, Protocol.ANY, Protocol.ICMP]
)


@st.composite
def gcp_rules(draw: st.DrawFn, access: Access) -> NetworkRule:
    return NetworkRule(
        name=draw(st.sampled_from(["a", "b", "c"])),
        priority=draw(st.integers(0, 2000)),
        direction=draw(st.sampled_from([Direction.INGRESS, Direction.INGRESS, Direction.EGRESS])),
        access=access,
        protocols=frozenset({draw(gcp_protocols)}),
        sources=tuple(
            draw(
                st.lists(
                    st.sampled_from(["0.0.0.0/0", "::/0", "10.0.0.0/8"]), min_size=1, max_size=2
                )
            )
        ),
        ports=draw(port_ranges),
        enabled=draw(st.booleans()),
        target_tags=tuple(draw(st.lists(st.just("web"), max_size=1))),
    )


def pairs(ports: dict[Protocol, tuple[PortRange, ...]]) -> set[tuple[Protocol, int]]:
    return {(p, n) for p, ranges in ports.items() for r in ranges for n in range(r.lo, r.hi + 1)}


def gcp_reference(
    allows: list[NetworkRule], denies: list[NetworkRule], sensitive: tuple[PortRange, ...]
) -> set[tuple[Protocol, int]]:
    """One port and protocol at a time, straight from the VPC firewall documentation."""

    def matches(rule: NetworkRule, protocol: Protocol, port: int) -> bool:
        return (
            rule.enabled
            and rule.direction == Direction.INGRESS
            and bool({"0.0.0.0/0", "::/0"} & set(rule.sources))
            and (Protocol.ANY in rule.protocols or protocol in rule.protocols)
            and any(port in r for r in rule.ports)
        )

    exposed = set()
    for allow in allows:
        for protocol in (Protocol.TCP, Protocol.UDP, Protocol.SCTP):
            for port in range(UNIVERSE + 1):
                if not any(port in r for r in sensitive) or not matches(allow, protocol, port):
                    continue
                if not any(
                    matches(d, protocol, port)
                    and not d.target_tags
                    and d.priority <= allow.priority
                    for d in denies
                ):
                    exposed.add((protocol, port))
    return exposed


@given(
    st.lists(gcp_rules(Access.ALLOW), max_size=3),
    st.lists(gcp_rules(Access.DENY), max_size=4),
    port_ranges,
)
def test_gcp_engine_agrees_with_per_port_reference(
    allows: list[NetworkRule], denies: list[NetworkRule], sensitive: tuple[PortRange, ...]
) -> None:
    shadows = [d for d in denies if is_gcp_shadow(d)]
    engine = pairs(internet_ports(gcp_exposure(allows, shadows, sensitive)))
    assert engine == gcp_reference(allows, denies, sensitive)


@given(nsg_rules(), port_ranges)
def test_rules_to_fix_cover_every_rule_that_exposes(
    rules: list[NetworkRule], sensitive: tuple[PortRange, ...]
) -> None:
    effective = {e.rule.name for e in azure_exposure(rules, sensitive)}
    assert effective <= set(internet_allow_rules(rules, sensitive))


@given(nsg_rules(), port_ranges)
def test_closing_every_rule_to_fix_closes_the_nsg(
    rules: list[NetworkRule], sensitive: tuple[PortRange, ...]
) -> None:
    to_fix = set(internet_allow_rules(rules, sensitive))
    closed = [
        r
        if r.name not in to_fix
        else NetworkRule(
            r.name, r.priority, r.direction, r.access, r.protocols, ("10.0.0.0/8",), r.ports
        )
        for r in rules
    ]
    assert azure_exposure(closed, sensitive) == []


@given(nsg_rules(), port_ranges)
def test_protocol_star_is_the_same_as_a_tcp_and_a_udp_rule(
    rules: list[NetworkRule], sensitive: tuple[PortRange, ...]
) -> None:
    split = [
        NetworkRule(r.name, r.priority, r.direction, r.access, frozenset({p}), r.sources, r.ports)
        for r in rules
        for p in (
            (Protocol.TCP, Protocol.UDP) if Protocol.ANY in r.protocols else tuple(r.protocols)
        )
    ]
    assert internet_ports(azure_exposure(split, sensitive)) == internet_ports(
        azure_exposure(rules, sensitive)
    )
