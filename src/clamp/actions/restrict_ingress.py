"""``restrict_ingress``: stop internet traffic to sensitive ports, narrowly and reversibly.

The offending rules lose their internet sources: an Azure NSG's security rules, a GCP
firewall's source ranges (the cloud's ``IngressChanges``, ``clamp.providers.ingress``), or
the rule of the network firewall policy that opens the port (``layer_fix``).
Private sources are always kept, ``--allow`` CIDRs are added (``ingress_common``), and
rules that also open other ports are split so that traffic stays exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.ingress_common import allowed_cidrs, describe_ports, keep_sources, plural
from clamp.actions.interface import INTENTS, Category, Intent
from clamp.actions.layer_fix import plan_layer_fix
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Finding, Plan, PortRange, Provider, Resource
from clamp.providers.factory import ingress_changes
from clamp.providers.ingress import IngressFixes

PORT_SETTINGS = {"exposed-admin-port": "admin_ports", "exposed-database-port": "database_ports"}
# Distinct names for the split-off rules per check, so fixing the admin ports and then the
# database ports of the same mixed GCP firewall does not clash on the new firewall's name.
SUFFIXES = {"exposed-admin-port": "restricted", "exposed-database-port": "restricted-db"}
GONE = "finding no longer present on the resource; run `clamp scan`"


@INTENTS.register("restrict_ingress")
class RestrictIngress(Intent):
    """Remove the internet from the sources of the rules that open sensitive ports."""

    name = "restrict_ingress"
    category = Category.REMEDIATION
    reversible = True
    fixes = ("exposed-admin-port", "exposed-database-port")
    preferred = fixes
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
            # undoing a split deletes the rule it added
            "Microsoft.Network/networkSecurityGroups/securityRules/delete",
            # a security admin rule of Virtual Network Manager (actions/layer_fix.py)
            "Microsoft.Network/networkManagers/securityAdminConfigurations/ruleCollections/rules/read",
            "Microsoft.Network/networkManagers/securityAdminConfigurations/ruleCollections/rules/write",
            # undoing a split deletes the admin rule it added
            "Microsoft.Network/networkManagers/securityAdminConfigurations/ruleCollections/rules/delete",
            "Microsoft.Network/networkManagers/listDeploymentStatus/action",
            "Microsoft.Network/networkManagers/commit/action",
        ),
        Provider.GCP: (
            "compute.firewalls.get",
            "compute.firewalls.update",
            "compute.firewalls.create",
            "compute.firewalls.delete",  # undoing a split deletes the firewall it added
            "compute.networks.updatePolicy",
            "compute.globalOperations.get",
            # a rule of a network firewall policy (actions/layer_fix.py)
            "compute.firewallPolicies.get",
            "compute.firewallPolicies.update",
            "compute.regionFirewallPolicies.get",
            "compute.regionFirewallPolicies.update",
            "compute.regionOperations.get",
        ),
    }

    @classmethod
    def check_values(cls, params: Mapping[str, Any]) -> None:
        """``allow`` must name networks that keep access, never (most of) the internet."""
        allowed_cidrs(params)

    def plan(
        self,
        finding: Finding,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """Narrow the offending rules of the finding's NSG or firewall (pure, no I/O)."""
        allow = allowed_cidrs(params)
        if finding.check not in PORT_SETTINGS:
            raise PlanRefused(f"restrict_ingress does not fix {finding.check!r}")
        if finding.resource.lower() != resource.id.lower():
            raise PlanRefused(f"{resource.id} is not the resource of finding {finding.id}")
        sensitive: tuple[PortRange, ...] = getattr(settings, PORT_SETTINGS[finding.check])
        ingress = ingress_changes(resource.provider)
        if resource.type != ingress.resource_type:
            layered = plan_layer_fix(
                self.name, finding, resource, allow, sensitive, self.permissions[resource.provider]
            )
            if layered is not None:
                return layered
            raise PlanRefused(f"restrict_ingress cannot change a {resource.type}")
        fixes = ingress.narrow(
            resource,
            sensitive,
            lambda sources, internet: keep_sources(sources, allow, internet),
            SUFFIXES[finding.check],
        )
        if not fixes.fixes:
            raise PlanRefused(GONE)
        return Plan(
            intent=self.name,
            finding=finding.id,
            resource=resource.id,
            provider=resource.provider,
            summary=(
                f"stop internet access to {describe_ports(fixes.closed)} on {ingress.kind} "
                f"{resource.name}: " + "; ".join(fix.how for fix in fixes.fixes)
            ),
            changes=fixes.changes,
            reversible=True,
            blast_radius=_blast_radius(fixes, finding, ingress.noun),
            permissions=self.permissions[resource.provider],
            params={"allow": allow} if allow else {},
        )


def _blast_radius(fixes: IngressFixes, finding: Finding, noun: str) -> str:
    """What traffic stops, who keeps access, and what else may notice."""
    reaches = finding.details.get("reaches") or []
    listed = {str(r.get("vm") or r.get("instance")) for r in reaches if isinstance(r, Mapping)}
    # The check lists at most a hundred reached VMs and counts them all in reaches_total.
    total = finding.details.get("reaches_total")
    targets = total if isinstance(total, int) and total > len(listed) else len(listed)
    kept = list(dict.fromkeys(s for fix in fixes.fixes for s in fix.kept))
    parts = [
        f"{describe_ports(fixes.closed)} from the internet to {plural(targets, noun)} stops"
        if targets
        else f"{describe_ports(fixes.closed)} from the internet stops (no {noun} was reached "
        "at the last scan)",
        f"{', '.join(kept)} keep{'s' if len(kept) == 1 else ''} access"
        if kept
        else "no source keeps access to these ports through the changed rules",
        *(fix.warning for fix in fixes.fixes if fix.warning),
        *fixes.notes,
        *(() if fixes.notes else ("traffic to other ports is unchanged",)),
    ]
    return "; ".join(parts)
