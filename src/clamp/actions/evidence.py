"""Evidence and last-resort containment for incident response: snapshot a VM's disks,
terminate a VM.

They act on a target VM (its ARM id, or ``//compute.googleapis.com/projects/P/zones/Z/
instances/I``), not on a finding, and are verified by re-reading what they changed.

- ``snapshot_disks`` — a snapshot of every disk of the VM, tagged (Azure) or labelled (GCP)
  ``clamp-incident: <incident id>``, named ``<disk>-<incident>-<UTC time of the plan>``.
  Azure: a ``Copy`` snapshot of each managed disk (OS and data), in the VM's resource
  group and region; GCP: ``disks.createSnapshot`` of each persistent disk. The snapshots
  are evidence: they are kept, never undone (the VM itself is not changed).
- ``terminate_instance`` — delete the VM. Irreversible: the plan says what goes with it
  (Azure: the disks and NICs set to be deleted with the VM; GCP: the disks with
  ``autoDelete``) and the engine needs an explicit second confirmation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from clamp.actions.containment import TAG, label_value
from clamp.actions.interface import INTENTS, NO_PARAMS, Containment
from clamp.actions.params import checked_params
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Change, ChangeOp, ChangeType, Plan, Provider, Resource

AZURE_SNAPSHOT = ChangeType.AZURE_SNAPSHOT
GCP_SNAPSHOT = ChangeType.GCP_SNAPSHOT
AZURE_LIFECYCLE = ChangeType.AZURE_VM_LIFECYCLE
GCP_LIFECYCLE = ChangeType.GCP_INSTANCE_LIFECYCLE
COMPUTE = "//compute.googleapis.com/projects"
STAMP = "%Y%m%dt%H%M%S"
GCP_NAME_MAX = 63
AZURE_NAME_MAX = 80


def _now() -> datetime:
    """The plan's time (in UTC): part of every snapshot's name."""
    return datetime.now(UTC)


@INTENTS.register("snapshot_disks")
class SnapshotDisks(Containment):
    """Keep evidence: snapshot every disk of a VM, marked with the incident id."""

    name = "snapshot_disks"
    reversible = False  # evidence is kept; nothing of the VM changes, so nothing to restore
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {"incident": {"type": "string", "description": "the incident id"}},
        "required": ["incident"],
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/disks/read",
            "Microsoft.Compute/snapshots/read",
            "Microsoft.Compute/snapshots/write",
            "Microsoft.Compute/snapshots/delete",
        ),
        Provider.GCP: (
            "compute.instances.get",
            "compute.disks.get",
            "compute.disks.createSnapshot",
            "compute.snapshots.create",
            "compute.snapshots.get",
            "compute.snapshots.setLabels",
            "compute.snapshots.delete",
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
        """One snapshot CREATE per disk of the VM; refused when it has no disk to copy."""
        checked = checked_params(self.name, self.params_schema, params)
        incident = str(checked["incident"])
        if not incident.strip():
            raise PlanRefused(f"{self.name} needs a non-empty incident id")
        stamp = _now().strftime(STAMP)
        if resource.provider == Provider.AZURE:
            disks, skipped = _azure_disks(resource)
            changes = [_azure_snapshot(resource, disk, incident, stamp) for disk in disks]
        else:
            disks, skipped = _gcp_disks(resource)
            changes = [_gcp_snapshot(resource, disk, incident, stamp) for disk in disks]
        if not changes:
            raise PlanRefused(
                f"VM {resource.name} has no disk Clamp can snapshot"
                + (f" (not snapshottable: {', '.join(skipped)})" if skipped else ""),
                hint="collect evidence from the VM by hand",
            )
        names = [c.target.rsplit("/", 1)[-1] for c in changes]
        summary = f"snapshot {len(changes)} disk(s) of {resource.name}: {', '.join(names)}"
        if skipped:
            summary += f"; not covered: {', '.join(skipped)}"
        return Plan(
            intent=self.name,
            finding="",
            resource=resource.id,
            provider=resource.provider,
            summary=summary,
            changes=tuple(changes),
            reversible=False,
            blast_radius=(
                f"none for {resource.name}: it keeps running, untouched (the snapshots are "
                "crash-consistent copies); the snapshots are kept as evidence, never undone, "
                "and cost storage until someone deletes them"
            ),
            permissions=self.permissions[resource.provider],
            params=checked,
        )


def _azure_disks(vm: Resource) -> tuple[list[str], list[str]]:
    """The ARM ids of the VM's managed disks (OS first), and what cannot be snapshotted."""
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
    return list(dict.fromkeys(ids)), skipped


