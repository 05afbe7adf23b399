"""``restrict_ingress`` on the layer that opens the port: a rule of a network firewall
policy (Google Cloud, global or regional) rather than a VPC firewall rule, or an Azure
Virtual Network Manager security admin rule (``AlwaysAllow``) rather than an NSG rule.

The finding names the opening rules (``details.rules``, each with its ``layer``); the
cloud's ``LayerChanges`` narrows each one's sources (private sources kept, ``--allow``
added) or says who else owns its layer. A hierarchical (organization / folder) policy's
allow is terminal — no rule of the project, a deny at any priority included, is ever
asked — so no local change can close it: the plan is refused, naming the policy, its
attachment and what a responder can do meanwhile. Where a hierarchical rule only defers
(``goto_next``) the finding already names the lower layer that allows, and that is fixed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clamp.actions.ingress_common import describe_ports, keep_sources, plural
from clamp.errors import PlanRefused
from clamp.model import Finding, Plan, PortRange, Protocol, Resource
from clamp.ports import parse_ranges
from clamp.providers.factory import layer_changes
from clamp.providers.ingress import RuleFix
from clamp.providers.layer_changes import LayerChanges, OpeningRule

CONTAIN = (
    "meanwhile a responder can contain the reached instances: `clamp respond "
    "contain-compromised-vm` (isolate_instance)"
)


def opening_rules(finding: Finding) -> list[OpeningRule]:
    """The policy rules a network finding lists, each once, in the finding's order."""
    found: dict[tuple[str, str, int], OpeningRule] = {}
    for rule in finding.details.get("rules") or ():
        if isinstance(rule, Mapping) and rule.get("layer"):
            key = (str(rule["layer"]), str(rule.get("name")), int(rule.get("priority", 0)))
            found.setdefault(key, OpeningRule(*key))
    return list(found.values())


def plan_layer_fix(
    intent: str,
    finding: Finding,
    resource: Resource,
    allow: Sequence[str],
    sensitive: tuple[PortRange, ...],
    permissions: tuple[str, ...],
) -> Plan | None:
    """The plan that narrows the policy rules opening the finding's ports, or None when
    the resource's cloud changes no policy layer of this kind (the caller refuses); a rule
    that also opens ports outside ``sensitive`` is split where the cloud can (a GCP policy
    rule) and refused where it cannot (an admin rule)."""
    changes = layer_changes(resource.provider)
    if changes is None or resource.type != changes.resource_type:
        return None
    rules = opening_rules(finding)
    if not rules:
        raise PlanRefused(
            "the finding names no policy or admin rule that opens the port; run `clamp scan`"
        )
    ports = _ports(finding)
    for rule in rules:
        owner = changes.owner(resource, rule.layer)
        if owner is not None:
            raise PlanRefused(
                f"rule {rule.name} (priority {rule.priority}) of the {owner} allows "
                f"{describe_ports(ports)} from the internet; {changes.not_local}: ask that "
                f"policy's owners to narrow or remove the rule; {CONTAIN}"
            )
    fixes = [
        changes.narrow(
            resource,
            rule,
            sensitive,
            lambda sources, internet: keep_sources(sources, allow, internet),
        )
        for rule in rules
    ]
    return Plan(
        intent=intent,
        finding=finding.id,
        resource=resource.id,
        provider=resource.provider,
        summary=(
            f"stop internet access to {describe_ports(ports)} through the {changes.kind} "
            f"{resource.name}: " + "; ".join(fix.how for fix in fixes)
        ),
        changes=tuple(c for fix in fixes for c in fix.changes),
        reversible=True,
        blast_radius=_blast_radius(fixes, finding, ports, changes),
        permissions=permissions,
        params={"allow": list(allow)} if allow else {},
    )


def _ports(finding: Finding) -> dict[Protocol, tuple[PortRange, ...]]:
    """The finding's ports per protocol (every rule it lists opens them)."""
    ranges = parse_ranges(finding.details.get("ports") or ())
    return {Protocol[p.upper()]: ranges for p in finding.details.get("protocols") or ()}


def _blast_radius(
    fixes: Sequence[RuleFix],
    finding: Finding,
    ports: Mapping[Protocol, Any],
    changes: LayerChanges,
) -> str:
    """What traffic stops, who keeps access, and what else the changed rules touch."""
    total = finding.details.get("reaches_total")
    reached = total if isinstance(total, int) else len(finding.details.get("reaches") or ())
    kept = list(dict.fromkeys(s for fix in fixes for s in fix.kept))
    return "; ".join(
        [
            f"{describe_ports(ports)} from the internet to {plural(reached, changes.noun)} stops",
            f"{', '.join(kept)} keep{'s' if len(kept) == 1 else ''} access"
            if kept
            else "no source keeps access through the changed rules",
            changes.note,
        ]
    )
