"""Effective internet exposure of sensitive ports, evaluated as each cloud does (pure).

Azure NSG: inbound rules in priority order (default rules last by their numbers); for each
protocol (TCP, UDP; ``*`` covers both) and port the first rule whose sources match internet
traffic decides, so a higher-priority Deny shadows a lower Allow. GCP: an enabled INGRESS
allow rule with internet source ranges, minus what enabled deny rules of the same network
with internet sources, no target restriction and a priority number no higher (deny wins
ties) shadow.

Port sets are handled as ranges (interval arithmetic on sorted ``(lo, hi)`` int pairs),
never port by port, so a million NSGs evaluate in minutes on a laptop.

Entry points for the action engine: ``exposures_of`` re-evaluates one NSG or firewall (for
verify), ``internet_allow_rules`` names the Allow rules a fix has to narrow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from clamp.address_space import merged
from clamp.model import (
    Access,
    Direction,
    NetworkRule,
    PortRange,
    Protocol,
    Resource,
    ResourceType,
)
from clamp.ports import intersect

INTERNET_SOURCES = frozenset({"*", "any", "internet", "0.0.0.0/0", "0.0.0.0", "::/0"})
GCP_INTERNET = frozenset({"0.0.0.0/0", "::/0"})
AZURE_PROTOCOLS = (Protocol.TCP, Protocol.UDP)
GCP_PROTOCOLS = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)

Spans = tuple[tuple[int, int], ...]


@lru_cache(maxsize=4096)
def is_internet(source: str) -> bool:
    """Whether a rule source means "anyone on the internet" (``*``, ``Internet``, ``::/0``...)."""
    return source.strip().lower() in INTERNET_SOURCES


@dataclass(frozen=True, slots=True)
class Exposure:
    """Internet traffic a rule lets through: protocol, port ranges, and the rule."""

    protocol: Protocol
    ports: tuple[PortRange, ...]
    rule: NetworkRule


# -- interval arithmetic on sorted, disjoint (lo, hi) pairs -------------------------------
def _spans(ports: Iterable[PortRange]) -> Spans:
    """Sorted, merged ``(lo, hi)`` pairs of ``ports`` (which may overlap or be unsorted)."""
    return merged((r.lo, r.hi) for r in ports)


_sensitive_spans = lru_cache(maxsize=64)(_spans)


def _meet(a: Spans, b: Spans) -> Spans:
    """Ports in both ``a`` and ``b`` (two-pointer walk)."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _minus(a: Spans, b: Spans) -> Spans:
    """Ports in ``a`` but not in ``b``."""
    out: list[tuple[int, int]] = []
    j = 0
    for lo, hi in a:
        while j < len(b) and b[j][1] < lo:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > lo:
                out.append((lo, b[k][0] - 1))
            lo = max(lo, b[k][1] + 1)
            k += 1
        if lo <= hi:
            out.append((lo, hi))
    return tuple(out)


def _ranges(spans: Spans) -> tuple[PortRange, ...]:
    return tuple(PortRange(lo, hi) for lo, hi in spans)


def _covers(rule: NetworkRule, protocol: Protocol) -> bool:
    return Protocol.ANY in rule.protocols or protocol in rule.protocols


# -- Azure --------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def is_broad_service_tag(source: str) -> bool:
    """Whether a source is Azure's ``AzureCloud`` service tag or a regional one
    (``AzureCloud.westeurope``): every public address of Azure's datacenters (Microsoft
    docs, "Virtual network service tags") — anyone who rents a VM there, yet not the whole
    internet."""
    lowered = source.strip().lower()
    return lowered == "azurecloud" or lowered.startswith("azurecloud.")


def _azure_origin(source: str, broad: bool) -> bool:
    # Traffic from Azure's datacenters matches ``Internet`` rules too: the tag's address
    # range "includes the Azure owned public IP address space" (same docs page).
    return is_internet(source) or (broad and is_broad_service_tag(source))


