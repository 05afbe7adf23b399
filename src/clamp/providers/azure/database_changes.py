"""Azure SQL and flexible servers' network-access changes (pure: ``DatabaseChanges``).

A firewall rule is its own ARM object (``<server>/firewallRules/<name>``): a removed rule is
a DELETE whose before-image is the rule as read (so undo re-creates it with the same name
and range), an allowed CIDR a CREATE of ``clamp-allow-<cidr>``. Public access is the
server's ``publicNetworkAccess`` (Azure SQL) or ``network.publicNetworkAccess`` (flexible
servers), written alone.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Sequence
from typing import Any, ClassVar

from clamp.address_space import cidr_span
from clamp.database_exposure import AccessRule
from clamp.model import Change, ChangeOp, ChangeType, Provider, Resource, ResourceType
from clamp.providers.database_changes import DatabaseChanges

CHANGE_TYPES: dict[ResourceType, tuple[ChangeType, ChangeType]] = {
    ResourceType.AZURE_SQL_SERVER: (
        ChangeType.AZURE_SQL_FIREWALL_RULE,
        ChangeType.AZURE_SQL_PUBLIC_ACCESS,
    ),
    ResourceType.AZURE_POSTGRES_SERVER: (
        ChangeType.AZURE_POSTGRES_FIREWALL_RULE,
        ChangeType.AZURE_POSTGRES_PUBLIC_ACCESS,
    ),
    ResourceType.AZURE_MYSQL_SERVER: (
        ChangeType.AZURE_MYSQL_FIREWALL_RULE,
        ChangeType.AZURE_MYSQL_PUBLIC_ACCESS,
    ),
}
"""Per server type: the change types of its firewall rules and of its public access."""


def allow_rule_name(cidr: str) -> str:
    """The name Clamp gives the rule admitting ``cidr`` (no ``.`` or ``/``: ARM names)."""
    return "clamp-allow-" + cidr.replace(".", "-").replace("/", "-").replace(":", "-")


def _image(rule: dict[str, Any]) -> dict[str, Any]:
    props = rule.get("properties") or {}
    return {
        "name": rule.get("name"),
        "properties": {k: props.get(k) for k in ("startIpAddress", "endIpAddress")},
    }


class AzureDatabaseChanges(DatabaseChanges):
    """Firewall rules and public network access of Azure database servers."""

    provider = Provider.AZURE
    types: ClassVar[tuple[ResourceType, ...]] = tuple(CHANGE_TYPES)

    def replace_rules(
        self, resource: Resource, remove: Sequence[AccessRule], allow: Sequence[str]
    ) -> tuple[Change, ...]:
        """CREATE a rule per allowed CIDR, then DELETE each removed rule."""
        rule_type, _ = CHANGE_TYPES[resource.type]
        rules = {str(r.get("name")): r for r in resource.raw.get("firewallRules") or []}
        gone = {r.name for r in remove}
        kept = {(r.lo, r.hi) for r in resource.facets["rules"] or () if r.name not in gone}
        changes: list[Change] = []
        for cidr in allow:
            lo, hi = cidr_span(cidr)
            name = allow_rule_name(cidr)
            if (lo, hi) in kept or (name in rules and name not in gone):
                continue
            after = {
                "name": name,
                "properties": {
                    "startIpAddress": str(ipaddress.IPv4Address(lo)),
                    "endIpAddress": str(ipaddress.IPv4Address(hi)),
                },
            }
            target = f"{resource.id}/firewallRules/{name}"
            changes.append(Change(ChangeOp.CREATE, target, rule_type, None, after, ""))
        for rule in remove:
            raw = rules[rule.name]
            target = str(raw.get("id") or f"{resource.id}/firewallRules/{rule.name}")
            changes.append(Change(ChangeOp.DELETE, target, rule_type, _image(raw), None, ""))
        return tuple(changes)

    def disable_public(self, resource: Resource) -> tuple[Change, ...]:
        """``publicNetworkAccess`` Disabled on the server."""
        _, access_type = CHANGE_TYPES[resource.type]
        if not resource.facets["public_access"]:
            return ()
        props = (resource.raw.get("server") or {}).get("properties") or {}
        if resource.type == ResourceType.AZURE_SQL_SERVER:
            before: dict[str, Any] = {
                "properties": {"publicNetworkAccess": props.get("publicNetworkAccess")}
            }
            after = copy.deepcopy(before)
            after["properties"]["publicNetworkAccess"] = "Disabled"
        else:
            network = props.get("network") or {}
            before = {
                "properties": {
                    "network": {"publicNetworkAccess": network.get("publicNetworkAccess")}
                }
            }
            after = copy.deepcopy(before)
            after["properties"]["network"]["publicNetworkAccess"] = "Disabled"
        return (Change(ChangeOp.UPDATE, resource.id, access_type, before, after, ""),)
