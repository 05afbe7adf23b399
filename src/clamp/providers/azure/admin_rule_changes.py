"""``restrict_ingress`` on an Azure Virtual Network Manager security admin rule that lets
the internet in (``AlwaysAllow``), in ARM's shapes (pure: ``admin_rule_writes`` applies it).

The rule's ``sources`` lose their internet items (``Internet``, ``*``, ``0.0.0.0/0``,
``::/0``) and keep the others (IP prefixes and service tags as written) plus ``--allow``
CIDRs (``addressPrefixType: IPPrefix``). An admin rule has no ``disabled`` field, so a rule
whose only source is the internet needs ``--allow`` (or its owners delete it): the plan is
refused otherwise. A TCP or UDP rule that also opens other ports than the sensitive ones
is **split**, so those stay exactly as open: the rule keeps its sources and loses the
sensitive ports, and when a source is kept (a private prefix, a service tag, ``--allow``) a
new rule ``<name>-restricted`` in the same collection, at the free priority right beside it
(priority+1, else -1), admits those sources to the sensitive ports (undo deletes it). A
rule for any protocol (``Any``, ICMP…), which cannot be split by port, or a split with both
neighbouring priorities taken, is refused. Each change is a PUT (or DELETE)
followed by a commit of its configuration: Virtual Network Manager applies a changed rule
only once its configuration is deployed again (Microsoft docs, "Configuration deployments
in Azure Virtual Network Manager").
"""

from __future__ import annotations

import copy
from typing import Any

from clamp.errors import PlanRefused
from clamp.exposure import is_internet
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
from clamp.providers.azure.normalize_admin import admin_rule
from clamp.providers.ingress import Keep, RuleFix
from clamp.providers.layer_changes import LayerChanges, OpeningRule, free_beside

ADMIN_RULE_TYPE = ChangeType.AZURE_ADMIN_RULE
WRITE = "AdminRulesOperations.create_or_update + NetworkManagerCommitsOperations.begin_post"
DELETE = "AdminRulesOperations.begin_delete + NetworkManagerCommitsOperations.begin_post"
LOWEST = 4096
"""The lowest admin rule priority (``AdminPropertiesFormat``: 1-4096)."""
PORTED = frozenset({Protocol.TCP, Protocol.UDP})


