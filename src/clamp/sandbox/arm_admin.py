"""Virtual Network Manager security admin rules as the sandbox serves them: ``POST
…/virtualNetworks/{vnet}/listNetworkManagerEffectiveSecurityAdminRules``.

A scenario holds the network manager's parts as ARM objects of their own (shapes from
azure-mgmt-network 33's models, api-version 2026-03-01): static members of network groups
(``…/networkManagers/M/networkGroups/G/staticMembers/S``, ``properties.resourceId`` a VNet),
rule collections (``…/securityAdminConfigurations/C/ruleCollections/R``,
``properties.appliesToGroups[].networkGroupId``) and their rules (``…/rules/N``, ``kind:
Custom``, ``properties`` an ``AdminPropertiesFormat``). The rules in effect on a VNet are
those of the collections applying to a group the VNet is a static member of (Microsoft
docs, "Security admin rules in Azure Virtual Network Manager"), each answered as an
``EffectiveSecurityAdminRule`` (``NetworkManagerEffectiveSecurityAdminRulesListResult``).
Not modelled: dynamic membership (Azure Policy), and deployment — ARM applies a
configuration only once committed to the VNet's region; the sandbox treats every
configuration of the scenario as deployed (README, "Network layers").
"""

from __future__ import annotations

from clamp.sandbox.arm import Json, type_of

MEMBER = "microsoft.network/networkmanagers/networkgroups/staticmembers"
COLLECTION = "microsoft.network/networkmanagers/securityadminconfigurations/rulecollections"
RULE = f"{COLLECTION}/rules"


def effective_admin_rules(vnet: Json, objects: list[Json]) -> Json:
    """The answer to the list-effective POST on ``vnet``, all on one page."""
    vnet_id = str(vnet["id"]).lower()
    groups = {
        str(o["id"]).lower().rsplit("/staticmembers/", 1)[0]
        for o in objects
        if type_of(o) == MEMBER
        and str((o.get("properties") or {}).get("resourceId", "")).lower() == vnet_id
    }
    value: list[Json] = []
    for collection in objects:
        if type_of(collection) != COLLECTION:
            continue
        applies = (collection.get("properties") or {}).get("appliesToGroups") or []
        if not any(str(g.get("networkGroupId", "")).lower() in groups for g in applies):
            continue
        prefix = f"{str(collection['id']).lower()}/rules/"
        configuration = str(collection["id"]).rsplit("/ruleCollections/", 1)[0]
        for rule in objects:
            if type_of(rule) == RULE and str(rule["id"]).lower().startswith(prefix):
                value.append(
                    {
                        "id": rule["id"],
                        "kind": rule.get("kind", "Custom"),
                        "configurationDescription": _description(objects, configuration),
                        "ruleCollectionDescription": str(
                            (collection.get("properties") or {}).get("description", "")
                        ),
                        "ruleCollectionAppliesToGroups": [
                            {"networkGroupId": g["networkGroupId"]} for g in applies
                        ],
                        "properties": rule.get("properties") or {},
                    }
                )
    return {"value": value}


def _description(objects: list[Json], arm_id: str) -> str:
    found = next((o for o in objects if str(o.get("id", "")).lower() == arm_id.lower()), None)
    return str(((found or {}).get("properties") or {}).get("description", ""))
