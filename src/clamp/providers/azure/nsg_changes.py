"""``restrict_ingress`` on an Azure network security group, in ARM's shapes (pure: the
security-rule PUTs ``NetworkService`` applies).

Which rules: every custom inbound Allow rule that lets internet traffic reach a sensitive
port unless a higher-priority internet Deny already blocks it (the exposure engine's
``internet_allow_rules``), so a lower Allow that fixing the first one would uncover is
fixed too, while an Allow shadowed by a Deny is left alone.

How each rule changes (DESIGN rule 7, narrow changes):
- all its ports are sensitive: its internet sources are replaced by the sources the
  intent keeps (its other sources plus ``--allow``); when none would remain it becomes a
  Deny. A Deny keeps the rule's priority slot, so nothing below it is uncovered, and undo
  is a plain update back.
- it also opens other ports: it is split. The rule keeps only the other ports (interval
  arithmetic; ``*`` becomes the complement), sources unchanged; the sensitive ports move
  to a new rule ``<name>-restricted`` for the remaining sources, at a free priority next
  to the original so the evaluation order is unchanged. The new rule is created first, so
  trusted sources never lose access mid-way and a failed create changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clamp.errors import PlanRefused
from clamp.exposure import azure_exposure, internet_allow_rules, internet_ports, is_internet
from clamp.model import (
    Change,
    ChangeOp,
    ChangeType,
    Direction,
    NetworkRule,
    PortRange,
    Provider,
    Resource,
    ResourceType,
)
from clamp.ports import intersect, merge, subtract
from clamp.providers.azure.normalize import security_rule
from clamp.providers.ingress import IngressChanges, IngressFixes, Keep, RuleFix, port_strings

RULE_TYPE = ChangeType.AZURE_SECURITY_RULE
API_CALL = "SecurityRulesOperations.begin_create_or_update"
MIN_PRIORITY, MAX_PRIORITY = 100, 4096
MAX_NAME = 80
# Sources that also match addresses inside the virtual network (unlike the ``Internet`` tag).
EVERYONE = frozenset({"*", "any", "0.0.0.0/0", "0.0.0.0", "::/0"})


@dataclass(frozen=True, slots=True)
class _Rule:
    """A custom security rule: normalized, and exactly as read."""

    rule: NetworkRule
    raw: Mapping[str, Any]


def _custom_rules(nsg: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((nsg.get("properties") or {}).get("securityRules") or [])


def _inbound(nsg: Mapping[str, Any]) -> list[_Rule]:
    parsed = [_Rule(security_rule(raw), raw) for raw in _custom_rules(nsg)]
    return sorted(
        (r for r in parsed if r.rule.direction == Direction.INGRESS),
        key=lambda r: r.rule.priority,
    )


class AzureNsgChanges(IngressChanges):
    """An NSG's custom inbound rules narrowed, turned to Deny, or split at a free priority."""

    provider = Provider.AZURE
    resource_type = ResourceType.AZURE_NSG
    kind = "network security group"
    noun = "VM"

    def is_internet(self, source: str) -> bool:
        """``Internet``, ``*``, ``any`` and public prefixes (the exposure engine's test)."""
        return is_internet(source)

    def rules_after(self, resource: Resource, changes: Iterable[Change]) -> tuple[NetworkRule, ...]:
        """The NSG's rules once its security-rule changes are applied."""
        return nsg_rules_after(resource, changes)

    def narrow(
        self,
        resource: Resource,
        sensitive: tuple[PortRange, ...],
        keep: Keep,
        suffix: str,
    ) -> IngressFixes:
        """The rule changes that stop internet traffic to ``sensitive`` ports on this NSG."""
        nsg = resource.raw
        sensitive = merge(sensitive)
        inbound = _inbound(nsg)
        rules = [r.rule for r in inbound]
        closed = internet_ports(azure_exposure(rules, sensitive))
        by_name = {r.rule.name: r for r in inbound}
        taken = {r.priority for r in rules}
        names = {str(raw.get("name", "")).lower() for raw in _custom_rules(nsg)}
        fixes = tuple(
            _fix(
                str(nsg.get("id", "")),
                by_name[name],
                keep(by_name[name].rule.sources, self.is_internet),
                sensitive,
                taken,
                names,
                suffix,
            )
            for name in internet_allow_rules(rules, sensitive)
        )
        return IngressFixes(fixes, closed)


