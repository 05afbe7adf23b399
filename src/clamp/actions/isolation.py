"""``isolate_instance``: cut a VM off the network, except an optional forensics range.

- Azure: a quarantine NSG of the VM's own (deny all inbound and outbound at priority 110,
  an optional SSH/RDP allowance from a forensics range at 100) goes on every NIC of the
  VM; with ``drop_public_ip`` the NICs' public IPs are detached too (the IP resources are
  kept). Undo puts the NICs back on their NSGs and IPs, then deletes the quarantine NSG.
- GCP: the instance gets its own quarantine network tag, which deny-all ingress and egress
  firewalls (priority 1) target, plus the optional forensics allowance (priority 0, above
  the denies); with ``drop_public_ip`` its external access configs are removed. Undo
  gives the external IPs back, removes the tag, then the rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.ingress_common import checked_cidr
from clamp.actions.interface import INTENTS, Containment
from clamp.actions.params import checked_params
from clamp.config import Settings
from clamp.model import Plan, Provider, Resource
from clamp.providers.factory import vm_changes


@INTENTS.register("isolate_instance")
class IsolateInstance(Containment):
    """Cut a VM off the network, except an optional forensics range.

    Azure: a quarantine NSG (deny all inbound and outbound) on every NIC of the VM;
    GCP: a quarantine network tag that highest-priority deny-all ingress and egress
    firewalls target."""

    name = "isolate_instance"
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "forensics_cidr": {
                "type": "string",
                "format": "cidr",
                "description": "a range that keeps SSH/RDP access for forensics",
            },
            "drop_public_ip": {
                "type": "boolean",
                "default": False,
                "description": "also take the VM's public IPs (GCP: external access configs) off",
            },
        },
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Network/networkInterfaces/read",
            "Microsoft.Network/networkInterfaces/write",
            "Microsoft.Network/networkSecurityGroups/write",
            "Microsoft.Network/networkSecurityGroups/delete",
            "Microsoft.Network/networkSecurityGroups/join/action",
        ),
        Provider.GCP: (
            "compute.instances.get",
            "compute.instances.setTags",
            "compute.firewalls.create",
            "compute.firewalls.delete",
            "compute.networks.updatePolicy",
            "compute.zoneOperations.get",
            "compute.globalOperations.get",
        ),
    }

    @classmethod
    def check_values(cls, params: Mapping[str, Any]) -> None:
        """``forensics_cidr`` must be a forensics network, never (most of) the internet."""
        if params.get("forensics_cidr"):
            checked_cidr(params["forensics_cidr"], "forensics_cidr")

    def contain(
        self,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
        *,
        origin: Resource | None = None,
    ) -> Plan:
        """The quarantine for this VM alone, then the VM put into it."""
        checked = checked_params(self.name, self.params_schema, params)
        cidr = checked.get("forensics_cidr")
        forensics = [checked_cidr(cidr, "forensics_cidr")] if cidr else []
        drop = bool(checked["drop_public_ip"])
        quarantine = vm_changes(resource.provider).quarantine(resource, context, forensics, drop)
        radius = (
            f"{resource.name} can no longer send or receive traffic"
            + (f" except SSH/RDP from {', '.join(forensics)}" if forensics else "")
            + "; connections already open may live on until they end; other VMs are "
            "unaffected (the quarantine applies to this VM alone); undo restores "
            + quarantine.restores
            + (f"; its public IPs are taken off ({quarantine.public_ips})" if drop else "")
        )
        return Plan(
            intent=self.name,
            finding="",
            resource=resource.id,
            provider=resource.provider,
            summary=quarantine.summary,
            changes=quarantine.changes,
            reversible=True,
            blast_radius=radius,
            permissions=self.permissions[resource.provider],
            params=checked,
        )
