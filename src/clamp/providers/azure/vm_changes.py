"""Containment of an Azure VM in ARM's shapes (pure: the changes ``VmService``,
``DiskService`` and ``NetworkService`` apply).

Marks are the VM's ``tags``; power states are the instance view's ``PowerState/…``
codes, changed by ``begin_deallocate``, ``begin_power_off`` and ``begin_start``;
snapshots are ``Copy`` snapshots of the managed disks (``Microsoft.Compute/snapshots``,
in the VM's resource group and region); the quarantine is an NSG of the VM's own (deny all
inbound and outbound at priority 110, an optional SSH/RDP allowance at 100) that every NIC
of the VM is put on, their public IPs detached if asked (the IP resources are kept).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from clamp.errors import NothingToDo, PlanRefused
from clamp.model import Change, ChangeOp, ChangeType, Provider, Resource
from clamp.providers.containment import (
    QUARANTINE,
    Disks,
    Power,
    PowerState,
    Quarantine,
    VmChanges,
    quarantine_name,
    stamped_name,
)

NAME_MAX = 80  # Microsoft.Compute/snapshots and Microsoft.Network/networkSecurityGroups
# The instance view's power codes, and the VirtualMachinesOperations call reaching each.
CODES = {
    PowerState.RUNNING: ("PowerState/running", "begin_start"),
    PowerState.STOPPED: ("PowerState/stopped", "begin_power_off"),
    PowerState.DEALLOCATED: ("PowerState/deallocated", "begin_deallocate"),
}
EFFECTS = {
    PowerState.DEALLOCATED: "deallocated: compute billing stops and a dynamic public IP is "
    "released",
    PowerState.STOPPED: "powered off: the host stays allocated (and billed)",
}


class AzureVmChanges(VmChanges):
    """An Azure VM's tags, power state, managed disks, deletion and quarantine NSG."""

    provider = Provider.AZURE
    cloud = "Azure"
    noun = "VM"
    power_states = frozenset({PowerState.STOPPED, PowerState.DEALLOCATED})

    def marks(self, vm: Resource) -> dict[str, str]:
        """The VM's tags."""
        return dict(vm.tags)

    def mark_value(self, value: str) -> str:
        """Tag values are kept as given."""
        return value

    def mark(self, vm: Resource, key: str, value: str) -> Change:
        """The VM's tags with ``key: value`` added (ARM replaces the tags as a whole)."""
        tags = dict(vm.tags)
        return Change(
            ChangeOp.UPDATE,
            vm.id,
            ChangeType.AZURE_VM_TAGS,
            {"tags": tags},
            {"tags": {**tags, key: value}},
            "VirtualMachinesOperations.begin_update",
        )

    def power(self, vm: Resource) -> Power:
        """The instance view's power code (the ``power_state`` facet)."""
        now = vm.facets.get("power_state")
        state = next((s for s, (code, _) in CODES.items() if code == now), PowerState.OTHER)
        return Power(state, str(now))

    def power_change(self, vm: Resource, wanted: PowerState) -> Change:
        """The VM's power code, from what it is to ``wanted``'s."""
        if wanted not in CODES:
            raise PlanRefused(f"Azure cannot take a VM to {wanted}")
        code, method = CODES[wanted]
        return Change(
            ChangeOp.UPDATE,
            vm.id,
            ChangeType.AZURE_VM_POWER,
            {"powerState": vm.facets.get("power_state")},
            {"powerState": code},
            f"VirtualMachinesOperations.{method}",
        )

    def power_effects(self, wanted: PowerState) -> str:
        """Deallocating releases the host and a dynamic public IP; powering off does not."""
        return EFFECTS.get(wanted, "")

    def disks(self, vm: Resource) -> Disks:
        """The ARM ids of the VM's managed disks (OS first); unmanaged disks are skipped."""
        profile = (vm.raw.get("properties") or {}).get("storageProfile") or {}
        entries = [e for e in (profile.get("osDisk"), *(profile.get("dataDisks") or [])) if e]
        ids: list[str] = []
        skipped: list[str] = []
        for entry in entries:
            disk_id = str((entry.get("managedDisk") or {}).get("id") or "")
            if disk_id:
                ids.append(disk_id)
            else:
                skipped.append(f"{entry.get('name') or 'a disk'} (unmanaged: copy its VHD by hand)")
        return Disks(tuple(dict.fromkeys(ids)), tuple(skipped))

    def snapshot_name(self, disk: str, incident: str, stamp: str) -> str:
        """1-80 letters, digits, ``_.-``, starting with a letter or digit."""
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{disk}-{incident}")
        base = re.sub(r"^[^A-Za-z0-9]+", "", base)
        return stamped_name(base, stamp, NAME_MAX, f"{disk}\x00{incident}")

    def snapshot(self, vm: Resource, source: str, key: str, value: str, stamp: str) -> Change:
        """A ``Copy`` snapshot of a managed disk, tagged, in the VM's group and region."""
        disk = source.rstrip("/").rsplit("/", 1)[-1]
        name = self.snapshot_name(disk, value, stamp)
        group_id = vm.id.split("/providers/", 1)[0]
        body = {
            "location": vm.raw.get("location"),
            "tags": {key: value},
            "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source}},
        }
        return Change(
            ChangeOp.CREATE,
            f"{group_id}/providers/{ChangeType.AZURE_SNAPSHOT}/{name}",
            ChangeType.AZURE_SNAPSHOT,
            None,
            body,
            "SnapshotsOperations.begin_create_or_update",
        )

    def deletion(self, vm: Resource) -> Change:
        """``begin_delete`` of the VM."""
        return Change(
            ChangeOp.DELETE,
            vm.id,
            ChangeType.AZURE_VM_LIFECYCLE,
            dict(vm.raw),
            None,
            "VirtualMachinesOperations.begin_delete",
        )

    def deletion_losses(self, vm: Resource) -> str:
        """Which disks and NICs go with the VM (``deleteOption: Delete``) and which stay."""
        props = vm.raw.get("properties") or {}
        profile = props.get("storageProfile") or {}
        disks = [e for e in (profile.get("osDisk"), *(profile.get("dataDisks") or [])) if e]
        nics = (props.get("networkProfile") or {}).get("networkInterfaces") or []
        named = [
            *((str(d.get("name") or "a disk"), _delete_option(d)) for d in disks),
            *(
                (str(n.get("id", "")).rsplit("/", 1)[-1] or "a NIC", _delete_option(n))
                for n in nics
            ),
        ]
        deleted = [name for name, option in named if option.lower() == "delete"]
        kept = [name for name, option in named if option.lower() != "delete"]
        return (
            f"deleted with it (deleteOption Delete): {', '.join(deleted) or 'nothing'}; "
            f"kept (detached): {', '.join(kept) or 'nothing'}"
        )

    def quarantine(
        self,
        vm: Resource,
        context: Sequence[Resource],
        forensics: Sequence[str],
        drop_ips: bool,
    ) -> Quarantine:
        """Create a deny-all NSG for the VM and move every NIC of the VM onto it."""
        name = quarantine_name(vm, NAME_MAX)
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
            ChangeType.AZURE_NSG,
            None,
            nsg,
            "NetworkSecurityGroupsOperations.begin_create_or_update",
        )
        moves = tuple(_nic_move(nic, nsg_id, drop_ips) for nic in nics)
        return Quarantine(
            changes=(create, *moves),
            summary=(
                f"isolate {vm.name}: create NSG {name} (deny all in and out), then put "
                f"{', '.join(n.name for n in nics)} on it"
            ),
            restores="its NICs' previous NSGs",
            public_ips="the public IP resources are kept, so undo re-attaches the same addresses",
        )


def _delete_option(entry: Mapping[str, Any]) -> str:
    """An ARM reference's ``deleteOption`` (on the entry or in its ``properties``)."""
    option = entry.get("deleteOption") or (entry.get("properties") or {}).get("deleteOption")
    return str(option or "Detach")


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
        ChangeType.AZURE_NIC_ISOLATION,
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