class AzureAdminRuleChanges(LayerChanges):
    """A security admin rule's sources narrowed, then its configuration committed."""

    provider = Provider.AZURE
    resource_type = ResourceType.AZURE_VNET
    kind = "security admin rules of virtual network"
    noun = "VM"
    note = (
        "the rule changes for every VNet of the network groups its collection applies to; the "
        "commit redeploys the same configurations in each region the rule's configuration is "
        "deployed to (until it completes the old rule stays in effect)"
    )

    def owner(self, resource: Resource, layer: str) -> str | None:
        """The network manager's rules are changed through its own API: None."""
        return None

    def narrow(
        self, resource: Resource, rule: OpeningRule, sensitive: tuple[PortRange, ...], keep: Keep
    ) -> RuleFix:
        """The PUT (and commit) that stops internet traffic through ``rule``."""
        raw = resource.facets.get("admin_rules_raw", {}).get((rule.name, rule.priority))
        if raw is None:
            raise PlanRefused(
                f"security admin rule {rule.name} (priority {rule.priority}) was not read with "
                f"{resource.name}; run `clamp scan`"
            )
        label = f"security admin rule {rule.name} (priority {rule.priority})"
        layered = admin_rule(raw)
        rest = subtract(layered.match.ports, sensitive)
        if not layered.match.protocols <= PORTED:
            raise PlanRefused(
                f"{label} opens every protocol or one without ports, not only the sensitive "
                "ports; it cannot be split by port: split it in the network manager (a rule "
                "for the sensitive ports beside it), then run the fix again"
            )
        props = dict(raw.get("properties") or {})
        sources = [dict(s) for s in props.get("sources") or []]
        texts = [str(s.get("addressPrefix", "")) for s in sources]
        kept = keep(texts, is_internet)
        if rest:
            return self._split(resource, rule, raw, sensitive, kept, label)
        if not kept:
            raise PlanRefused(
                f"{label}'s only source is the internet and an admin rule cannot be disabled: "
                "give --allow CIDR (the networks that keep access), or ask the network "
                "manager's owners to delete the rule"
            )
        by_text = {str(s.get("addressPrefix", "")): s for s in sources}
        new_sources = [
            by_text.get(text) or {"addressPrefix": text, "addressPrefixType": "IPPrefix"}
            for text in kept
        ]
        before = {"id": raw["id"], "kind": raw.get("kind", "Custom"), "properties": props}
        after = copy.deepcopy(before)
        after["properties"]["sources"] = new_sources
        configuration = str(raw["id"]).split("/ruleCollections/")[0].rsplit("/", 1)[-1]
        how = (
            f"{label}: sources {', '.join(texts)} → {', '.join(kept)}, then its configuration "
            f"{configuration} is committed again to the regions it is deployed to"
        )
        change = Change(ChangeOp.UPDATE, str(raw["id"]), ADMIN_RULE_TYPE, before, after, WRITE)
        return RuleFix(rule.name, how, (change,), tuple(kept))

    def _split(
        self,
        resource: Resource,
        rule: OpeningRule,
        raw: dict[str, Any],
        sensitive: tuple[PortRange, ...],
        kept: list[str],
        label: str,
    ) -> RuleFix:
        """The rule without the sensitive ports and, when a source is kept, a new rule
        beside it in its collection admitting the kept sources to them."""
        ports = admin_rule(raw).match.ports
        rest, closed = subtract(ports, sensitive), intersect(ports, sensitive)
        props = dict(raw.get("properties") or {})
        before = {"id": raw["id"], "kind": raw.get("kind", "Custom"), "properties": props}
        patched = copy.deepcopy(before)
        patched["properties"]["destinationPortRanges"] = [str(p) for p in rest]
        how = (
            f"{label}: split — it keeps ports {_ports(rest)} as they are and no longer opens "
            f"{_ports(closed)}"
        )
        changes = []
        if kept:
            collection = str(raw["id"]).lower().rsplit("/rules/", 1)[0]
            taken = {
                priority
                for (_, priority), other in resource.facets.get("admin_rules_raw", {}).items()
                if str(other.get("id", "")).lower().rsplit("/rules/", 1)[0] == collection
            }
            free = free_beside(rule.priority, taken, 1, LOWEST)
            if free is None:
                raise PlanRefused(
                    f"{label} also opens ports {_ports(rest)}, and priorities "
                    f"{rule.priority - 1} and {rule.priority + 1} of its collection are taken, "
                    "so no rule for the sensitive ports fits beside it: free one of them, then "
                    "run the fix again"
                )
            by_text = {str(s.get("addressPrefix", "")): s for s in props.get("sources") or []}
            name = f"{rule.name}-restricted"
            added = copy.deepcopy(before)
            added["id"] = f"{str(raw['id']).rsplit('/rules/', 1)[0]}/rules/{name}"
            added["properties"].update(
                priority=free,
                destinationPortRanges=[str(p) for p in closed],
                sources=[
                    dict(by_text.get(t) or {"addressPrefix": t, "addressPrefixType": "IPPrefix"})
                    for t in kept
                ],
            )
            added["properties"].pop("provisioningState", None)
            added["properties"].pop("resourceGuid", None)
            changes.append(
                Change(ChangeOp.CREATE, added["id"], ADMIN_RULE_TYPE, None, added, WRITE)
            )
            how += f"; new rule {name} (priority {free}) admits {', '.join(kept)} to them"
        changes.append(
            Change(ChangeOp.UPDATE, str(raw["id"]), ADMIN_RULE_TYPE, before, patched, WRITE)
        )
        configuration = str(raw["id"]).split("/ruleCollections/")[0].rsplit("/", 1)[-1]
        how += f"; then its configuration {configuration} is committed again"
        return RuleFix(rule.name, how, tuple(changes), tuple(kept))


def _ports(ranges: tuple[PortRange, ...]) -> str:
    return ",".join(str(p) for p in ranges)