def _azure_inbound(rules: Iterable[NetworkRule], broad: bool = False) -> list[NetworkRule]:
    """Enabled inbound rules matching internet traffic (with ``broad``, traffic from a
    broad service tag), lowest priority number first."""
    return sorted(
        (
            r
            for r in rules
            if r.direction == Direction.INGRESS
            and r.enabled
            and any(_azure_origin(s, broad) for s in r.sources)
        ),
        key=lambda r: r.priority,
    )


def has_broad_sources(rules: Iterable[NetworkRule]) -> bool:
    """Whether any inbound rule names a broad service tag as a source."""
    return any(
        r.direction == Direction.INGRESS and any(is_broad_service_tag(s) for s in r.sources)
        for r in rules
    )


def _applies(rule: NetworkRule, asgs: frozenset[str] | None) -> bool:
    """Whether an NSG rule holds for a NIC in the application security groups ``asgs``.

    A rule whose destination is application security groups (``target_tags``) applies only
    to NICs in one of them. With ``asgs=None`` (the NSG as a whole, NICs unknown) such an
    Allow counts (it opens the port for some NIC) and such a Deny is skipped (it does not
    hold for every NIC, so it never hides an exposure)."""
    if not rule.target_tags:
        return True
    if asgs is None:
        return rule.access == Access.ALLOW
    return not asgs.isdisjoint(rule.target_tags)


def azure_exposure(
    rules: Iterable[NetworkRule],
    sensitive: tuple[PortRange, ...],
    *,
    asgs: frozenset[str] | None = None,
    broad: bool = False,
) -> list[Exposure]:
    """What internet traffic to ``sensitive`` ports an NSG lets in, and through which rule.

    For each protocol the first matching rule decides each port: an Allow yields an
    ``Exposure`` for the ports it decides, a Deny removes them from consideration.
    ``asgs``: evaluate for a NIC in these application security groups (see ``_applies``);
    ``broad``: evaluate traffic from Azure's datacenters (``is_broad_service_tag``)."""
    found: list[Exposure] = []
    inbound = _azure_inbound(rules, broad)
    if any(r.target_tags for r in inbound):
        inbound = [r for r in inbound if _applies(r, asgs)]
    if not inbound:
        return found
    wanted = _sensitive_spans(sensitive)
    for protocol in AZURE_PROTOCOLS:
        undecided = wanted
        for rule in inbound:
            if not undecided:
                break
            if not _covers(rule, protocol):
                continue
            covered = _meet(undecided, _spans(rule.ports))
            if not covered:
                continue
            undecided = _minus(undecided, covered)
            if rule.access == Access.ALLOW:
                found.append(Exposure(protocol, _ranges(covered), rule))
    return found


def internet_ports(exposures: Iterable[Exposure]) -> dict[Protocol, tuple[PortRange, ...]]:
    """The exposed ports per protocol."""
    out: dict[Protocol, list[PortRange]] = {}
    for exposure in exposures:
        out.setdefault(exposure.protocol, []).extend(exposure.ports)
    return {p: _ranges(_spans(r)) for p, r in out.items()}


def both_allow(
    first: dict[Protocol, tuple[PortRange, ...]], second: dict[Protocol, tuple[PortRange, ...]]
) -> dict[Protocol, tuple[PortRange, ...]]:
    """Traffic that passes two NSGs in a row (a NIC's and its subnet's)."""
    out = {p: intersect(ports, second.get(p, ())) for p, ports in first.items()}
    return {p: ports for p, ports in out.items() if ports}


# -- GCP ----------------------------------------------------------------------------------
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


def is_gcp_internet_allow(rule: NetworkRule) -> bool:
    """Whether a GCP rule is an enabled INGRESS allow from ``0.0.0.0/0`` or ``::/0``."""
    return (
        rule.access == Access.ALLOW
        and rule.enabled
        and rule.direction == Direction.INGRESS
        and any(s in GCP_INTERNET for s in rule.sources)
    )


