"""Firewall policies that apply to a VPC network → ``clamp.layers.Layer`` (pure, no SDK).

Input: Clamp's envelope ``{"kind": "clamp#effectiveFirewalls", "network": <network URL>,
"global": <networks.getEffectiveFirewalls response>, "regions": {<region>:
<regionNetworkFirewallPolicies.getEffectiveFirewalls response>}}`` (the responses exactly
as Compute returns them; the envelope is not an API object). Output: the network's facets
``policies_before`` and ``policies_after`` (the layers evaluated before and after its VPC
firewall rules), ``enforcement_order``, ``policy_rules`` (per network or regional policy
layer, its rules as Compute returned them, by priority: what a fix patches) and
``policy_labels`` (per hierarchical layer, the policy's short or display name).

Order (Compute Engine docs, "Firewall policies: policy and rule evaluation order"):
hierarchical policies first, from the organization down (in the order the response lists
them), then — ``networkFirewallPolicyEnforcementOrder`` ``AFTER_CLASSIC_FIREWALL``, the
default — the VPC firewall rules, the global network policy and the regional network
policies; ``BEFORE_CLASSIC_FIREWALL`` puts the two network policies before the VPC rules.

Rules (the ``FirewallPolicyRule`` schema of compute.v1.json): ``action`` allow / deny /
goto_next, and ``apply_security_profile_group``, which lets traffic through after
inspection and so counts as allow; one ``LayerRule`` per ``layer4Configs`` entry;
``srcIpRanges`` and ``srcNetworkType: INTERNET`` are internet sources, region codes, FQDNs,
address groups and threat-intelligence lists a slice of it; destination conditions narrow
a rule; targets are ``targetResources`` (networks), ``targetServiceAccounts`` and the
EFFECTIVE ``targetSecureTags`` ("if all the target_secure_tag are in INEFFECTIVE state,
then this rule will be ignored"); rules for load balancers (``targetType:
INTERNAL_MANAGED_LB``), egress rules and Google's SYSTEM policies are not read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from clamp.errors import InputError
from clamp.exposure import gcp_network_key
from clamp.layers import Action, Layer, LayerRule, Match, Targets
from clamp.model import Direction, Resource, ResourceType
from clamp.providers.gcp.normalize_ports import ports_of, protocol_of

EFFECTIVE_KIND = "clamp#effectiveFirewalls"
ACTIONS = {
    "allow": Action.ALLOW,
    "deny": Action.DENY,
    "goto_next": Action.GOTO_NEXT,
    "apply_security_profile_group": Action.ALLOW,
}
PARTIAL_SOURCES = {
    "srcRegionCodes": "regions",
    "srcFqdns": "fqdns",
    "srcAddressGroups": "address-groups",
    "srcThreatIntelligences": "threat-intelligence",
}
DESTINATIONS = (
    "destIpRanges",
    "destFqdns",
    "destAddressGroups",
    "destRegionCodes",
    "destThreatIntelligences",
)
OPEN_NETWORK_TYPES = frozenset({"", "UNSPECIFIED", "INTERNET"})
AFTER_CLASSIC = "AFTER_CLASSIC_FIREWALL"
BEFORE_CLASSIC = "BEFORE_CLASSIC_FIREWALL"


def _match(rule: Mapping[str, Any], config: Mapping[str, Any]) -> Match:
    matcher = rule.get("match") or {}
    sources = tuple(str(s) for s in matcher.get("srcIpRanges") or ())
    network_type = str(matcher.get("srcNetworkType") or matcher.get("srcNetworkContext") or "")
    if network_type == "INTERNET":
        sources += ("internet",)
    partial = tuple(
        f"{label}:{value}"
        for field, label in PARTIAL_SOURCES.items()
        for value in matcher.get(field) or ()
    )
    narrowed = tuple(f for f in DESTINATIONS if matcher.get(f))
    if network_type not in OPEN_NETWORK_TYPES:
        narrowed += (f"srcNetworkType:{network_type}",)
    tags = tuple(
        str(t.get("name", ""))
        for t in rule.get("targetSecureTags") or ()
        if t.get("state") != "INEFFECTIVE"
    )
    return Match(
        protocols=frozenset({protocol_of(config.get("ipProtocol", "all"))}),
        ports=ports_of(list(config.get("ports") or [])),
        sources=sources,
        partial_sources=partial,
        targets=Targets(
            networks=tuple(gcp_network_key(str(n)) for n in rule.get("targetResources") or ()),
            service_accounts=tuple(str(s) for s in rule.get("targetServiceAccounts") or ()),
            secure_tags=tags,
        ),
        direction=Direction.INGRESS,
        narrowed=narrowed,
    )


def policy_rules(rule: Mapping[str, Any]) -> tuple[LayerRule, ...]:
    """The ``LayerRule`` entries of one firewall policy rule (none for a rule Clamp does
    not evaluate: egress, load balancers, packet mirroring, all target tags ineffective)."""
    action = ACTIONS.get(str(rule.get("action", "")))
    secure = rule.get("targetSecureTags") or ()
    if (
        action is None
        or str(rule.get("direction", "INGRESS")) != "INGRESS"
        or str(rule.get("targetType", "INSTANCES")) != "INSTANCES"
        or (secure and all(t.get("state") == "INEFFECTIVE" for t in secure))
    ):
        return ()
    priority = int(rule.get("priority", 0))
    name = str(rule.get("ruleName") or f"priority-{priority}")
    configs = (rule.get("match") or {}).get("layer4Configs") or [{"ipProtocol": "all"}]
    return tuple(
        LayerRule(
            name=name,
            priority=priority,
            action=action,
            match=_match(rule, config),
            enabled=not rule.get("disabled", False),
        )
        for config in configs
    )


def _layer(name: str, policy: Mapping[str, Any], region: str = "") -> Layer:
    rules = tuple(r for rule in policy.get("rules") or () for r in policy_rules(rule))
    return Layer(name=name, rules=rules, region=region)


def _policies(response: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    return [p for p in response.get("firewallPolicys") or () if p.get("type") == kind]


def network_layers(network: Mapping[str, Any], effective: Mapping[str, Any]) -> dict[str, Any]:
    """The network's facets from its effective firewall policies (see the module)."""
    key = gcp_network_key(str(network.get("selfLink") or effective.get("network", "")))
    project = key.split("/")[1]
    try:
        hierarchy = [
            _layer(f"hierarchical:firewallPolicies/{p.get('name', '')}", p)
            for p in _policies(effective.get("global") or {}, "HIERARCHY")
        ]
        networked = [
            _layer(f"network:projects/{project}/global/firewallPolicies/{p.get('name', '')}", p)
            for p in sorted(
                _policies(effective.get("global") or {}, "NETWORK"),
                key=lambda p: int(p.get("priority", 0)),
            )
        ]
        regional = [
            _layer(
                f"regional:projects/{project}/regions/{region}/firewallPolicies/{p.get('name', '')}",
                p,
                region,
            )
            for region, response in sorted((effective.get("regions") or {}).items())
            for p in _policies(response, "NETWORK_REGIONAL")
        ]
    except (InputError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"firewall policies of {key}: {exc}") from None
    order = str(network.get("networkFirewallPolicyEnforcementOrder") or AFTER_CLASSIC)
    local = tuple(networked + regional)
    before = tuple(hierarchy) + (local if order == BEFORE_CLASSIC else ())
    after = () if order == BEFORE_CLASSIC else local
    return {
        "enforcement_order": order,
        "policies_before": before,
        "policies_after": after,
        "policy_rules": _raw_rules(project, effective),
        "policy_labels": {
            f"hierarchical:firewallPolicies/{p.get('name', '')}": str(
                p.get("shortName") or p.get("displayName") or p.get("name", "")
            )
            for p in _policies(effective.get("global") or {}, "HIERARCHY")
        },
    }


