"""Effective internet exposure of sensitive ports, evaluated as each cloud does (pure).

Azure NSG: inbound rules in priority order (default rules last by their numbers); for each
protocol (TCP, UDP; ``*`` covers both) and port the first rule whose sources match internet
traffic decides, so a higher-priority Deny shadows a lower Allow. GCP: an enabled INGRESS
allow rule with internet source ranges, minus what enabled deny rules of the same network
with internet sources, no target restriction and a priority number no higher (deny wins
ties) shadow.

Port sets are bit masks over the sensitive ports alone (``_Ports``: a few dozen bits for
the default sets), so taking a rule's ports out of those still undecided is one ``&`` on a
small int, never a walk port by port or range by range.

Entry points for the action engine: ``exposures_of`` re-evaluates one NSG or firewall (for
verify), ``internet_allow_rules`` names the Allow rules a fix has to narrow.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from operator import attrgetter

from clamp.model import (
    Access,
    Direction,
    NetworkRule,
    PortRange,
    Protocol,
    Resource,
    ResourceType,
)
from clamp.ports import intersect, merge

INTERNET_SOURCES = frozenset({"*", "any", "internet", "0.0.0.0/0", "0.0.0.0", "::/0"})
GCP_INTERNET = frozenset({"0.0.0.0/0", "::/0"})
AZURE_PROTOCOLS = (Protocol.TCP, Protocol.UDP)
GCP_PROTOCOLS = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)


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


# -- port sets as bit masks over the sensitive ports ------------------------------------
class _Ports:
    """The sensitive ports numbered densely (the ``k``-th sensitive port is bit ``k``), so
    a rule's share of them is a small int and taking it out of those still undecided is one
    ``&``. A port range maps to one run of bits: numbering keeps the ports' order."""

    def __init__(self, sensitive: Iterable[PortRange]) -> None:
        spans = merge(sensitive)
        self.los = [r.lo for r in spans]
        self.his = [r.hi for r in spans]
        self.offsets = list(accumulate((r.hi - r.lo + 1 for r in spans), initial=0))
        self.all = (1 << self.offsets[-1]) - 1

    def mask(self, ports: Iterable[PortRange]) -> int:
        """The sensitive ports among ``ports``."""
        mask = 0
        for r in ports:
            first = bisect_left(self.his, r.lo)  # the first span ending at or after r.lo
            last = bisect_right(self.los, r.hi) - 1  # the last span starting by r.hi
            if first <= last:
                lo = self.offsets[first] + max(r.lo - self.los[first], 0)
                hi = self.offsets[last] + min(r.hi, self.his[last]) - self.los[last]
                mask |= (1 << (hi + 1)) - (1 << lo)
        return mask

    def ranges(self, mask: int) -> tuple[PortRange, ...]:
        """The ports of ``mask`` as sorted, merged ranges."""
        out = []
        while mask:
            low = mask & -mask  # a run of set bits starts here...
            past = mask + low  # ...and ends below the one bit ``past`` has above it
            above = past & -past
            mask = past ^ above
            start, end = low.bit_length() - 1, above.bit_length() - 2
            span = bisect_right(self.offsets, start) - 1
            while span < len(self.los) and self.offsets[span] <= end:
                base = self.los[span] - self.offsets[span]
                lo, hi = max(start, self.offsets[span]), min(end, self.offsets[span + 1] - 1)
                out.append(PortRange(base + lo, base + hi))
                span += 1
        return tuple(out)


_SPACES: dict[int, tuple[tuple[PortRange, ...], _Ports]] = {}


def _space(sensitive: tuple[PortRange, ...]) -> _Ports:
    """``_Ports`` of ``sensitive``, kept per tuple object (a check's own, for the scan)."""
    known = _SPACES.get(id(sensitive))
    if known is None or known[0] is not sensitive:  # held here, so its id is not reused
        if len(_SPACES) > 64:
            _SPACES.clear()
        known = _SPACES[id(sensitive)] = (sensitive, _Ports(sensitive))
    return known[1]


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


def _azure_inbound(rules: Iterable[NetworkRule], broad: bool = False) -> list[NetworkRule]:
    """Enabled inbound rules matching internet traffic (with ``broad``, traffic from a
    broad service tag), lowest priority number first."""
    return sorted((r for r in rules if _from_internet(r, broad)), key=_PRIORITY)


def _from_internet(rule: NetworkRule, broad: bool) -> bool:
    """Whether an enabled inbound NSG rule matches internet (or with ``broad``, Azure's)
    traffic; judged once per default rule (ARM's six are one object in every NSG)."""
    if not rule.default:
        return _judged_origin(rule)[broad]
    known = _DEFAULTS.get(id(rule))
    if known is None or known[0] is not rule:  # held here, so its id is not reused
        if len(_DEFAULTS) > 256:
            _DEFAULTS.clear()
        known = _DEFAULTS[id(rule)] = (rule, _judged_origin(rule))
    return known[1][broad]


def _judged_origin(rule: NetworkRule) -> tuple[bool, bool]:
    """(internet traffic matches, internet or Azure's traffic matches) for an NSG rule."""
    if rule.direction != Direction.INGRESS or not rule.enabled:
        return False, False
    internet = any(is_internet(s) for s in rule.sources)
    # Traffic from Azure's datacenters matches ``Internet`` rules too: the tag's address
    # range "includes the Azure owned public IP address space" (is_broad_service_tag's page).
    return internet, internet or any(is_broad_service_tag(s) for s in rule.sources)


_DEFAULTS: dict[int, tuple[NetworkRule, tuple[bool, bool]]] = {}
_PRIORITY = attrgetter("priority")


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
    space = _space(sensitive)
    wanted = space.all
    masks = [space.mask(rule.ports) for rule in inbound]
    for protocol in AZURE_PROTOCOLS:
        undecided = wanted
        for rule, mask in zip(inbound, masks, strict=True):
            if not undecided:
                break
            if not _covers(rule, protocol):
                continue
            covered = undecided & mask
            if not covered:
                continue
            undecided ^= covered
            if rule.access == Access.ALLOW:
                found.append(Exposure(protocol, space.ranges(covered), rule))
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
    space = _space(sensitive)
    for rule in rules:
        if not is_gcp_internet_allow(rule):
            continue
        reach = space.mask(rule.ports)
        if not reach:
            continue
        for protocol in GCP_PROTOCOLS:
            if not _covers(rule, protocol):
                continue
            open_ports = reach
            for deny in shadows:
                if open_ports and deny.priority <= rule.priority and _covers(deny, protocol):
                    open_ports &= ~space.mask(deny.ports)
            if open_ports:
                found.append(Exposure(protocol, space.ranges(open_ports), rule))
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
    space = _space(sensitive)
    names: list[str] = []
    for rule in inbound:
        if rule.access != Access.ALLOW or rule.name in names:
            continue
        for protocol in protocols:
            if not _covers(rule, protocol):
                continue
            reach = space.mask(rule.ports)
            for deny in denies:
                ahead = deny.priority < rule.priority if azure else deny.priority <= rule.priority
                if reach and ahead and _covers(deny, protocol):
                    reach &= ~space.mask(deny.ports)
            if reach:
                names.append(rule.name)
                break
    return names