def gcp_exposure(
    rules: Iterable[NetworkRule], shadows: Sequence[NetworkRule], sensitive: tuple[PortRange, ...]
) -> list[Exposure]:
    """What internet traffic to ``sensitive`` ports one firewall's entries let in.

    ``shadows`` are deny rules of the same network that qualify (``is_gcp_shadow``); one
    shadows an allow when its priority number is lower or equal (deny wins ties)."""
    found: list[Exposure] = []
    wanted = _sensitive_spans(sensitive)
    for rule in rules:
        if not is_gcp_internet_allow(rule):
            continue
        reach = _meet(wanted, _spans(rule.ports))
        if not reach:
            continue
        for protocol in GCP_PROTOCOLS:
            if not _covers(rule, protocol):
                continue
            open_ports = reach
            for deny in shadows:
                if open_ports and deny.priority <= rule.priority and _covers(deny, protocol):
                    open_ports = _minus(open_ports, _spans(deny.ports))
            if open_ports:
                found.append(Exposure(protocol, _ranges(open_ports), rule))
    return found


def gcp_network_key(network: str, project: str = "") -> str:
    """``projects/P/global/networks/N`` from any form of a network URL (or a bare name)."""
    index = network.find("projects/")
    if index >= 0:
        return network[index:]
    return f"projects/{project}/global/networks/{network.rstrip('/').rsplit('/', 1)[-1]}"


# -- entry points for the action engine ---------------------------------------------------
def exposures_of(
    resource: Resource,
    sensitive: tuple[PortRange, ...],
    neighbours: Iterable[Resource] = (),
) -> list[Exposure]:
    """Re-evaluate one NSG or firewall against ``sensitive`` ports (empty when closed).

    For a GCP firewall, ``neighbours`` are the other firewalls Clamp knows; the deny rules
    among them on the same network shadow as in a scan. Other resource types expose nothing.
    """
    if resource.type == ResourceType.AZURE_NSG:
        return azure_exposure(resource.facets["rules"], sensitive)
    if resource.type != ResourceType.GCP_FIREWALL:
        return []
    network = gcp_network_key(resource.facets["network"], resource.scope)
    shadows = [
        rule
        for other in neighbours
        if other.type == ResourceType.GCP_FIREWALL
        and other.id != resource.id
        and gcp_network_key(other.facets["network"], other.scope) == network
        for rule in other.facets["rules"]
        if is_gcp_shadow(rule)
    ]
    return gcp_exposure(resource.facets["rules"], shadows, sensitive)


def internet_allow_rules(
    rules: Iterable[NetworkRule], sensitive: tuple[PortRange, ...], *, azure: bool = True
) -> list[str]:
    """Names of the Allow rules a fix must narrow, in priority order.

    An Allow counts when it lets internet traffic reach a sensitive port unless a Deny
    shadows it; shadowing by another Allow is ignored, because closing the first Allow
    would let the next one through. ``azure=False`` reads the rules as GCP firewall entries
    (internet = ``0.0.0.0/0`` or ``::/0``, disabled entries ignored, TCP/UDP/SCTP)."""
    rules = list(rules)
    protocols: tuple[Protocol, ...]
    if azure:
        inbound = _azure_inbound(rules)
        # a Deny on application security groups holds for some NICs only (``_applies``)
        denies = [r for r in inbound if r.access == Access.DENY and not r.target_tags]
        protocols = AZURE_PROTOCOLS
    else:
        inbound = sorted((r for r in rules if is_gcp_internet_allow(r)), key=lambda r: r.priority)
        denies = [r for r in rules if is_gcp_shadow(r)]
        protocols = GCP_PROTOCOLS
    wanted = _sensitive_spans(sensitive)
    names: list[str] = []
    for rule in inbound:
        if rule.access != Access.ALLOW or rule.name in names:
            continue
        for protocol in protocols:
            if not _covers(rule, protocol):
                continue
            reach = _meet(wanted, _spans(rule.ports))
            for deny in denies:
                ahead = deny.priority < rule.priority if azure else deny.priority <= rule.priority
                if reach and ahead and _covers(deny, protocol):
                    reach = _minus(reach, _spans(deny.ports))
            if reach:
                names.append(rule.name)
                break
    return names
