"""``restrict_ingress`` on a rule of a Google Cloud network firewall policy (global or
regional, the project's own), in Compute's shapes (pure: ``policy_rules`` applies it with
``networkFirewallPolicies.patchRule`` / ``regionNetworkFirewallPolicies.patchRule``).

The rule's ``match.srcIpRanges`` lose their internet ranges and keep the others plus
``--allow``; with no range left it keeps its other sources (secure tags, address groups,
FQDNs, regions), and with no source at all it is disabled, never deleted. A rule that also
opens other ports (of TCP, UDP or SCTP) is split instead, so those stay exactly as open:
the rule keeps its sources and loses the sensitive ports (``patchRule``), and — when some
source is kept — a new rule at the next free priority beside it (``addRule``; nothing lies
between the two, so it is evaluated exactly where the original is) admits the kept
sources to the sensitive ports; undo removes it (``removeRule``) and patches the rule back.
A rule for every protocol (``all``, ICMP, ESP…) cannot be split by port: refused with what
to do. Hierarchical policies (organization or folder) are
not the project's: ``owner`` says so, with the policy's short name; an allow there is
terminal, so no rule of the project can close the port.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from clamp.errors import PlanRefused
from clamp.exposure import GCP_INTERNET
from clamp.model import (
    Change,
    ChangeOp,
    ChangeType,
    PortRange,
    Protocol,
    Provider,
    Resource,
    ResourceType,
)
from clamp.ports import intersect, subtract
from clamp.providers.gcp.normalize_layers import policy_rules
from clamp.providers.gcp.normalize_ports import ports_of, protocol_of
from clamp.providers.ingress import Keep, RuleFix
from clamp.providers.layer_changes import LayerChanges, OpeningRule, free_beside

HOST = "//compute.googleapis.com"
RULE_TYPE = ChangeType.GCP_FIREWALL_POLICY_RULE
APIS = {"network": "networkFirewallPolicies", "regional": "regionNetworkFirewallPolicies"}
PATCH = {kind: f"{api}.patchRule" for kind, api in APIS.items()}
ADD = {kind: f"{api}.addRule" for kind, api in APIS.items()}
LOWEST = 2147483643
"""The last priority a rule of one's own may take (compute.v1.json's FirewallPolicyRule:
"between 0 and 2147483647"; Compute keeps 2147483644-2147483647 for the default rules)."""
OUTPUT_ONLY = ("kind", "ruleTupleCount")
PORTED = frozenset({Protocol.TCP, Protocol.UDP, Protocol.SCTP})
OTHER_SOURCES = (
    "srcSecureTags",
    "srcAddressGroups",
    "srcFqdns",
    "srcRegionCodes",
    "srcThreatIntelligences",
)


def rule_target(layer: str, priority: int) -> str:
    """A policy rule's id in Clamp: ``//compute.googleapis.com/projects/P/global/
    firewallPolicies/N/rules/<priority>`` (``regions/R`` for a regional policy)."""
    return f"{HOST}/{layer.partition(':')[2]}/rules/{priority}"


def rule_ref(target: str) -> tuple[str, str | None, str, int]:
    """(project, region or None, policy, priority) from ``rule_target``'s id."""
    parts = target.removeprefix(HOST + "/").split("/")
    match parts:
        case ["projects", project, "global", "firewallPolicies", policy, "rules", priority]:
            region = None
        case [
            "projects",
            project,
            "regions",
            region,
            "firewallPolicies",
            policy,
            "rules",
            priority,
        ]:
            pass
        case _:
            raise PlanRefused(f"not a network firewall policy rule: {target}")
    if not priority.isdigit():
        raise PlanRefused(f"not a network firewall policy rule: {target}")
    return project, region, policy, int(priority)