def _raw_rules(project: str, effective: Mapping[str, Any]) -> dict[str, dict[int, Any]]:
    """The network and regional policies' rules as Compute returned them, by layer name
    and priority (a rule's priority is unique in its policy)."""
    found: dict[str, dict[int, Any]] = {}
    scopes = [("global", effective.get("global") or {}, "NETWORK")] + [
        (f"regions/{region}", response, "NETWORK_REGIONAL")
        for region, response in sorted((effective.get("regions") or {}).items())
    ]
    for scope, response, kind in scopes:
        for p in _policies(response, kind):
            prefix = "network" if kind == "NETWORK" else "regional"
            layer = f"{prefix}:projects/{project}/{scope}/firewallPolicies/{p.get('name', '')}"
            found[layer] = {int(r.get("priority", 0)): r for r in p.get("rules") or ()}
    return found


def effective_by_network(objects: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The effective-firewalls envelopes among ``objects``, by network key."""
    return {
        gcp_network_key(str(o.get("network", ""))): o
        for o in objects
        if o.get("kind") == EFFECTIVE_KIND
    }


def instance_regions(project: str, objects: Sequence[Mapping[str, Any]]) -> dict[str, set[str]]:
    """Regions each network (by key) has instances in."""
    found: dict[str, set[str]] = {}
    for obj in objects:
        if obj.get("kind") != "compute#instance":
            continue
        zone = str(obj.get("zone", "")).rstrip("/").rsplit("/", 1)[-1]
        for nic in obj.get("networkInterfaces") or ():
            key = gcp_network_key(str(nic.get("network", "")), project)
            found.setdefault(key, set()).add(zone.rsplit("-", 1)[0])
    return found


def resource_regions(project: str, resources: Iterable[Resource]) -> dict[str, set[str]]:
    """``instance_regions`` of normalized instances (an instance's id names its zone, its
    ``networks`` facet its NICs' networks); other resources are skipped."""
    found: dict[str, set[str]] = {}
    for instance in resources:
        if instance.type != ResourceType.GCP_INSTANCE:
            continue
        zone = instance.id.rsplit("/zones/", 1)[-1].split("/", 1)[0]
        for network in instance.facets["networks"]:
            found.setdefault(gcp_network_key(network, project), set()).add(zone.rsplit("-", 1)[0])
    return found
