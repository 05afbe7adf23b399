"""Cloud SQL instances' network-access changes (pure: ``DatabaseChanges``).

Both fixes are one UPDATE of the instance's ``settings.ipConfiguration`` (images
``{"ipConfiguration": ...}``, written by ``instances.patch``): the authorized networks
without the removed entries and with the allowed CIDRs, or ``ipv4Enabled`` false. Cloud SQL
refuses an instance with no way in, so turning the public IP off needs a private IP
(``privateNetwork``) or Private Service Connect.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar

from clamp.address_space import cidr_span
from clamp.database_exposure import AccessRule
from clamp.errors import PlanRefused
from clamp.model import Change, ChangeOp, ChangeType, Provider, Resource, ResourceType
from clamp.providers.database_changes import DatabaseChanges

ALLOW_NAME = "clamp-allow"


def _image(resource: Resource) -> dict[str, Any]:
    ip = ((resource.raw.get("settings") or {}).get("ipConfiguration")) or {}
    return {"ipConfiguration": copy.deepcopy(dict(ip))}


class CloudSqlChanges(DatabaseChanges):
    """Authorized networks and the public IP of Cloud SQL instances."""

    provider = Provider.GCP
    types: ClassVar[tuple[ResourceType, ...]] = (ResourceType.CLOUD_SQL_INSTANCE,)

    def replace_rules(
        self, resource: Resource, remove: Sequence[AccessRule], allow: Sequence[str]
    ) -> tuple[Change, ...]:
        """``authorizedNetworks``: the allowed CIDRs first, then every entry not removed."""
        before = _image(resource)
        networks = before["ipConfiguration"].get("authorizedNetworks") or []
        gone = {(r.name, r.lo, r.hi) for r in remove}
        kept = [
            n
            for n in networks
            if (str(n.get("name") or n.get("value")), *cidr_span(str(n.get("value")))) not in gone
        ]
        spans = {cidr_span(str(n.get("value"))) for n in kept}
        added = [
            {"kind": "sql#aclEntry", "name": ALLOW_NAME, "value": cidr}
            for cidr in allow
            if cidr_span(cidr) not in spans
        ]
        after = copy.deepcopy(before)
        after["ipConfiguration"]["authorizedNetworks"] = [*added, *kept]
        if after == before:
            return ()
        return (self._update(resource, before, after),)

    def disable_public(self, resource: Resource) -> tuple[Change, ...]:
        """``ipv4Enabled`` false, when a private IP or PSC keeps a way in."""
        if not resource.facets["public_access"]:
            return ()
        if not resource.facets["private_access"]:
            raise PlanRefused(
                f"Cloud SQL instance {resource.name} has no private IP or Private Service "
                "Connect: Cloud SQL refuses to remove its only way in",
                hint="configure private IP (settings.ipConfiguration.privateNetwork) first, "
                "or narrow its authorized networks with --allow",
            )
        before = _image(resource)
        after = copy.deepcopy(before)
        after["ipConfiguration"]["ipv4Enabled"] = False
        return (self._update(resource, before, after),)

    @staticmethod
    def _update(resource: Resource, before: dict[str, Any], after: dict[str, Any]) -> Change:
        kind = ChangeType.CLOUD_SQL_IP_CONFIGURATION
        return Change(ChangeOp.UPDATE, resource.id, kind, before, after, "")
