"""Layered firewall evaluation, cloud-neutral and pure: which layer and rule decide
internet traffic to a set of ports.

A *layer* is one firewall policy (or a network's VPC firewall rules, or an NSG): rules with
a priority (lower numbers first; a deny wins a tie), a match (direction, protocols, ports,
sources, targets) and an action. Layers are evaluated in order; for each protocol and port:

- the first matching rule of a layer decides: ``allow`` and ``deny`` end the evaluation,
  ``goto_next`` hands the traffic to the next layer;
- a layer with no matching rule passes the traffic on;
- traffic no layer decided meets the implied ingress deny (layer ``implied``).

Google Cloud's hierarchical and network firewall policies use the three actions as named.
Azure Virtual Network Manager security admin rules fit the same core: ``AlwaysAllow`` is
``allow`` (decided, later layers skipped), ``Allow`` is ``goto_next`` (the NSGs still
decide), ``Deny`` is ``deny``.

A rule may cover only part of the traffic under evaluation (a ``Subject``: a network, a
region, tags, service accounts, secure tags): targets the subject only partly shares, a
regional layer for a subject whose region is unknown, sources that are only a slice of
the internet (region codes, FQDNs, address groups) or a narrowed destination. Such a rule
is ``Coverage.SOME``: deciding rules are then skipped (they may not hold for every VM, so
they never hide an exposure) and ``goto_next`` is taken as deferring (it may defer for
some VMs, so later layers are still asked).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum

from clamp.exposure import is_internet
from clamp.model import ALL_PORTS, Direction, PortRange, Protocol
from clamp.ports import intersect, merge, subtract

IMPLIED = "implied"
"""The name of the implied ingress deny that ends every evaluation."""


class Action(StrEnum):
    """What a matching rule does with the traffic."""

    ALLOW = "allow"
    DENY = "deny"
    GOTO_NEXT = "goto_next"


class Coverage(IntEnum):
    """How much of a subject's traffic a rule matches: none, part of it, or all of it."""

    NONE = 0
    SOME = 1
    ALL = 2


@dataclass(frozen=True, slots=True)
class Subject:
    """The VMs whose internet traffic is evaluated: those on ``network`` (in ``region``,
    when known) carrying any of ``tags`` / ``service_accounts`` / ``secure_tags`` (all
    VMs of the network when all three are empty)."""

    network: str
    region: str = ""
    tags: tuple[str, ...] = ()
    service_accounts: tuple[str, ...] = ()
    secure_tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Targets:
    """The VMs a rule applies to; every field empty means all VMs of every network the
    layer applies to. ``networks`` are target networks (Google's ``targetResources``)."""

    networks: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    service_accounts: tuple[str, ...] = ()
    secure_tags: tuple[str, ...] = ()

    def coverage(self, subject: Subject) -> Coverage:
        """How many of the subject's VMs the rule applies to."""
        if self.networks and subject.network not in self.networks:
            return Coverage.NONE
        selectors = (
            (self.tags, subject.tags),
            (self.service_accounts, subject.service_accounts),
            (self.secure_tags, subject.secure_tags),
        )
        if not any(mine for mine, _ in selectors):
            return Coverage.ALL
        # Every subject VM carries one of the subject's selectors; when the subject
        # selects by one kind only and all its selectors are the rule's, the rule holds
        # for each of its VMs.
        chosen = [(mine, theirs) for mine, theirs in selectors if theirs]
        if len(chosen) == 1 and set(chosen[0][1]) <= set(chosen[0][0]):
            return Coverage.ALL
        return Coverage.SOME


@dataclass(frozen=True, slots=True)
class Match:
    """The traffic a rule matches. ``sources`` are address ranges as written (internet:
    ``0.0.0.0/0``, ``::/0``, ``*``, ``Internet``); ``partial_sources`` name sources that
    are a slice of the internet (``regions:CN``, ``fqdns:…``); ``narrowed`` names any
    further condition that holds for part of the traffic only (a destination range)."""

    protocols: frozenset[Protocol]
    ports: tuple[PortRange, ...] = ALL_PORTS
    sources: tuple[str, ...] = ()
    partial_sources: tuple[str, ...] = ()
    targets: Targets = field(default_factory=Targets)
    direction: Direction = Direction.INGRESS
    narrowed: tuple[str, ...] = ()

    def covers(self, protocol: Protocol) -> bool:
        """Whether the rule matches ``protocol`` (``ANY`` matches every protocol)."""
        return Protocol.ANY in self.protocols or protocol in self.protocols

    def source_coverage(self) -> Coverage:
        """How much of the internet the sources match."""
        if any(is_internet(s) for s in self.sources):
            return Coverage.SOME if self.narrowed else Coverage.ALL
        return Coverage.SOME if self.partial_sources else Coverage.NONE


