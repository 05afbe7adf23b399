"""Effective internet exposure of sensitive ports, evaluated as each cloud does (pure).

Azure NSG: inbound rules in priority order (default rules last by their numbers); for each
protocol and port the first rule whose sources match internet traffic decides, so a
higher-priority Deny shadows a lower Allow. GCP: an enabled INGRESS allow rule with
internet source ranges, minus what enabled deny rules of the same network with internet
sources, no target restriction and a priority number no higher shadow.
Port sets are handled as ranges (interval arithmetic), never port by port.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clamp.checks.ports import intersect, merge, subtract
from clamp.model import Access, Direction, NetworkRule, PortRange, Protocol

INTERNET_SOURCES = frozenset({"*", "any", "internet", "0.0.0.0/0", "0.0.0.0", "::/0"})
GCP_INTERNET = frozenset({"0.0.0.0/0", "::/0"})
AZURE_PROTOCOLS = (Protocol.TCP, Protocol.UDP)
GCP_PROTOCOLS = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)


def is_internet(source: str) -> bool:
    """Whether a rule source means "anyone on the internet"."""
    return source.strip().lower() in INTERNET_SOURCES


@dataclass(frozen=True, slots=True)
class Exposure:
    """Internet traffic a rule lets through: protocol, port ranges, and the rule."""

    protocol: Protocol
    ports: tuple[PortRange, ...]
    rule: NetworkRule


def _covers(rule: NetworkRule, protocol: Protocol) -> bool:
    return Protocol.ANY in rule.protocols or protocol in rule.protocols


def azure_exposure(
    rules: Iterable[NetworkRule], sensitive: tuple[PortRange, ...]
) -> list[Exposure]:
    """What internet traffic to ``sensitive`` ports an NSG lets in, and through which rule."""
    inbound = sorted(
        (
            r
            for r in rules
            if r.direction == Direction.INGRESS
            and r.enabled
            and any(is_internet(s) for s in r.sources)
        ),
        key=lambda r: r.priority,
    )
    found: list[Exposure] = []
    for protocol in AZURE_PROTOCOLS:
        undecided = sensitive
        for rule in inbound:
            if not undecided:
                break
            if not _covers(rule, protocol):
                continue
            covered = intersect(undecided, rule.ports)
            if not covered:
                continue
            undecided = subtract(undecided, covered)
            if rule.access == Access.ALLOW:
                found.append(Exposure(protocol, covered, rule))
    return found


def internet_ports(exposures: Iterable[Exposure]) -> dict[Protocol, tuple[PortRange, ...]]:
    """The exposed ports per protocol."""
    out: dict[Protocol, list[PortRange]] = {}
    for exposure in exposures:
        out.setdefault(exposure.protocol, []).extend(exposure.ports)
    return {p: merge(r) for p, r in out.items()}


def both_allow(
    first: dict[Protocol, tuple[PortRange, ...]], second: dict[Protocol, tuple[PortRange, ...]]
) -> dict[Protocol, tuple[PortRange, ...]]:
    """Traffic that passes two NSGs in a row (a NIC's and its subnet's)."""
    out = {p: intersect(ports, second.get(p, ())) for p, ports in first.items()}
    return {p: ports for p, ports in out.items() if ports}


def is_gcp_shadow(deny: NetworkRule) -> bool:
    """Whether a GCP rule can shadow others for internet traffic on its whole network."""
    return (
        deny.access == Access.DENY
        and deny.enabled
        and deny.direction == Direction.INGRESS
        and not deny.target_tags
        and not deny.target_service_accounts
        and any(s in GCP_INTERNET for s in deny.sources)
    )


def gcp_exposure(
    rules: Iterable[NetworkRule], shadows: Sequence[NetworkRule], sensitive: tuple[PortRange, ...]
) -> list[Exposure]:
    """What internet traffic to ``sensitive`` ports one firewall's entries let in.

    ``shadows`` are deny rules of the same network that qualify (``is_gcp_shadow``); one
    shadows an allow when its priority number is lower or equal (deny wins ties)."""
    found: list[Exposure] = []
    for rule in rules:
        if not (
            rule.access == Access.ALLOW
            and rule.enabled
            and rule.direction == Direction.INGRESS
            and any(s in GCP_INTERNET for s in rule.sources)
        ):
            continue
        for protocol in GCP_PROTOCOLS:
            if not _covers(rule, protocol):
                continue
            open_ports = intersect(sensitive, rule.ports)
            for deny in shadows:
                if open_ports and deny.priority <= rule.priority and _covers(deny, protocol):
                    open_ports = subtract(open_ports, deny.ports)
            if open_ports:
                found.append(Exposure(protocol, open_ports, rule))
    return found
