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
Deployment (``Deployments``): a configuration takes effect only once committed to the
VNet's region (``POST …/networkManagers/M/commit``, ``NetworkManagerCommit``); the
scenario's configurations count as deployed as written until the API changes them, and
``POST …/listDeploymentStatus`` says what is deployed where. Not modelled: dynamic
membership (Azure Policy), commits of Connectivity or Routing configurations (accepted,
no effect), and the time a deployment takes (done at the first poll).
"""

from __future__ import annotations

import copy
import ipaddress
import uuid

from starlette.responses import Response

from clamp.sandbox.arm import Json, arm_error, type_of

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


MANAGER = "microsoft.network/networkmanagers"
CONFIGURATION = "microsoft.network/networkmanagers/securityadminconfigurations"
COMMIT_TYPES = frozenset({"SecurityAdmin", "Connectivity", "Routing"})
"""``ConfigurationType`` values a commit may name (azure-mgmt-network 33 models); only
``SecurityAdmin`` deployments are modelled."""


def configuration_of(arm_id: str) -> str:
    """The security admin configuration (lower-cased id) a rule or collection is under."""
    return arm_id.lower().split("/rulecollections/", 1)[0]


def _manager_of(arm_id: str) -> str:
    return arm_id.lower().split("/securityadminconfigurations/", 1)[0]


class Deployments:
    """What Virtual Network Manager has deployed (Microsoft docs, "Configuration
    deployments in Azure Virtual Network Manager": changes to a configuration take effect
    only when it is committed to a region, and a commit to a region replaces the
    configurations of that type deployed there).

    The scenario's configurations count as deployed as written, in every region, until
    the API changes them: the first write to a rule of a configuration freezes what is in
    effect (the rules before the write), and a commit deploys the current rules of the
    configurations it names in its regions, undeploying the others there."""

    def __init__(self) -> None:
        self.frozen: dict[str, list[Json]] = {}
        """Per configuration (lower-cased id), its rules as in effect."""
        self.regions: dict[tuple[str, str], list[str]] = {}
        """Per (manager, region), lower-cased, the configuration ids committed there."""

    def before_write(self, rule_id: str, objects: list[Json]) -> None:
        """Freeze a configuration's rules in effect before one of them first changes."""
        config = configuration_of(rule_id)
        if config not in self.frozen:
            self.frozen[config] = _rules_of(config, objects)

    def view(self, vnet: Json, objects: list[Json]) -> list[Json]:
        """``objects`` with each configuration's rules as in effect in the VNet's region."""
        region = str(vnet.get("location", "")).lower()
        out = [o for o in objects if type_of(o) != RULE]
        configs = {configuration_of(str(o["id"])) for o in objects if type_of(o) == RULE}
        configs |= set(self.frozen)
        for config in sorted(configs):
            committed = self.regions.get((_manager_of(config), region))
            if committed is not None and config not in committed:
                continue
            out += self.frozen[config] if config in self.frozen else _rules_of(config, objects)
        return out

    def commit(self, manager: Json, body: Json, objects: list[Json]) -> Json | str:
        """``POST …/networkManagers/M/commit``: the commit's body as ARM returns it, or
        why ARM refuses it (``NetworkManagerCommit``: ``targetLocations`` and
        ``commitType`` required)."""
        locations = body.get("targetLocations")
        kind = body.get("commitType")
        ids = body.get("configurationIds") or []
        if not isinstance(locations, list) or not locations:
            return "targetLocations is required"
        if kind not in COMMIT_TYPES:
            return f"commitType {kind!r} is not one of {sorted(COMMIT_TYPES)}"
        known = {str(o["id"]).lower() for o in objects if type_of(o) == CONFIGURATION}
        manager_id = str(manager["id"]).lower()
        for config in ids:
            if str(config).lower() not in known or _manager_of(str(config)) != manager_id:
                return f"configuration {config} is not a configuration of {manager['id']}"
        if kind == "SecurityAdmin":
            for location in locations:
                self.regions[(manager_id, str(location).lower())] = [str(i).lower() for i in ids]
            for config in ids:
                self.frozen[str(config).lower()] = _rules_of(str(config).lower(), objects)
        return {**body, "commitId": str(uuid.uuid4())}

    def status(self, manager: Json, body: Json, objects: list[Json]) -> Json:
        """``POST …/listDeploymentStatus``: per region (of the VNets, or those asked), the
        SecurityAdmin configurations deployed there (``NetworkManagerDeploymentStatusListResult``)."""
        manager_id = str(manager["id"]).lower()
        types = body.get("deploymentTypes") or ["SecurityAdmin"]
        if "SecurityAdmin" not in types:
            return {"value": []}
        asked = [str(r).lower() for r in body.get("regions") or []]
        regions = asked or sorted(
            {
                str(o.get("location", "")).lower()
                for o in objects
                if type_of(o) == "microsoft.network/virtualnetworks" and o.get("location")
            }
            | {region for manager_key, region in self.regions if manager_key == manager_id}
        )
        every = sorted(
            {configuration_of(str(o["id"])) for o in objects if type_of(o) == RULE}
            | set(self.frozen)
        )
        by_id = {str(o["id"]).lower(): str(o["id"]) for o in objects if type_of(o) == CONFIGURATION}
        value = []
        for region in regions:
            ids = self.regions.get((manager_id, region))
            ids = [c for c in every if _manager_of(c) == manager_id] if ids is None else ids
            value.append(
                {
                    "region": region,
                    "deploymentStatus": "Deployed",
                    "deploymentType": "SecurityAdmin",
                    "configurationIds": [by_id.get(c, c) for c in ids],
                }
            )
        return {"value": value}


