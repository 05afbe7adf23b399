"""Virtual Network Manager objects in an ARM export → the effective-admin-rules envelopes a
live scan reads (pure, no SDK).

A live scan asks Azure which security admin rules are in effect on each VNet
(``listNetworkManagerEffectiveSecurityAdminRules``, ``admin_rules``); an export has the
network manager's parts as ARM objects instead (azure-mgmt-network 33 models, api-version
2026-03-01): static members of network groups (``…/networkManagers/M/networkGroups/G/
staticMembers/S``, ``properties.resourceId`` a VNet), rule collections
(``…/securityAdminConfigurations/C/ruleCollections/R``, ``properties.appliesToGroups[].
networkGroupId``) and their rules (``…/rules/N``, ``properties`` an
``AdminPropertiesFormat``). Clamp resolves them as Azure documents it (Microsoft docs,
"Security admin rules in Azure Virtual Network Manager" and "Configuration deployments in
Azure Virtual Network Manager"): the rules in effect on a VNet are those of the
collections applying to a group it is a static member of, in the security admin
configurations deployed to the VNet's region.

What is deployed comes from the network manager's deployment status when the export holds
it (``az network manager list-deploy-status``: ``NetworkManagerDeploymentStatus`` objects,
``region``, ``deploymentType``, ``deploymentStatus``, ``configurationIds``): in a region it
names, only the ``SecurityAdmin`` configurations ``Deployed`` there count. Without it, a
configuration's rules count everywhere except its ``Deny`` rules, which are not counted:
an undeployed deny would hide an exposure, an undeployed ``AlwaysAllow`` only reports one
too many. Dynamic group membership (Azure Policy) is not in an export and not read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clamp.providers.azure.normalize_admin import ENVELOPE

MEMBER = "microsoft.network/networkmanagers/networkgroups/staticmembers"
COLLECTION = "microsoft.network/networkmanagers/securityadminconfigurations/rulecollections"
RULE = f"{COLLECTION}/rules"
CONFIGURATION = "microsoft.network/networkmanagers/securityadminconfigurations"
MANAGER = "microsoft.network/networkmanagers"
VNET = "microsoft.network/virtualnetworks"
ADMIN_TYPES = frozenset({MEMBER, COLLECTION, RULE})

Objects = list[Mapping[str, Any]]


def is_deployment_status(item: Mapping[str, Any]) -> bool:
    """A ``NetworkManagerDeploymentStatus`` as ``list-deploy-status`` prints it."""
    return "deploymentType" in item and "configurationIds" in item and "id" not in item


def _type(obj: Mapping[str, Any]) -> str:
    return str(obj.get("type", "")).lower()


def is_admin_part(obj: Mapping[str, Any]) -> bool:
    """A network group member, a rule collection or an admin rule."""
    return _type(obj) in ADMIN_TYPES


def _props(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("properties") or {}


def _configuration(arm_id: str) -> str:
    return arm_id.lower().split("/rulecollections/", 1)[0]


def _manager(arm_id: str) -> str:
    return arm_id.lower().split("/securityadminconfigurations/", 1)[0]


def _deployed(statuses: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """Per (network manager, region), lower-cased, the SecurityAdmin configurations
    deployed there."""
    out: dict[tuple[str, str], set[str]] = {}
    for status in statuses:
        if str(status.get("deploymentType", "")) != "SecurityAdmin":
            continue
        configs = {str(c).lower() for c in status.get("configurationIds") or ()}
        for config in configs:
            key = (_manager(config), str(status.get("region", "")).lower())
            out.setdefault(key, set())
            if str(status.get("deploymentStatus", "")) == "Deployed":
                out[key].add(config)
    return out


def _effective(
    rule: Mapping[str, Any], collection: Mapping[str, Any], descriptions: Mapping[str, str]
) -> dict[str, Any]:
    """The rule as ``EffectiveSecurityAdminRule`` lists it."""
    applies = _props(collection).get("appliesToGroups") or []
    return {
        "id": rule.get("id"),
        "kind": rule.get("kind", "Custom"),
        "configurationDescription": descriptions.get(_configuration(str(collection["id"])), ""),
        "ruleCollectionDescription": str(_props(collection).get("description", "")),
        "ruleCollectionAppliesToGroups": [{"networkGroupId": g["networkGroupId"]} for g in applies],
        "properties": _props(rule),
    }


def effective_admin_envelopes(objects: Iterable[Mapping[str, Any]]) -> Objects:
    """One envelope per VNet with the admin rules in effect on it, when the objects hold
    any network manager part (none otherwise: the NSGs decide alone)."""
    objects = list(objects)
    if not any(is_admin_part(o) for o in objects):
        return []
    deployed = _deployed(o for o in objects if is_deployment_status(o))
    descriptions = {
        str(o.get("id", "")).lower(): str(_props(o).get("description", ""))
        for o in objects
        if _type(o) == CONFIGURATION
    }
    collections = [o for o in objects if _type(o) == COLLECTION and o.get("id")]
    rules: dict[str, list[Mapping[str, Any]]] = {}  # by collection (lower-cased id)
    groups: dict[str, set[str]] = {}  # VNet (lower-cased id) → its network groups
    for obj in objects:
        if _type(obj) == RULE and obj.get("id"):
            rules.setdefault(str(obj["id"]).lower().rsplit("/rules/", 1)[0], []).append(obj)
        elif _type(obj) == MEMBER:
            member = str(_props(obj).get("resourceId", "")).lower()
            group = str(obj.get("id", "")).lower().rsplit("/staticmembers/", 1)[0]
            groups.setdefault(member, set()).add(group)
    out: Objects = []
    for vnet in (o for o in objects if _type(o) == VNET and o.get("id")):
        region = str(vnet.get("location", "")).lower()
        mine = groups.get(str(vnet["id"]).lower(), set())
        value = []
        for collection in collections:
            applies = _props(collection).get("appliesToGroups") or []
            if not any(str(g.get("networkGroupId", "")).lower() in mine for g in applies):
                continue
            config = _configuration(str(collection["id"]))
            known = deployed.get((_manager(config), region))
            if known is not None and config not in known:
                continue
            value += [
                _effective(rule, collection, descriptions)
                for rule in rules.get(str(collection["id"]).lower(), ())
                if known is not None or str(_props(rule).get("access", "")).lower() != "deny"
            ]
        out.append({"type": ENVELOPE, "virtualNetwork": vnet["id"], "value": value})
    return out


ARM_TYPES = {
    MEMBER: "Microsoft.Network/networkManagers/networkGroups/staticMembers",
    COLLECTION: "Microsoft.Network/networkManagers/securityAdminConfigurations/ruleCollections",
    RULE: "Microsoft.Network/networkManagers/securityAdminConfigurations/ruleCollections/rules",
    CONFIGURATION: "Microsoft.Network/networkManagers/securityAdminConfigurations",
    MANAGER: "Microsoft.Network/networkManagers",
}
"""Each part's ARM type, as ARM spells it (the lower-cased keys are how Clamp compares)."""