def _azure_snapshot(vm: Resource, disk_id: str, incident: str, stamp: str) -> Change:
    disk = disk_id.rstrip("/").rsplit("/", 1)[-1]
    name = snapshot_name(disk, incident, stamp, Provider.AZURE)
    group_id = vm.id.split("/providers/", 1)[0]
    body = {
        "location": vm.raw.get("location"),
        "tags": {TAG: incident},
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": disk_id}},
    }
    return Change(
        ChangeOp.CREATE,
        f"{group_id}/providers/{AZURE_SNAPSHOT}/{name}",
        AZURE_SNAPSHOT,
        None,
        body,
        "SnapshotsOperations.begin_create_or_update",
    )


def _gcp_disks(instance: Resource) -> tuple[list[str], list[str]]:
    """The URLs of the instance's persistent disks (boot first), and what has none."""
    entries = sorted(instance.raw.get("disks") or [], key=lambda d: not d.get("boot"))
    urls: list[str] = []
    skipped: list[str] = []
    for entry in entries:
        source = str(entry.get("source") or "")
        if source:
            urls.append(source)
        else:
            skipped.append(f"{entry.get('deviceName') or 'a disk'} (local SSD: no snapshot)")
    return list(dict.fromkeys(urls)), skipped


def _gcp_snapshot(instance: Resource, source: str, incident: str, stamp: str) -> Change:
    disk = source.rstrip("/").rsplit("/", 1)[-1]
    name = snapshot_name(disk, incident, stamp, Provider.GCP)
    body = {"name": name, "sourceDisk": source, "labels": {TAG: label_value(incident)}}
    return Change(
        ChangeOp.CREATE,
        f"{COMPUTE}/{instance.scope}/global/snapshots/{name}",
        GCP_SNAPSHOT,
        None,
        body,
        "DisksClient.create_snapshot_unary",
    )


def snapshot_name(disk: str, incident: str, stamp: str, provider: Provider) -> str:
    """``<disk>-<incident>-<stamp>`` within the cloud's naming rules.

    GCP: ``[a-z]([-a-z0-9]{0,61}[a-z0-9])?``; Azure: 1-80 letters, digits, ``_.-``,
    starting with a letter or digit. When the name must be shortened, a hash of the disk
    and incident keeps the names of two disks apart."""
    if provider == Provider.GCP:
        limit = GCP_NAME_MAX
        base = re.sub(r"[^a-z0-9-]+", "-", f"{disk}-{incident}".lower())
        base = re.sub(r"-{2,}", "-", base).strip("-")
        if not base[:1].isalpha():
            base = f"s-{base}".rstrip("-")
    else:
        limit = AZURE_NAME_MAX
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{disk}-{incident}")
        base = re.sub(r"^[^A-Za-z0-9]+", "", base)
    room = limit - len(stamp) - 1
    if len(base) > room:
        digest = hashlib.sha256(f"{disk}\x00{incident}".encode()).hexdigest()[:8]
        base = f"{base[: room - len(digest) - 1].rstrip('-_.')}-{digest}"
    return f"{base}-{stamp}" if base else stamp


