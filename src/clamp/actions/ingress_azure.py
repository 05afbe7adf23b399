"""Planning ``restrict_ingress`` on an Azure network security group (pure, no I/O).

Every custom inbound Allow rule that lets the internet reach a sensitive port is
narrowed, unless a higher-priority internet Deny already blocks those ports (fixing the
first rule must not merely expose a lower one, so lower Allows are fixed too).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clamp.actions.ingress_common import keep_sources, parse_port, port_strings
from clamp.checks.exposure import is_internet
from clamp.checks.ports import intersect, merge, subtract
from clamp.errors import PlanRefused
from clamp.model import Change, ChangeOp, PortRange

RULE_TYPE = "Microsoft.Network/networkSecurityGroups/securityRules"
API_CALL = "SecurityRulesOperations.begin_create_or_update"
MIN_PRIORITY, MAX_PRIORITY = 100, 4096


@dataclass(frozen=True)
class _Rule:
    raw: Mapping[str, Any]
    priority: int
    allow: bool
    protocols: frozenset[str]
    ports: tuple[PortRange, ...]
    sources: tuple[str, ...]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> _Rule:
        props = raw.get("properties", {})
        ports = props.get("destinationPortRanges") or [props.get("destinationPortRange") or "*"]
        sources = props.get("sourceAddressPrefixes") or [props.get("sourceAddressPrefix") or ""]
        protocol = str(props.get("protocol", "*")).lower()
        return cls(
            raw=raw,
            priority=int(props.get("priority", 0)),
            allow=str(props.get("access", "")).lower() == "allow",
            protocols=frozenset({"tcp", "udp"} if protocol in ("*", "any") else {protocol}),
            ports=merge(parse_port(p) for p in ports),
            sources=tuple(sources),
        )

    @property
    def internet(self) -> bool:
        return any(is_internet(s) for s in self.sources)


def _inbound(nsg: Mapping[str, Any]) -> list[_Rule]:
    rules = nsg.get("properties", {}).get("securityRules") or []
    return sorted(
        (
            _Rule.parse(r)
            for r in rules
            if str(r.get("properties", {}).get("direction", "")).lower() == "inbound"
        ),
        key=lambda r: r.priority,
    )


def rules_to_fix(inbound: Sequence[_Rule], sensitive: tuple[PortRange, ...]) -> list[_Rule]:
    """Allow rules that would let internet traffic reach a sensitive port, in order."""
    undecided = {"tcp": sensitive, "udp": sensitive}
    found = []
    for rule in inbound:
        if not rule.internet:
            continue
        hits = {p: intersect(undecided[p], rule.ports) for p in rule.protocols if p in undecided}
        if not any(hits.values()):
            continue
        if rule.allow:
            found.append(rule)
        else:
            for protocol, covered in hits.items():
                undecided[protocol] = subtract(undecided[protocol], covered)
    return found


def _set_list(props: dict[str, Any], singular: str, plural: str, values: list[str]) -> None:
    if len(values) == 1:
        props[singular] = values[0]
        props[plural] = []
    else:
        props.pop(singular, None)
        props[plural] = values


def _writable(raw: Mapping[str, Any]) -> dict[str, Any]:
    obj = {k: copy.deepcopy(v) for k, v in raw.items() if k in ("name", "id", "properties")}
    obj["properties"].pop("provisioningState", None)
    return obj


def _free_priority(taken: set[int], original: int, name: str) -> int:
    above = [p for p in taken if p > original]
    below = [p for p in taken if p < original]
    upper = min(above, default=MAX_PRIORITY + 1)
    for candidate in range(original + 1, upper):
        if candidate not in taken:
            return candidate
    lower = max(below, default=MIN_PRIORITY - 1)
    for candidate in range(original - 1, lower, -1):
        if candidate not in taken:
            return candidate
    raise PlanRefused(
        f"no free priority next to rule {name!r} ({original}) for the restricted copy",
        hint="free a priority number next to it, or re-run without --allow",
    )


def _unique_name(base: str, names: set[str]) -> str:
    name, n = f"{base}-restricted", 2
    while name.lower() in names:
        name, n = f"{base}-restricted-{n}", n + 1
    return name


def plan_nsg(
    nsg: Mapping[str, Any], sensitive: tuple[PortRange, ...], allow: list[str]
) -> list[Change]:
    """The rule changes that stop internet traffic to ``sensitive`` ports on this NSG."""
    inbound = _inbound(nsg)
    taken = {r.priority for r in inbound}
    names = {str(r.raw.get("name", "")).lower() for r in inbound}
    changes: list[Change] = []
    for rule in rules_to_fix(inbound, sensitive):
        changes.extend(_narrow(nsg, rule, sensitive, allow, taken, names))
    return changes


def _narrow(
    nsg: Mapping[str, Any],
    rule: _Rule,
    sensitive: tuple[PortRange, ...],
    allow: list[str],
    taken: set[int],
    names: set[str],
) -> list[Change]:
    name = str(rule.raw["name"])
    target = str(rule.raw.get("id") or f"{nsg['id']}/securityRules/{name}")
    kept_sources = keep_sources(rule.sources, allow)
    other_ports = subtract(rule.ports, sensitive)
    after = _writable(rule.raw)
    props = after["properties"]
    if not other_ports:
        if kept_sources:
            _set_list(props, "sourceAddressPrefix", "sourceAddressPrefixes", kept_sources)
        else:
            props["access"] = "Deny"
        return [Change(ChangeOp.UPDATE, target, RULE_TYPE, rule.raw, after, API_CALL)]
    _set_list(
        props, "destinationPortRange", "destinationPortRanges", port_strings(other_ports, star=True)
    )
    changes = [Change(ChangeOp.UPDATE, target, RULE_TYPE, rule.raw, after, API_CALL)]
    if kept_sources:
        new_name = _unique_name(name, names)
        names.add(new_name.lower())
        priority = _free_priority(taken, rule.priority, name)
        taken.add(priority)
        created = _writable(rule.raw)
        created["name"] = new_name
        created["id"] = f"{nsg['id']}/securityRules/{new_name}"
        new_props = created["properties"]
        new_props["priority"] = priority
        new_props["description"] = f"Created by Clamp from {name}: sensitive ports, trusted sources"
        _set_list(
            new_props,
            "destinationPortRange",
            "destinationPortRanges",
            port_strings(intersect(rule.ports, sensitive), star=True),
        )
        _set_list(new_props, "sourceAddressPrefix", "sourceAddressPrefixes", kept_sources)
        changes.append(Change(ChangeOp.CREATE, created["id"], RULE_TYPE, None, created, API_CALL))
    return changes
