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

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    further condition that holds for part of the traffic only (a destination range).
    ``ports`` are normalized (``clamp.ports.merge``), as the normalizers produce them."""

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


def coverage(
    rule: LayerRule, layer: Layer, subject: Subject, own_targets: bool = False
) -> Coverage:
    """How much of the subject's internet ingress ``rule`` (of ``layer``) matches;
    ``own_targets``: the subject is the rule's own targets, so they do not limit it."""
    if not rule.enabled or rule.match.direction != Direction.INGRESS:
        return Coverage.NONE
    if layer.region and subject.region and layer.region != subject.region:
        return Coverage.NONE
    by_region = Coverage.SOME if layer.region and not subject.region else Coverage.ALL
    targets = Coverage.ALL if own_targets else rule.match.targets.coverage(subject)
    return min(rule.match.source_coverage(), targets, by_region)


def _may_match(rule: LayerRule) -> bool:
    """Whether a rule can match some internet ingress at all (whatever the subject)."""
    return (
        rule.enabled
        and rule.match.direction == Direction.INGRESS
        and rule.match.source_coverage() != Coverage.NONE
    )


def _key(rule: LayerRule) -> tuple[int, bool]:
    return rule.priority, rule.action != Action.DENY


def _ordered(rules: Iterable[LayerRule]) -> list[LayerRule]:
    return sorted(rules, key=_key)


Ordered = Sequence[tuple[Layer, Sequence[LayerRule]]]


def decide(
    layers: Sequence[Layer],
    subject: Subject,
    ports: tuple[PortRange, ...],
    protocols: Iterable[Protocol],
) -> list[Decision]:
    """Every decision on the subject's internet ingress to ``ports``, per protocol: what
    each deciding rule allows or denies, and what the implied deny ends."""
    return _walk([(layer, _ordered(layer.rules)) for layer in layers], subject, ports, protocols)


def _walk(
    ordered: Ordered,
    subject: Subject,
    ports: tuple[PortRange, ...],
    protocols: Iterable[Protocol],
    implied: bool = True,
    alone: Sequence[LayerRule] = (),
) -> list[Decision]:
    """``decide`` over layers whose rules are already in order; rules in ``alone`` hold
    for the whole subject (only their sources and their layer's region limit them)."""
    found: list[Decision] = []
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
                cover = coverage(rule, layer, subject, any(rule is a for a in alone))
                if cover == Coverage.NONE or (
                    cover == Coverage.SOME and rule.action != Action.GOTO_NEXT
                ):
                    continue
                hit = intersect(undecided, rule.match.ports)
                if not hit:
                    continue
                undecided = subtract(undecided, hit)
                if rule.action == Action.GOTO_NEXT:
                    passed.extend(hit)
                else:
                    found.append(Decision(layer.name, rule, rule.action, protocol, hit))
            if passed:
                undecided = merge([*undecided, *passed])
        if undecided and implied:
            found.append(Decision(IMPLIED, None, Action.DENY, protocol, undecided))
    return found