@INTENTS.register("terminate_instance")
class TerminateInstance(Containment):
    """Delete a VM for good (irreversible; snapshot its disks first for evidence)."""

    name = "terminate_instance"
    reversible = False
    irreversible = True
    params_schema: ClassVar[Mapping[str, Any]] = NO_PARAMS
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/delete",
            # Disks and NICs set to be deleted with the VM are deleted with it.
            "Microsoft.Compute/disks/delete",
            "Microsoft.Network/networkInterfaces/delete",
        ),
        Provider.GCP: (
            "compute.instances.get",
            "compute.instances.delete",
            "compute.zoneOperations.get",
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
        """The VM's deletion, with its raw object as the before-image (for the record)."""
        checked = checked_params(self.name, self.params_schema, params)
        if resource.provider == Provider.AZURE:
            kind, call = AZURE_LIFECYCLE, "VirtualMachinesOperations.begin_delete"
            lost = _azure_losses(resource)
        else:
            kind, call = GCP_LIFECYCLE, "InstancesClient.delete_unary"
            lost = _gcp_losses(resource)
        change = Change(ChangeOp.DELETE, resource.id, kind, dict(resource.raw), None, call)
        return Plan(
            intent=self.name,
            finding="",
            resource=resource.id,
            provider=resource.provider,
            summary=f"delete VM {resource.name} (irreversible)",
            changes=(change,),
            reversible=False,
            irreversible=True,
            blast_radius=(
                f"{resource.name} is deleted: its compute, memory and running state are lost "
                f"for good; {lost}; run snapshot_disks first to keep the evidence"
            ),
            permissions=self.permissions[resource.provider],
            params=checked,
        )


def _delete_option(entry: Mapping[str, Any]) -> str:
    """An ARM reference's ``deleteOption`` (on the entry or in its ``properties``)."""
    option = entry.get("deleteOption") or (entry.get("properties") or {}).get("deleteOption")
    return str(option or "Detach")


def _azure_losses(vm: Resource) -> str:
    """Which of the VM's disks and NICs go with it (``deleteOption: Delete``) and which stay."""
    props = vm.raw.get("properties") or {}
    profile = props.get("storageProfile") or {}
    disks = [e for e in (profile.get("osDisk"), *(profile.get("dataDisks") or [])) if e]
    nics = (props.get("networkProfile") or {}).get("networkInterfaces") or []
    named = [
        *((str(d.get("name") or "a disk"), _delete_option(d)) for d in disks),
        *((str(n.get("id", "")).rsplit("/", 1)[-1] or "a NIC", _delete_option(n)) for n in nics),
    ]
    deleted = [name for name, option in named if option.lower() == "delete"]
    kept = [name for name, option in named if option.lower() != "delete"]
    return (
        f"deleted with it (deleteOption Delete): {', '.join(deleted) or 'nothing'}; "
        f"kept (detached): {', '.join(kept) or 'nothing'}"
    )


def _gcp_losses(instance: Resource) -> str:
    """Which of the instance's disks go with it (``autoDelete``) and which stay."""
    disks = instance.raw.get("disks") or []

    def label(d: Mapping[str, Any]) -> str:
        name = str(d.get("source") or "").rsplit("/", 1)[-1] or str(d.get("deviceName") or "")
        return f"{name} (boot)" if d.get("boot") else name or "a local SSD"

    deleted = [label(d) for d in disks if d.get("autoDelete") or not d.get("source")]
    kept = [label(d) for d in disks if not d.get("autoDelete") and d.get("source")]
    external = any(
        c.get("natIP") or c.get("type") == "ONE_TO_ONE_NAT"
        for nic in instance.raw.get("networkInterfaces") or []
        for c in nic.get("accessConfigs") or []
    )
    return (
        f"disks deleted with it (autoDelete): {', '.join(deleted) or 'none'}; "
        f"disks kept: {', '.join(kept) or 'none'}"
        + ("; its external IP is released unless it is a reserved address" if external else "")
    )
