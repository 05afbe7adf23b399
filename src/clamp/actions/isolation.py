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

from clamp.actions.ingress_common import allowed_cidrs
from clamp.actions.interface import INTENTS, Containment
from clamp.actions.params import checked_params
from clamp.config import Settings
from clamp.errors import NothingToDo, PlanRefused
from clamp.model import Change, ChangeOp, ChangeType, Plan, Provider, Resource
from clamp.providers.gcp.instance import access_configs

QUARANTINE = "clamp-quarantine"
FIREWALL_TYPE = ChangeType.GCP_FIREWALL
GCP_TAGS = ChangeType.GCP_INSTANCE_TAGS
NSG_TYPE = ChangeType.AZURE_NSG
NIC_TYPE = ChangeType.AZURE_NIC_ISOLATION
GCP_ACCESS = ChangeType.GCP_INSTANCE_ACCESS


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
        forensics = allowed_cidrs({"allow": [cidr]}) if cidr else []
        drop = bool(checked["drop_public_ip"])
        if resource.provider == Provider.AZURE:
            changes, summary = _azure_quarantine(resource, context, forensics, drop)
            how = "its NICs' previous NSGs"
            ips = "the public IP resources are kept, so undo re-attaches the same addresses"
        else:
            changes, summary = _gcp_quarantine(resource, forensics, drop)
            how = "the tag, then the rules"
            ips = (
                "an ephemeral external IP is released: undo asks for the same address, and if "
                "another project took it meanwhile the undo fails verification and says so"
            )
        radius = (
            f"{resource.name} can no longer send or receive traffic"
            + (f" except SSH/RDP from {', '.join(forensics)}" if forensics else "")
            + "; connections already open may live on until they end; other VMs are "
            f"unaffected (the quarantine applies to this VM alone); undo restores {how}"
            + (f"; its public IPs are taken off ({ips})" if drop else "")
        )
        return Plan(
            intent=self.name,
            finding="",
            resource=resource.id,
            provider=resource.provider,
            summary=summary,
            changes=changes,
            reversible=True,
            blast_radius=radius,
            permissions=self.permissions[resource.provider],
            params=checked,
        )


def _quarantine_name(vm: Resource, limit: int) -> str:
    return f"{QUARANTINE}-{vm.name}"[:limit].rstrip("-")


def _azure_quarantine(
    vm: Resource, context: Sequence[Resource], forensics: Sequence[str], drop_ips: bool
) -> tuple[tuple[Change, ...], str]:
    """Create a deny-all NSG for the VM and move every NIC of the VM onto it."""
    name = _quarantine_name(vm, 80)
    group_id = vm.id.split("/providers/", 1)[0]
    nsg_id = f"{group_id}/providers/Microsoft.Network/networkSecurityGroups/{name}"
    wanted = {i.lower() for i in vm.facets.get("network_interfaces") or ()}
    nics = [r for r in context if r.id.lower() in wanted]
    if not nics:
        raise PlanRefused(f"VM {vm.name} has no network interface to isolate")
    moving = [n for n in nics if str(n.facets.get("nsg") or "").lower() != nsg_id.lower()]
    if not moving:
        raise NothingToDo(f"VM {vm.name} is already isolated by NSG {name}")
    if len(moving) < len(nics):
        raise PlanRefused(
            f"VM {vm.name} is partly in quarantine NSG {name}; review its NICs by hand"
        )
    rules = [
        *(
            [_nsg_rule("clamp-forensics-in", 100, "Inbound", "Allow", forensics)]
            if forensics
            else []
        ),
        _nsg_rule("clamp-deny-all-in", 110, "Inbound", "Deny"),
        _nsg_rule("clamp-deny-all-out", 110, "Outbound", "Deny"),
    ]
    nsg = {
        "location": vm.raw.get("location"),
        "tags": {QUARANTINE: vm.name},
        "properties": {"securityRules": rules},
    }
    create = Change(
        ChangeOp.CREATE,
        nsg_id,
        NSG_TYPE,
        None,
        nsg,
        "NetworkSecurityGroupsOperations.begin_create_or_update",
    )
    moves = tuple(_nic_move(nic, nsg_id, drop_ips) for nic in nics)
    summary = (
        f"isolate {vm.name}: create NSG {name} (deny all in and out), then put "
        f"{', '.join(n.name for n in nics)} on it"
    )
    return (create, *moves), summary