@dataclass(frozen=True, slots=True)
class LayerRule:
    """One rule of a layer. Rules of one policy entry split by protocol share name and
    priority."""

    name: str
    priority: int
    action: Action
    match: Match
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer, e.g. ``hierarchical:firewallPolicies/123`` or ``vpc:projects/P/global/
    networks/N``; ``region`` limits a regional policy to the VMs of one region."""

    name: str
    rules: tuple[LayerRule, ...]
    region: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """Who decided internet traffic on ``ports`` of ``protocol``: a layer's rule, or the
    implied deny (``layer == IMPLIED``, ``rule is None``)."""

    layer: str
    rule: LayerRule | None
    action: Action
    protocol: Protocol
    ports: tuple[PortRange, ...]


def coverage(rule: LayerRule, layer: Layer, subject: Subject) -> Coverage:
    """How much of the subject's internet ingress ``rule`` (of ``layer``) matches."""
    if not rule.enabled or rule.match.direction != Direction.INGRESS:
        return Coverage.NONE
    if layer.region and subject.region and layer.region != subject.region:
        return Coverage.NONE
    by_region = Coverage.SOME if layer.region and not subject.region else Coverage.ALL
    return min(rule.match.source_coverage(), rule.match.targets.coverage(subject), by_region)


def _ordered(rules: Iterable[LayerRule]) -> list[LayerRule]:
    return sorted(rules, key=lambda r: (r.priority, r.action != Action.DENY))


def decide(
    layers: Sequence[Layer],
    subject: Subject,
    ports: tuple[PortRange, ...],
    protocols: Iterable[Protocol],
) -> list[Decision]:
    """Every decision on the subject's internet ingress to ``ports``, per protocol: what
    each deciding rule allows or denies, and what the implied deny ends."""
    found: list[Decision] = []
    ordered = [(layer, _ordered(layer.rules)) for layer in layers]
    for protocol in protocols:
        undecided = merge(ports)
        for layer, rules in ordered:
            if not undecided:
                break
            passed: list[PortRange] = []
            for rule in rules:
                if not undecided:
                    break
                if not rule.match.covers(protocol):
                    continue
                cover = coverage(rule, layer, subject)
                if cover == Coverage.NONE or (
                    cover == Coverage.SOME and rule.action != Action.GOTO_NEXT
                ):
                    continue
                hit = intersect(undecided, merge(rule.match.ports))
                if not hit:
                    continue
                undecided = subtract(undecided, hit)
                if rule.action == Action.GOTO_NEXT:
                    passed.extend(hit)
                else:
                    found.append(Decision(layer.name, rule, rule.action, protocol, hit))
            undecided = merge([*undecided, *passed])
        if undecided:
            found.append(Decision(IMPLIED, None, Action.DENY, protocol, undecided))
    return found


def decided_by(
    layers: Sequence[Layer],
    layer_name: str,
    candidate: LayerRule,
    subject: Subject,
    ports: tuple[PortRange, ...],
    protocols: Iterable[Protocol],
) -> list[Decision]:
    """What one allow rule would let in were it the only allow: every other allow is
    left out (closing the first allow would let the next one through), denies and
    ``goto_next`` stay. The rule is taken to hold for all of ``subject`` (its own
    targets, and its layer's region), so only its sources limit it."""
    alone = []
    for layer in layers:
        kept = []
        for rule in layer.rules:
            if _same(layer.name, rule, layer_name, candidate):
                rule = replace(rule, match=replace(rule.match, targets=Targets()))
            elif rule.action == Action.ALLOW:
                continue
            kept.append(rule)
        alone.append(replace(layer, rules=tuple(kept)))
    return [
        d
        for d in decide(alone, subject, ports, protocols)
        if d.rule is not None
        and d.action == Action.ALLOW
        and _same(d.layer, d.rule, layer_name, candidate)
    ]


def _same(layer: str, rule: LayerRule, layer_name: str, candidate: LayerRule) -> bool:
    """Whether ``rule`` of ``layer`` is (an entry of) the candidate rule: same layer, name,
    priority and action (a policy's rule names need not be unique, its priorities are)."""
    return (
        layer == layer_name
        and rule.name == candidate.name
        and rule.priority == candidate.priority
        and rule.action == candidate.action
    )