def admin_parts_of(envelopes: Iterable[Mapping[str, Any]]) -> Objects:
    """The network manager's parts that effective-admin-rules envelopes were read from, as
    far as they tell (a stored estate seeds a sandbox with them): each rule, its
    collection, configuration and network manager, and each VNet as a static member of
    the groups its collections apply to (less those of a collection not in effect on it,
    unless that leaves a collection none). What was not deployed is not in an envelope,
    so everything rebuilt counts as deployed."""
    parts: dict[str, dict[str, Any]] = {}  # by lower-cased id
    in_effect: dict[str, tuple[str, set[str]]] = {}  # VNet → (its id, its collections)
    groups: dict[str, list[str]] = {}  # collection (lower-cased id) → its groups
    for envelope in envelopes:
        vnet = str(envelope.get("virtualNetwork", ""))
        mine = in_effect.setdefault(vnet.lower(), (vnet, set()))[1]
        for rule in envelope.get("value") or ():
            rule_id = str(rule.get("id", ""))
            if not all(s in rule_id.lower() for s in ("/securityadminconfigurations/", "/rules/")):
                continue  # a default rule (no collection of its own) or a malformed id
            collection = _above(rule_id, "/rules/")
            configuration = _above(collection, "/rulecollections/")
            applies = [
                {"networkGroupId": str(g.get("networkGroupId", ""))}
                for g in rule.get("ruleCollectionAppliesToGroups") or ()
            ]
            _part(parts, rule_id, RULE, rule.get("properties") or {})
            parts[rule_id.lower()]["kind"] = rule.get("kind", "Custom")
            _part(
                parts,
                collection,
                COLLECTION,
                {
                    "description": rule.get("ruleCollectionDescription", ""),
                    "appliesToGroups": applies,
                },
            )
            _part(
                parts,
                configuration,
                CONFIGURATION,
                {"description": rule.get("configurationDescription", "")},
            )
            _part(parts, _above(configuration, "/securityadminconfigurations/"), MANAGER, {})
            groups[collection.lower()] = [g["networkGroupId"] for g in applies]
            mine.add(collection.lower())
    for vnet, collections in in_effect.values():
        outside = {g for c, listed in groups.items() if c not in collections for g in listed}
        member_of: set[str] = set()
        for collection in collections:
            member_of |= (set(groups[collection]) - outside) or set(groups[collection])
        for group in sorted(member_of):
            member = f"{group}/staticMembers/{vnet.rsplit('/', 1)[-1]}"
            _part(parts, member, MEMBER, {"resourceId": vnet})
    return list(parts.values())


def _above(arm_id: str, segment: str) -> str:
    """``arm_id`` up to its last ``segment`` (matched without regard to case)."""
    return arm_id[: arm_id.lower().rindex(segment)]


def _part(
    parts: dict[str, dict[str, Any]], arm_id: str, kind: str, properties: Mapping[str, Any]
) -> None:
    name = arm_id.rstrip("/").rsplit("/", 1)[-1]
    parts.setdefault(
        arm_id.lower(),
        {"id": arm_id, "name": name, "type": ARM_TYPES[kind], "properties": dict(properties)},
    )