def _rules_of(config: str, objects: list[Json]) -> list[Json]:
    prefix = config + "/rulecollections/"
    return [
        copy.deepcopy(o)
        for o in objects
        if type_of(o) == RULE and str(o["id"]).lower().startswith(prefix)
    ]


PROTOCOLS = frozenset({"Tcp", "Udp", "Icmp", "Esp", "Any", "Ah"})
ACCESSES = frozenset({"Allow", "Deny", "AlwaysAllow"})
DIRECTIONS = frozenset({"Inbound", "Outbound"})
PREFIX_TYPES = frozenset({"IPPrefix", "ServiceTag", "NetworkGroup"})


def check_admin_rule(kind: str, arm_id: str, props: Json, objects: list[Json]) -> Response | None:
    """ARM's 400 for a security admin rule the ``AdminPropertiesFormat`` model refuses
    (azure-mgmt-network 33: protocol, access, priority 1-4096 unique in its collection and
    direction required, with their known values; ``AddressPrefixItem`` types), or None.
    The messages are the sandbox's own, not Azure's words."""
    if kind != RULE:
        return None
    for field, allowed in (
        ("protocol", PROTOCOLS),
        ("access", ACCESSES),
        ("direction", DIRECTIONS),
    ):
        if props.get(field) not in allowed:
            return arm_error(
                400,
                "InvalidRequestFormat",
                f"{field} {props.get(field)!r} is not one of {sorted(allowed)}",
            )
    priority = props.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 4096:
        return arm_error(400, "InvalidRequestFormat", f"priority {priority!r} must be 1 to 4096")
    collection = arm_id.lower().rsplit("/rules/", 1)[0] + "/rules/"
    for other in objects:
        other_id = str(other.get("id", "")).lower()
        if (
            type_of(other) == RULE
            and other_id.startswith(collection)
            and other_id != arm_id.lower()
            and (other.get("properties") or {}).get("priority") == priority
        ):
            return arm_error(
                400, "InvalidRequestFormat", f"priority {priority} is taken by {other['id']}"
            )
    for field in ("sources", "destinations"):
        for item in props.get(field) or []:
            kind_of_prefix = (item or {}).get("addressPrefixType")
            prefix = str((item or {}).get("addressPrefix", ""))
            if kind_of_prefix not in PREFIX_TYPES:
                return arm_error(
                    400, "InvalidRequestFormat", f"{field} addressPrefixType {kind_of_prefix!r}"
                )
            if kind_of_prefix == "IPPrefix" and prefix != "*":
                try:
                    ipaddress.ip_network(prefix, strict=False)
                except ValueError:
                    return arm_error(
                        400, "InvalidRequestFormat", f"{field} {prefix!r} is not a prefix"
                    )
    return None