class EachAllowAlone:
    """``decided_by`` for many allow rules of the same layers: each layer's denies and
    ``goto_next`` rules are ordered once, and each candidate is slotted in among them."""

    def __init__(self, layers: Sequence[Layer]) -> None:
        # rules that can never match internet ingress are left out once, here
        self._kept = [
            (
                layer,
                _ordered(r for r in layer.rules if r.action != Action.ALLOW and _may_match(r)),
            )
            for layer in layers
        ]
        self._keys = [[_key(r) for r in rules] for _, rules in self._kept]
        self._entries: dict[tuple[str, str, int], list[LayerRule]] = {}
        for layer in layers:
            for rule in layer.rules:
                if rule.action == Action.ALLOW and _may_match(rule):
                    key = (layer.name, rule.name, rule.priority)
                    self._entries.setdefault(key, []).append(rule)
        # the first layer holds only denies (a VPC's rules with no policy before them):
        # what they leave undecided is found once per subject, not once per candidate
        self._denies_first = bool(self._kept) and all(
            r.action == Action.DENY for r in self._kept[0][1]
        )
        self._left: dict[tuple[Subject, tuple[PortRange, ...], Protocol], _Left] = {}

    def decisions(
        self,
        layer_name: str,
        name: str,
        priority: int,
        subject: Subject,
        ports: tuple[PortRange, ...],
        protocols: Iterable[Protocol],
    ) -> list[Decision]:
        """What the allow rule named ``name`` at ``priority`` in layer ``layer_name``
        alone lets in (nothing when that layer has no such allow)."""
        entries = self._entries.get((layer_name, name, priority))
        if not entries:
            return []
        if self._denies_first and self._kept[0][0].name == layer_name:
            return self._after_denies(entries, subject, ports, protocols)
        stack: list[tuple[Layer, Sequence[LayerRule]]] = []
        for (layer, rules), keys in zip(self._kept, self._keys, strict=True):
            if layer.name == layer_name:
                at = bisect_right(keys, _key(entries[0]))
                stack.append((layer, [*rules[:at], *entries, *rules[at:]]))
                break
            stack.append((layer, rules))
        # only the candidate's own ports and protocols can be decided by it
        wanted = merge(p for e in entries for p in intersect(merge(ports), e.match.ports))
        mine = [p for p in protocols if any(e.match.covers(p) for e in entries)]
        return [
            d
            for d in _walk(stack, subject, wanted, mine, implied=False, alone=entries)
            if any(d.rule is e for e in entries)
        ]

    def _after_denies(
        self,
        entries: list[LayerRule],
        subject: Subject,
        ports: tuple[PortRange, ...],
        protocols: Iterable[Protocol],
    ) -> list[Decision]:
        """``decisions`` of allow ``entries`` of the first layer when it holds only denies:
        denies only take ports away, so the candidate decides its own ports among those the
        denies ordered before it leave (no later rule or layer can decide them first)."""
        layer = self._kept[0][0]
        found: list[Decision] = []
        for protocol in protocols:
            if not any(e.match.covers(protocol) for e in entries):
                continue
            left = self._left.get((subject, ports, protocol))
            if left is None:
                left = self._left[(subject, ports, protocol)] = self._leaves(
                    subject, ports, protocol
                )
            keys, undecided = left
            still = undecided[bisect_right(keys, _key(entries[0]))]
            wanted = merge(p for e in entries for p in intersect(still, e.match.ports))
            found += _walk([(layer, entries)], subject, wanted, [protocol], False, entries)
        return found

    def _leaves(self, subject: Subject, ports: tuple[PortRange, ...], protocol: Protocol) -> _Left:
        """Each key at which the first layer's denies take ports of ``ports`` away for the
        subject, and what is left undecided before the first such key and after each."""
        layer, rules = self._kept[0]
        undecided = merge(ports)
        keys, left = [], [undecided]
        for rule in rules:
            if not undecided:
                break
            # a deny that holds for only some of the subject's VMs decides nothing (_walk)
            if not rule.match.covers(protocol) or coverage(rule, layer, subject) != Coverage.ALL:
                continue
            hit = intersect(undecided, rule.match.ports)
            if hit:
                undecided = subtract(undecided, hit)
                keys.append(_key(rule))
                left.append(undecided)
        return keys, left


_Left = tuple[list[tuple[int, bool]], list[tuple[PortRange, ...]]]
"""Keys at which denies take ports away, and the ports left before the first and after
each (``EachAllowAlone._leaves``)."""


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
    targets, and its layer's region), so only its sources limit it. Entries of one rule
    (split by protocol) share layer, name and priority."""
    if candidate.action != Action.ALLOW:
        return []
    alone = EachAllowAlone(layers)
    return alone.decisions(
        layer_name, candidate.name, candidate.priority, subject, ports, protocols
    )
