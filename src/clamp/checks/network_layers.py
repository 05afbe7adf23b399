"""Google Cloud exposure through every network layer (pure): the firewall policies a
network's facets carry (``policies_before`` / ``policies_after``, see
``providers/gcp/normalize_layers``) around its VPC firewall rules.

A VPC firewall rule, or a policy rule, is exposed when — were it the only allow — internet
traffic to a sensitive port would reach it and it would allow it (``clamp.layers.
decided_by``): a deny of a higher layer (an organization policy that denies SSH
everywhere) makes a VPC rule harmless, a rule that only a network policy has still opens
the port. Without policy facets (an offline import, a network not read) the VPC rules are
the only layer, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clamp.exposure import GCP_PROTOCOLS, Exposure, gcp_network_key, is_gcp_internet_allow
from clamp.layers import (
    Action,
    Coverage,
    Decision,
    EachAllowAlone,
    Layer,
    LayerRule,
    Match,
    Subject,
    Targets,
)
from clamp.model import Access, Direction, NetworkRule, PortRange, Resource


def vpc_rule(rule: NetworkRule) -> LayerRule:
    """A VPC firewall entry as a layer rule (sources are its ``sourceRanges``)."""
    return LayerRule(
        name=rule.name,
        priority=rule.priority,
        action=Action.ALLOW if rule.access == Access.ALLOW else Action.DENY,
        match=Match(
            protocols=rule.protocols,
            ports=rule.ports,
            sources=rule.sources,
            targets=Targets(tags=rule.target_tags, service_accounts=rule.target_service_accounts),
            direction=rule.direction,
        ),
        enabled=rule.enabled,
    )


@dataclass(frozen=True, slots=True)
class NetworkLayers:
    """The layers of one network, in evaluation order, and the name of its VPC layer."""

    key: str
    layers: tuple[Layer, ...]
    vpc: str
    policies_read: bool
    alone: EachAllowAlone = field(compare=False, repr=False)

    @classmethod
    def of(cls, key: str, network: Resource | None, firewalls: Iterable[Resource]) -> NetworkLayers:
        """The network's policy layers (if read) around a layer of its VPC ``firewalls``."""
        facets = network.facets if network is not None else {}
        vpc = Layer(
            f"vpc:{key}",
            tuple(vpc_rule(r) for fw in firewalls for r in fw.facets["rules"]),
        )
        layers = (*facets.get("policies_before", ()), vpc, *facets.get("policies_after", ()))
        return cls(key, layers, vpc.name, "policies_before" in facets, EachAllowAlone(layers))

    def names(self) -> list[str]:
        """The layers' names in evaluation order."""
        return [layer.name for layer in self.layers]

    def firewall_exposures(
        self, fw: Resource, ports: tuple[PortRange, ...]
    ) -> list[tuple[Exposure, Decision]]:
        """What internet traffic to ``ports`` one VPC firewall lets in, all layers counted."""
        allows = [r for r in fw.facets["rules"] if is_gcp_internet_allow(r)]
        if not allows:
            return []
        first = allows[0]
        subject = Subject(
            self.key, tags=first.target_tags, service_accounts=first.target_service_accounts
        )
        decisions = self.alone.decisions(
            self.vpc, first.name, first.priority, subject, ports, GCP_PROTOCOLS
        )
        return [(Exposure(d.protocol, d.ports, first), d) for d in decisions]

    def policy_exposures(
        self, ports: tuple[PortRange, ...]
    ) -> list[tuple[Exposure, Decision, Layer]]:
        """What internet traffic to ``ports`` each firewall policy allow rule lets in."""
        found: list[tuple[Exposure, Decision, Layer]] = []
        for layer in self.layers:
            if layer.name == self.vpc:
                continue
            seen: set[tuple[str, int]] = set()
            for rule in layer.rules:
                if not _opens(rule) or (rule.name, rule.priority) in seen:
                    continue
                seen.add((rule.name, rule.priority))
                subject = Subject(
                    self.key,
                    region=layer.region,
                    service_accounts=rule.match.targets.service_accounts,
                    secure_tags=rule.match.targets.secure_tags,
                )
                for d in self.alone.decisions(
                    layer.name, rule.name, rule.priority, subject, ports, GCP_PROTOCOLS
                ):
                    found.append((Exposure(d.protocol, d.ports, _as_network_rule(rule)), d, layer))
        return found


def _opens(rule: LayerRule) -> bool:
    """Whether a policy rule is an enabled ingress allow from the whole internet."""
    return (
        rule.action == Action.ALLOW
        and rule.enabled
        and rule.match.direction == Direction.INGRESS
        and rule.match.source_coverage() == Coverage.ALL
    )


def _as_network_rule(rule: LayerRule) -> NetworkRule:
    """A policy rule in the shape findings list rules in."""
    return NetworkRule(
        name=rule.name,
        priority=rule.priority,
        direction=Direction.INGRESS,
        access=Access.ALLOW,
        protocols=rule.match.protocols,
        sources=rule.match.sources,
        ports=rule.match.ports,
        target_service_accounts=rule.match.targets.service_accounts,
    )


def decided(decision: Decision) -> dict[str, Any]:
    """A finding's ``decided_by``: the layer and rule that let the traffic in."""
    assert decision.rule is not None  # an allow decision always has its rule
    return {
        "layer": decision.layer,
        "rule": decision.rule.name,
        "rule_priority": decision.rule.priority,
        "action": str(decision.action),
    }


def network_of(fw: Resource) -> str:
    """The network key of a VPC firewall."""
    return gcp_network_key(fw.facets["network"], fw.scope)


def by_network(firewalls: Sequence[Resource]) -> dict[str, list[Resource]]:
    """VPC firewalls grouped by network key, in inventory order."""
    grouped: dict[str, list[Resource]] = {}
    for fw in firewalls:
        grouped.setdefault(network_of(fw), []).append(fw)
    return grouped


def instance_region(instance: Resource) -> str:
    """The region of a Compute Engine instance (its zone, named in its id
    ``…/zones/Z/instances/N``, without the zone letter)."""
    parts = instance.id.split("/")
    zone = parts[parts.index("zones") + 1] if "zones" in parts[:-1] else ""
    return zone.rsplit("-", 1)[0] if zone.count("-") >= 2 else ""
