"""Azure Virtual Network Manager security admin rules ahead of the NSGs (pure).

A VNet whose effective admin rules were read carries them as one layer (facet
``admin_layer``, see ``providers/azure/normalize_admin``). ``clamp.layers.decide`` judges
internet ingress to the sensitive ports on it: an ``AlwaysAllow`` (layer ``allow``) lets the
traffic in whatever the NSGs say, a ``Deny`` drops it whatever they say, and what no admin
rule decides (``Allow`` = ``goto_next``, or no match: the implied end of this one layer) is
left to the NSGs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from clamp.checks.interface import Inventory
from clamp.exposure import AZURE_PROTOCOLS, Exposure
from clamp.layers import IMPLIED, Action, Decision, Layer, LayerRule, Subject, decide
from clamp.model import Access, Direction, NetworkRule, PortRange, Protocol, Resource, ResourceType
from clamp.ports import intersect, merge, subtract

Ports = dict[Protocol, tuple[PortRange, ...]]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a VNet's admin rules decide: ports always allowed, ports denied, and the
    allow decisions (with their rules)."""

    always: Ports
    denied: Ports
    allows: tuple[Decision, ...]

    def decided(self, protocol: Protocol) -> tuple[PortRange, ...]:
        """Ports of ``protocol`` the admin rules decide (the NSGs are not asked)."""
        return merge([*self.always.get(protocol, ()), *self.denied.get(protocol, ())])


def verdict(layer: Layer, vnet: str, sensitive: tuple[PortRange, ...]) -> Verdict:
    """The admin layer's verdict on internet ingress to ``sensitive`` ports of ``vnet``."""
    always: dict[Protocol, list[PortRange]] = {}
    denied: dict[Protocol, list[PortRange]] = {}
    allows = []
    for d in decide([layer], Subject(vnet), sensitive, AZURE_PROTOCOLS):
        if d.layer == IMPLIED:
            continue
        if d.action == Action.ALLOW:
            always.setdefault(d.protocol, []).extend(d.ports)
            allows.append(d)
        else:
            denied.setdefault(d.protocol, []).extend(d.ports)
    return Verdict(
        {p: merge(r) for p, r in always.items()},
        {p: merge(r) for p, r in denied.items()},
        tuple(allows),
    )


def left_to_nsgs(verdict: Verdict | None, nsgs: Ports) -> Ports:
    """What the NSGs let through (``nsgs``) on ports the admin rules leave to them."""
    if verdict is None:
        return nsgs
    out = {p: subtract(merge(ports), verdict.decided(p)) for p, ports in nsgs.items()}
    return {p: ports for p, ports in out.items() if ports}


def through_admin(verdict: Verdict | None, nsgs: Ports) -> Ports:
    """What reaches a NIC: the admin rules' AlwaysAllow ports, plus what the NSGs let
    through (``nsgs``) on ports the admin rules leave to them."""
    left = left_to_nsgs(verdict, nsgs)
    if verdict is None:
        return left
    out = {p: merge([*left.get(p, ()), *verdict.always.get(p, ())]) for p in AZURE_PROTOCOLS}
    return {p: ports for p, ports in out.items() if ports}


def vnet_of(subnet: str) -> str:
    """The lower-cased VNet id of a subnet id."""
    return subnet.lower().split("/subnets/", 1)[0]


class AdminLayers:
    """The admin verdicts of an inventory's VNets, computed once per scan."""

    def __init__(self, inventory: Inventory, sensitive: tuple[PortRange, ...]) -> None:
        self.vnets = {
            v.id.lower(): v
            for v in inventory.of_type(ResourceType.AZURE_VNET)
            if "admin_layer" in v.facets
        }
        self.verdicts = {
            key: verdict(v.facets["admin_layer"], key, sensitive) for key, v in self.vnets.items()
        }

    def of_nic(self, nic: Resource) -> Verdict | None:
        """The verdict on the NIC's VNet (its first subnet's), if read."""
        subnets = nic.facets.get("subnets", ())
        return self.verdicts.get(vnet_of(subnets[0])) if subnets else None

    def decided_for_all(self, vnets: Iterable[str]) -> Ports:
        """Ports the admin rules decide on every one of ``vnets`` (nothing when one of them
        has no admin rules read, or there are none)."""
        found = [self.verdicts.get(v) for v in set(vnets)]
        if not found or any(v is None for v in found):
            return {}
        out: Ports = {}
        for protocol in AZURE_PROTOCOLS:
            common: tuple[PortRange, ...] | None = None
            for v in found:
                assert v is not None
                mine = v.decided(protocol)
                common = mine if common is None else intersect(common, mine)
            if common:
                out[protocol] = common
        return out

    def layer_name(self, vnet: str) -> str:
        """The name of a VNet's admin layer."""
        layer: Layer = self.vnets[vnet].facets["admin_layer"]
        return layer.name


def without(exposures: Iterable[Exposure], decided: Ports) -> list[Exposure]:
    """Exposures less the ports the admin rules decide before the NSG is asked."""
    out = []
    for e in exposures:
        ports = subtract(e.ports, decided.get(e.protocol, ()))
        if ports:
            out.append(Exposure(e.protocol, ports, e.rule))
    return out


def as_network_rule(rule: LayerRule) -> NetworkRule:
    """An admin rule in the shape findings list rules in."""
    return NetworkRule(
        name=rule.name,
        priority=rule.priority,
        direction=Direction.INGRESS,
        access=Access.ALLOW,
        protocols=rule.match.protocols,
        sources=rule.match.sources,
        ports=rule.match.ports,
    )
