"""Properties of the exposure engine, checked with hypothesis against a per-port reference."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clamp.exposure import azure_exposure, gcp_exposure, internet_ports, is_gcp_shadow
from clamp.model import Access, Direction, NetworkRule, PortRange, Protocol
from clamp.ports import merge

UNIVERSE = 40
SOURCES = ["*", "Internet", "0.0.0.0/0", "10.0.0.0/8", "VirtualNetwork", "192.168.0.0/16"]

port_ranges = st.lists(
    st.tuples(st.integers(0, UNIVERSE), st.integers(0, 8)).map(
        lambda t: PortRange(t[0], min(t[0] + t[1], UNIVERSE))
    ),
    min_size=1,
    max_size=3,
).map(lambda rs: merge(rs))
protocols = st.sampled_from([Protocol.TCP, Protocol.UDP, Protocol.ANY, Protocol.ICMP])


@st.composite
def nsg_rules(draw: st.DrawFn) -> list[NetworkRule]:
    count = draw(st.integers(0, 6))
    priorities = draw(st.lists(st.integers(100, 4096), min_size=count, max_size=count, unique=True))
    return [
        NetworkRule(
            name=f"r{i}",
            priority=priority,
            direction=Direction.INGRESS,
            access=draw(st.sampled_from([Access.ALLOW, Access.DENY])),
            protocols=frozenset({draw(protocols)}),
            sources=tuple(draw(st.lists(st.sampled_from(SOURCES), min_size=1, max_size=2))),
            ports=draw(port_ranges),
        )
        for i, priority in enumerate(priorities)
    ]


sensitive_sets = port_ranges


def reference(
    rules: list[NetworkRule], sensitive: tuple[PortRange, ...]
) -> set[tuple[Protocol, int]]:
    """First matching rule per (protocol, port), one port at a time."""
    internet = {"*", "internet", "0.0.0.0/0"}
    exposed = set()
    for protocol in (Protocol.TCP, Protocol.UDP):
        for port in range(UNIVERSE + 1):
            if not any(port in r for r in sensitive):
                continue
            for rule in sorted(rules, key=lambda r: r.priority):
                if (
                    (Protocol.ANY in rule.protocols or protocol in rule.protocols)
                    and any(port in r for r in rule.ports)
                    and any(s.lower() in internet for s in rule.sources)
                ):
                    if rule.access == Access.ALLOW:
                        exposed.add((protocol, port))
                    break
    return exposed


def as_pairs(ports: dict[Protocol, tuple[PortRange, ...]]) -> set[tuple[Protocol, int]]:
    return {
        (p, port) for p, ranges in ports.items() for r in ranges for port in range(r.lo, r.hi + 1)
    }


@given(nsg_rules(), sensitive_sets)
def test_interval_engine_agrees_with_per_port_reference(
    rules: list[NetworkRule], sensitive: tuple[PortRange, ...]
) -> None:
    assert as_pairs(internet_ports(azure_exposure(rules, sensitive))) == reference(rules, sensitive)


@given(nsg_rules(), sensitive_sets, st.randoms())
def test_rule_order_in_the_list_does_not_matter(
    rules: list[NetworkRule], sensitive: tuple[PortRange, ...], rnd: object
) -> None:
    shuffled = list(rules)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert internet_ports(azure_exposure(shuffled, sensitive)) == internet_ports(
        azure_exposure(rules, sensitive)
    )


@given(nsg_rules(), sensitive_sets, port_ranges)
def test_adding_a_top_priority_internet_deny_never_adds_exposure(
    rules: list[NetworkRule], sensitive: tuple[PortRange, ...], deny_ports: tuple[PortRange, ...]
) -> None:
    deny = NetworkRule(
        "deny",
        99,
        Direction.INGRESS,
        Access.DENY,
        frozenset({Protocol.ANY}),
        ("Internet",),
        deny_ports,
    )
    before = as_pairs(internet_ports(azure_exposure(rules, sensitive)))
    after = as_pairs(internet_ports(azure_exposure([deny, *rules], sensitive)))
    assert after <= before
    assert not {port for _, port in after} & {p for r in deny_ports for p in range(r.lo, r.hi + 1)}


@given(nsg_rules(), sensitive_sets)
def test_private_sources_never_expose(
    rules: list[NetworkRule], sensitive: tuple[PortRange, ...]
) -> None:
    private = [
        NetworkRule(
            r.name, r.priority, r.direction, r.access, r.protocols, ("10.0.0.0/8",), r.ports
        )
        for r in rules
    ]
    assert azure_exposure(private, sensitive) == []


@given(nsg_rules(), sensitive_sets, st.integers(0, UNIVERSE))
def test_splitting_a_rule_port_range_in_two_changes_nothing(
    rules: list[NetworkRule], sensitive: tuple[PortRange, ...], cut: int
) -> None:
    split: list[NetworkRule] = []
    for rule in rules:
        low = tuple(PortRange(r.lo, min(r.hi, cut)) for r in rule.ports if r.lo <= cut)
        high = tuple(PortRange(max(r.lo, cut + 1), r.hi) for r in rule.ports if r.hi > cut)
        for part, ports in (("a", low), ("b", high)):
            if ports:
                split.append(
                    NetworkRule(
                        rule.name + part,
                        rule.priority,
                        rule.direction,
                        rule.access,
                        rule.protocols,
                        rule.sources,
                        ports,
                    )
                )
    assert internet_ports(azure_exposure(split, sensitive)) == internet_ports(
        azure_exposure(rules, sensitive)
    )


@given(port_ranges, port_ranges, sensitive_sets, st.integers(0, 2000))
def test_gcp_shadowing_deny_removes_exactly_its_ports(
    allow_ports: tuple[PortRange, ...],
    deny_ports: tuple[PortRange, ...],
    sensitive: tuple[PortRange, ...],
    deny_priority: int,
) -> None:
    allow = NetworkRule(
        "a",
        1000,
        Direction.INGRESS,
        Access.ALLOW,
        frozenset({Protocol.TCP}),
        ("0.0.0.0/0",),
        allow_ports,
    )
    deny = NetworkRule(
        "d",
        deny_priority,
        Direction.INGRESS,
        Access.DENY,
        frozenset({Protocol.TCP}),
        ("0.0.0.0/0",),
        deny_ports,
    )
    assert is_gcp_shadow(deny)
    exposed = as_pairs(internet_ports(gcp_exposure([allow], [deny], sensitive)))
    ports = lambda rs: {p for r in rs for p in range(r.lo, r.hi + 1)}  # noqa: E731
    expected = ports(allow_ports) & ports(sensitive)
    if deny_priority <= 1000:
        expected -= ports(deny_ports)
    assert exposed == {(Protocol.TCP, p) for p in expected}
