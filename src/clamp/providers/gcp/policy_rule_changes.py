"""``restrict_ingress`` on a rule of a Google Cloud network firewall policy (global or
regional, the project's own), in Compute's shapes (pure: ``policy_rules`` applies it with
``networkFirewallPolicies.patchRule`` / ``regionNetworkFirewallPolicies.patchRule``).

The rule's ``match.srcIpRanges`` lose their internet ranges and keep the others plus
``--allow``; with no range left it keeps its other sources (secure tags, address groups,
FQDNs, regions), and with no source at all it is disabled, never deleted. A rule that also
opens ports other than the sensitive ones is not narrowed (that would close those too):
the plan is refused with what to do. Hierarchical policies (organization or folder) are
not the project's: ``owner`` says so, with the policy's short name; an allow there is
terminal, so no rule of the project can close the port.
"""

from __future__ import annotations

import copy

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
from clamp.ports import subtract
from clamp.providers.gcp.normalize_layers import policy_rules
from clamp.providers.ingress import Keep, RuleFix
from clamp.providers.layer_changes import LayerChanges, OpeningRule

HOST = "//compute.googleapis.com"
RULE_TYPE = ChangeType.GCP_FIREWALL_POLICY_RULE
PATCH = {
    "network": "networkFirewallPolicies.patchRule",
    "regional": "regionNetworkFirewallPolicies.patchRule",
}
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
        others = [
            r
            for r in policy_rules(raw)
            if not r.match.protocols <= PORTED or subtract(r.match.ports, sensitive)
        ]
        if others:
            raise PlanRefused(
                f"{label} also opens other ports than the sensitive ones; narrowing its sources "
                "would close those too: split it in the policy (a rule for the sensitive ports "
                "at a higher priority), then run the fix again"
            )
        matcher = dict(raw.get("match") or {})
        if str(matcher.get("srcNetworkType") or "") == "INTERNET":
            raise PlanRefused(
                f"{label} admits the internet by srcNetworkType INTERNET; change its source "
                "network type in the policy"
            )
        ranges = [str(r) for r in matcher.get("srcIpRanges") or []]
        kept = keep(ranges, lambda source: source.strip() in GCP_INTERNET)
        other = [f"{field} {v}" for field in OTHER_SOURCES for v in matcher.get(field) or []]
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
