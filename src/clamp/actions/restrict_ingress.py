"""``restrict_ingress``: stop internet traffic to sensitive ports, narrowly and reversibly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from clamp.actions.ingress_azure import plan_nsg
from clamp.actions.ingress_common import allowed_cidrs
from clamp.actions.ingress_gcp import plan_firewall, refuse_if_empty
from clamp.actions.interface import INTENTS, Category, Intent
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Finding, Plan, PortRange, Provider, Resource

PORT_SETS = {"exposed-admin-port": "admin_ports", "exposed-database-port": "database_ports"}


@INTENTS.register("restrict_ingress")
class RestrictIngress(Intent):
    """Remove the internet from the sources of the rules that open sensitive ports."""

    name = "restrict_ingress"
    category = Category.REMEDIATION
    reversible = True
    fixes = ("exposed-admin-port", "exposed-database-port")
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "allow": {
                "type": "array",
                "items": {"type": "string", "format": "cidr"},
                "description": "CIDRs that keep access to the sensitive ports",
            },
        },
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (
            "Microsoft.Network/networkSecurityGroups/read",
            "Microsoft.Network/networkSecurityGroups/securityRules/read",
            "Microsoft.Network/networkSecurityGroups/securityRules/write",
        ),
        Provider.GCP: (
            "compute.firewalls.get",
            "compute.firewalls.update",
            "compute.firewalls.create",
            "compute.networks.updatePolicy",
        ),
    }

    def plan(
        self, finding: Finding, resource: Resource, params: Mapping[str, Any], settings: Settings
    ) -> Plan:
        """Narrow the offending rules of the finding's NSG or firewall."""
        allow = allowed_cidrs(params)
        if finding.check not in PORT_SETS:
            raise PlanRefused(f"restrict_ingress does not fix {finding.check!r}")
        sensitive: tuple[PortRange, ...] = getattr(settings, PORT_SETS[finding.check])
        match resource.provider:
            case Provider.AZURE:
                changes = plan_nsg(resource.raw, sensitive, allow)
            case Provider.GCP:
                changes = plan_firewall(resource.raw, resource.id, sensitive, allow)
        changes = refuse_if_empty(changes)
        ports = ", ".join(str(p) for p in finding.details.get("ports", [])) or "sensitive ports"
        kept = f"; {', '.join(allow)} keep{'s' if len(allow) == 1 else ''} access" if allow else ""
        reaches = finding.details.get("reaches") or []
        return Plan(
            intent=self.name,
            finding=finding.id,
            resource=resource.id,
            provider=resource.provider,
            summary=(
                f"stop internet access to {ports} through {len(changes)} rule change(s) "
                f"on {resource.name}{kept}"
            ),
            changes=tuple(changes),
            reversible=True,
            blast_radius=(
                f"internet traffic to {ports} stops reaching {len(reaches)} "
                f"instance(s); other ports and non-internet sources are unchanged"
                f"{kept}"
            ),
            permissions=self.permissions[resource.provider],
            params={"allow": allow} if allow else {},
        )