class GcpPolicyRuleChanges(LayerChanges):
    """A network firewall policy rule's source ranges narrowed, or the rule disabled."""

    provider = Provider.GCP
    resource_type = ResourceType.GCP_NETWORK
    kind = "firewall policies of network"
    noun = "instance"
    not_local = (
        "an allow there is terminal, so no VPC firewall rule or network policy rule of this "
        "project (not even a deny at a higher priority) can close it"
    )
    note = (
        "the policy's other rules are unchanged, and every network it is associated with sees "
        "the same change (a policy rule applies wherever the policy is associated)"
    )

    def owner(self, resource: Resource, layer: str) -> str | None:
        """Hierarchical policies belong to the organization or a folder above the project."""
        if not layer.startswith("hierarchical:"):
            return None
        label = resource.facets.get("policy_labels", {}).get(layer) or layer.partition(":")[2]
        return (
            f"hierarchical firewall policy {label} ({layer.partition(':')[2]}), attached to the "
            f"organization or a folder above project {resource.scope}"
        )

    def narrow(
        self, resource: Resource, rule: OpeningRule, sensitive: tuple[PortRange, ...], keep: Keep
    ) -> RuleFix:
        """The ``patchRule`` that stops internet traffic through ``rule``."""
        kind = rule.layer.partition(":")[0]
        raw = resource.facets.get("policy_rules", {}).get(rule.layer, {}).get(rule.priority)
        if kind not in PATCH or raw is None:
            raise PlanRefused(
                f"rule {rule.name} (priority {rule.priority}) of {rule.layer} was not read with "
                f"network {resource.name}; run `clamp scan`"
            )
        label = f"rule {rule.name} (priority {rule.priority}) of {rule.layer.partition(':')[2]}"
        matcher = dict(raw.get("match") or {})
        if str(matcher.get("srcNetworkType") or "") == "INTERNET":
            raise PlanRefused(
                f"{label} admits the internet by srcNetworkType INTERNET; change its source "
                "network type in the policy"
            )
        others = [
            r
            for r in policy_rules(raw)
            if not r.match.protocols <= PORTED or subtract(r.match.ports, sensitive)
        ]
        if any(not r.match.protocols <= PORTED for r in others):
            raise PlanRefused(
                f"{label} opens every protocol or one without ports, not only the sensitive "
                "ports; it cannot be split by port: split it in the policy (a rule for the "
                "sensitive ports at a higher priority), then run the fix again"
            )
        ranges = [str(r) for r in matcher.get("srcIpRanges") or []]
        kept = keep(ranges, lambda source: source.strip() in GCP_INTERNET)
        other = [f"{field} {v}" for field in OTHER_SOURCES for v in matcher.get(field) or []]
        if others:
            return self._split(resource, rule, raw, sensitive, kept, label, kind)
        before = copy.deepcopy(dict(raw))
        after = copy.deepcopy(dict(raw))
        if kept:
            after["match"]["srcIpRanges"] = kept
            how = f"{label}: srcIpRanges {', '.join(ranges)} → {', '.join(kept)}"
        elif other:
            after["match"]["srcIpRanges"] = []
            how = f"{label}: srcIpRanges dropped; only {', '.join(other)} remain"
        else:
            after["disabled"] = True
            how = f"{label}: disabled (no source but the internet would remain; never deleted)"
        change = Change(
            ChangeOp.UPDATE,
            rule_target(rule.layer, rule.priority),
            RULE_TYPE,
            before,
            after,
            PATCH[kind],
        )
        return RuleFix(rule.name, how, (change,), tuple(kept + other))

    def _split(
        self,
        resource: Resource,
        rule: OpeningRule,
        raw: dict[str, Any],
        sensitive: tuple[PortRange, ...],
        kept: list[str],
        label: str,
        kind: str,
    ) -> RuleFix:
        """The rule without the sensitive ports and, when a source is kept, a new rule
        beside it admitting the kept sources (and the rule's other sources) to them."""
        configs = (raw.get("match") or {}).get("layer4Configs") or []
        rest, closed = (
            _configs(configs, lambda p: subtract(p, sensitive)),
            _configs(configs, lambda p: intersect(p, sensitive)),
        )
        patched = copy.deepcopy(dict(raw))
        patched["match"]["layer4Configs"] = rest
        changes = []
        other = [f"{field} {v}" for field in OTHER_SOURCES for v in raw["match"].get(field) or []]
        how = (
            f"{label}: split — it keeps {_describe(rest)} as it is and no longer opens "
            f"{_describe(closed)}"
        )
        if kept or other:
            taken = set(resource.facets.get("policy_rules", {}).get(rule.layer, {}))
            free = free_beside(rule.priority, taken, 0, LOWEST)
            if free is None:
                raise PlanRefused(
                    f"{label} also opens {_describe(rest)}, and priorities {rule.priority - 1} "
                    f"and {rule.priority + 1} are taken, so no rule for the sensitive ports "
                    "fits beside it: free one of them in the policy, then run the fix again"
                )
            added = {k: v for k, v in copy.deepcopy(dict(raw)).items() if k not in OUTPUT_ONLY}
            added["priority"] = free
            added["ruleName"] = f"{raw.get('ruleName') or f'priority-{rule.priority}'}-restricted"
            added["match"]["layer4Configs"] = closed
            added["match"]["srcIpRanges"] = kept
            changes.append(
                Change(
                    ChangeOp.CREATE,
                    rule_target(rule.layer, free),
                    RULE_TYPE,
                    None,
                    added,
                    ADD[kind],
                )
            )
            how += (
                f"; new rule {added['ruleName']} (priority {free}) admits "
                f"{', '.join(kept + other)} to {_describe(closed)}"
            )
        changes.append(
            Change(
                ChangeOp.UPDATE,
                rule_target(rule.layer, rule.priority),
                RULE_TYPE,
                copy.deepcopy(dict(raw)),
                patched,
                PATCH[kind],
            )
        )
        return RuleFix(rule.name, how, tuple(changes), tuple(kept + other))


def _configs(
    configs: list[Any], part: Callable[[tuple[PortRange, ...]], tuple[PortRange, ...]]
) -> list[dict[str, Any]]:
    """``layer4Configs`` cut to ``part`` of each one's ports (empty ones dropped)."""
    out = []
    for config in configs:
        ports = part(ports_of(list(config.get("ports") or [])))
        if ports:
            out.append({"ipProtocol": config.get("ipProtocol"), "ports": [str(p) for p in ports]})
    return out


def _describe(configs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{protocol_of(c['ipProtocol']).name} {','.join(c['ports'])}" for c in configs)