def _nic_move(nic: Resource, nsg_id: str, drop_ips: bool) -> Change:
    """Put a NIC on the quarantine NSG (and take its public IPs off, if asked)."""
    before: dict[str, Any] = {
        "networkSecurityGroup": {"id": nic.facets["nsg"]} if nic.facets.get("nsg") else None
    }
    after: dict[str, Any] = {"networkSecurityGroup": {"id": nsg_id}}
    if drop_ips:
        configs = (nic.raw.get("properties") or {}).get("ipConfigurations") or []
        public = {
            str(c.get("name")): {"id": str(ip["id"])}
            for c in configs
            if isinstance(ip := (c.get("properties") or {}).get("publicIPAddress"), Mapping)
        }
        if public:
            before["publicIPAddresses"] = public
            after["publicIPAddresses"] = dict.fromkeys(public)
    return Change(
        ChangeOp.UPDATE,
        nic.id,
        NIC_TYPE,
        before,
        after,
        "NetworkInterfacesOperations.begin_create_or_update",
    )


def _nsg_rule(
    name: str, priority: int, direction: str, access: str, sources: Sequence[str] = ()
) -> dict[str, Any]:
    """One quarantine NSG rule: deny everything, or allow SSH/RDP from ``sources``."""
    props: dict[str, Any] = {
        "priority": priority,
        "direction": direction,
        "access": access,
        "protocol": "Tcp" if sources else "*",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
    }
    if sources:
        props |= {"sourceAddressPrefixes": list(sources), "destinationPortRanges": ["22", "3389"]}
    else:
        props |= {"sourceAddressPrefix": "*", "destinationPortRange": "*"}
    props["description"] = "Clamp isolate_instance: quarantine"
    return {"name": name, "properties": props}


def _gcp_quarantine(
    instance: Resource, forensics: Sequence[str], drop_ips: bool
) -> tuple[tuple[Change, ...], str]:
    """Deny-all firewalls for the instance's own quarantine tag, then the tag."""
    tag = _quarantine_name(instance, 63)
    tags = dict(instance.raw.get("tags") or {})
    items = list(tags.get("items") or [])
    if tag in items:
        raise NothingToDo(f"instance {instance.name} already carries quarantine tag {tag}")
    networks = instance.facets.get("networks") or ()
    if not networks:
        raise PlanRefused(f"instance {instance.name} has no network interface to isolate")
    project = instance.scope
    rules = [
        _firewall(project, f"{tag}-in", networks[0], tag, "INGRESS", 1, denied=True),
        _firewall(project, f"{tag}-out", networks[0], tag, "EGRESS", 1, denied=True),
        *(
            [_firewall(project, f"{tag}-forensics", networks[0], tag, "INGRESS", 0, forensics)]
            if forensics
            else []
        ),
    ]
    change = Change(
        ChangeOp.UPDATE,
        instance.id,
        GCP_TAGS,
        {"items": items, "fingerprint": tags.get("fingerprint", "")},
        {"items": [*items, tag]},
        "InstancesClient.set_tags_unary",
    )
    external = access_configs(instance.raw)
    drops = (
        [
            Change(
                ChangeOp.UPDATE,
                instance.id,
                GCP_ACCESS,
                {"accessConfigs": external},
                {"accessConfigs": {nic: [] for nic in external}},
                "InstancesClient.delete_access_config_unary",
            )
        ]
        if drop_ips and any(external.values())
        else []
    )
    summary = f"isolate {instance.name}: deny-all firewalls for tag {tag}, then tag it"
    return (*rules, change, *drops), summary + (", then drop its external IPs" if drops else "")


def _firewall(
    project: str,
    name: str,
    network: str,
    tag: str,
    direction: str,
    priority: int,
    allow: Sequence[str] = (),
    *,
    denied: bool = False,
) -> Change:
    """A firewall CREATE for the quarantine (deny all, or allow SSH/RDP from ``allow``)."""
    body: dict[str, Any] = {
        "name": name,
        "network": network,
        "direction": direction,
        "priority": priority,
        "targetTags": [tag],
        "description": "Clamp isolate_instance: quarantine",
    }
    ranges = list(allow) or ["0.0.0.0/0"]
    body["destinationRanges" if direction == "EGRESS" else "sourceRanges"] = ranges
    if denied:
        body["denied"] = [{"IPProtocol": "all"}]
    else:
        body["allowed"] = [{"IPProtocol": "tcp", "ports": ["22", "3389"]}]
    target = f"//compute.googleapis.com/projects/{project}/global/firewalls/{name}"
    return Change(
        ChangeOp.CREATE, target, FIREWALL_TYPE, None, body, "FirewallsClient.insert_unary"
    )
