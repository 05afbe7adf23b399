"""``restrict_ingress`` on an Azure Virtual Network Manager security admin rule that lets
the internet in (``AlwaysAllow``), in ARM's shapes (pure: ``admin_rule_writes`` applies it).

The rule's ``sources`` lose their internet items (``Internet``, ``*``, ``0.0.0.0/0``,
``::/0``) and keep the others (IP prefixes and service tags as written) plus ``--allow``
CIDRs (``addressPrefixType: IPPrefix``). An admin rule has no ``disabled`` field, so a rule
whose only source is the internet needs ``--allow`` (or its owners delete it): the plan is
refused otherwise. A rule that also opens other ports than the sensitive ones, or any
protocol, is refused too (narrowing would close those). The change is the rule's PUT
followed by a commit of its configuration: Virtual Network Manager applies a changed rule
only once its configuration is deployed again (Microsoft docs, "Configuration deployments
in Azure Virtual Network Manager").
"""

from __future__ import annotations

import copy

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
from clamp.ports import subtract
from clamp.providers.azure.normalize_admin import admin_rule
from clamp.providers.ingress import Keep, RuleFix
from clamp.providers.layer_changes import LayerChanges, OpeningRule

ADMIN_RULE_TYPE = ChangeType.AZURE_ADMIN_RULE
WRITE = "AdminRulesOperations.create_or_update + NetworkManagerCommitsOperations.begin_post"
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
        if not layered.match.protocols <= PORTED or subtract(layered.match.ports, sensitive):
            raise PlanRefused(
                f"{label} also opens other ports or protocols than the sensitive ones; narrowing "
                "its sources would close those too: split it in the network manager first"
            )
        props = dict(raw.get("properties") or {})
        sources = [dict(s) for s in props.get("sources") or []]
        texts = [str(s.get("addressPrefix", "")) for s in sources]
        kept = keep(texts, is_internet)
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