def _fix(
    nsg_id: str,
    rule: _Rule,
    kept: list[str],
    sensitive: tuple[PortRange, ...],
    taken: set[int],
    names: set[str],
    suffix: str,
) -> RuleFix:
    name = rule.rule.name
    target = str(rule.raw.get("id") or f"{nsg_id}/securityRules/{name}")
    before = copy.deepcopy(dict(rule.raw))
    others = subtract(rule.rule.ports, sensitive)
    after = _writable(rule.raw)
    props = after["properties"]
    if not others:
        if kept:
            _set_list(props, "sourceAddressPrefix", "sourceAddressPrefixes", kept)
            how = f"{name}: sources {_words(rule.rule.sources)} → {_words(kept)}"
            update = Change(ChangeOp.UPDATE, target, RULE_TYPE, before, after, API_CALL)
            return RuleFix(name, how, (update,), tuple(kept))
        props["access"] = "Deny"
        how = (
            f"{name}: Allow → Deny at priority {rule.rule.priority} (no source but the "
            "internet would remain; a Deny keeps its slot so no rule below it opens)"
        )
        everyone = [s for s in rule.rule.sources if s.strip().lower() in EVERYONE]
        warning = (
            f"rule {name} denies source {_words(everyone)}, which also covers addresses inside "
            "the virtual network: they lose these ports too unless a higher rule allows them"
            if everyone
            else ""
        )
        update = Change(ChangeOp.UPDATE, target, RULE_TYPE, before, after, API_CALL)
        return RuleFix(name, how, (update,), (), warning)
    _set_list(
        props, "destinationPortRange", "destinationPortRanges", port_strings(others, star=True)
    )
    update = Change(ChangeOp.UPDATE, target, RULE_TYPE, before, after, API_CALL)
    moved = intersect(rule.rule.ports, sensitive)
    if not kept:
        how = (
            f"{name}: split — keeps {_words(port_strings(others, star=True))} as before; "
            f"{_words(port_strings(moved, star=False))} removed (no other source to keep)"
        )
        return RuleFix(name, how, (update,))
    new_name = _unique_name(name, suffix, names)
    priority = _free_priority(taken, rule.rule.priority, name)
    created = _writable(rule.raw)
    created["name"] = new_name
    created["id"] = f"{nsg_id}/securityRules/{new_name}"
    new_props = created["properties"]
    new_props["priority"] = priority
    new_props["description"] = f"Clamp restrict_ingress: split from {name}"[:140]
    _set_list(
        new_props,
        "destinationPortRange",
        "destinationPortRanges",
        port_strings(moved, star=False),
    )
    _set_list(new_props, "sourceAddressPrefix", "sourceAddressPrefixes", kept)
    create = Change(ChangeOp.CREATE, created["id"], RULE_TYPE, None, created, API_CALL)
    how = (
        f"{name}: split — keeps {_words(port_strings(others, star=True))} as before; "
        f"{_words(port_strings(moved, star=False))} moves to new rule {new_name} "
        f"(priority {priority}) for {_words(kept)}"
    )
    return RuleFix(name, how, (create, update), tuple(kept))


def _words(values: Iterable[str]) -> str:
    return ", ".join(values) or "none"


def _set_list(props: dict[str, Any], singular: str, plural: str, values: Sequence[str]) -> None:
    """ARM's two shapes: the singular field for one value, the plural list for several."""
    if len(values) == 1:
        props[singular] = values[0]
        props[plural] = []
    else:
        props.pop(singular, None)
        props[plural] = list(values)


def _writable(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The rule as it can be PUT: everything but its etag and provisioning state."""
    obj = {k: copy.deepcopy(v) for k, v in raw.items() if k != "etag"}
    obj["properties"] = {
        k: copy.deepcopy(v)
        for k, v in (raw.get("properties") or {}).items()
        if k != "provisioningState"
    }
    return obj


def _free_priority(taken: set[int], original: int, name: str) -> int:
    """A free priority between the original and its inbound neighbours, marked taken."""
    upper: int = min((p for p in taken if p > original), default=MAX_PRIORITY + 1)
    lower: int = max((p for p in taken if p < original), default=MIN_PRIORITY - 1)
    candidates: list[int] = [*range(original + 1, upper), *range(original - 1, lower, -1)]
    for candidate in candidates:
        if MIN_PRIORITY <= candidate <= MAX_PRIORITY:
            taken.add(candidate)
            return candidate
    raise PlanRefused(
        f"no free priority next to rule {name!r} ({original}) for its restricted copy",
        hint="renumber the neighbouring rules to leave a gap, or re-run without --allow",
    )


def _unique_name(base: str, suffix: str, names: set[str]) -> str:
    """``<base>-<suffix>`` (then ``-2``, ``-3``…), within ARM's 80 characters; marked used."""
    n = 1
    while True:
        tail = f"-{suffix}" + (f"-{n}" if n > 1 else "")
        name = base[: MAX_NAME - len(tail)] + tail
        if name.lower() not in names:
            names.add(name.lower())
            return name
        n += 1


def nsg_rules_after(resource: Resource, changes: Iterable[Change]) -> tuple[NetworkRule, ...]:
    """The NSG's rules (default rules included) after its security-rule changes."""
    prefix = resource.id.lower() + "/securityrules/"
    rules: dict[str, NetworkRule] = {
        ("" if r.default else "c:") + r.name.lower(): r for r in resource.facets["rules"]
    }
    for change in changes:
        if change.type == ChangeType.AZURE_NSG and change.target.lower() == resource.id.lower():
            props = (change.after or {}).get("properties") or {}
            defaults = {k: r for k, r in rules.items() if not k.startswith("c:")}
            if props.get("defaultSecurityRules"):  # else ARM keeps the defaults it has
                defaults = {
                    str(r.get("name", "")).lower(): security_rule(r, default=True)
                    for r in props["defaultSecurityRules"]
                }
            custom = {
                "c:" + str(r.get("name", "")).lower(): security_rule(r)
                for r in props.get("securityRules") or []
            }
            rules = {**custom, **defaults}
            continue
        if change.type != RULE_TYPE or not change.target.lower().startswith(prefix):
            continue
        key = "c:" + change.target.rsplit("/", 1)[-1].lower()
        rules.pop(key, None)
        if change.after is not None:
            rules[key] = security_rule(change.after)
    return tuple(rules.values())
