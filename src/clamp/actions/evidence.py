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

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from clamp.actions.containment import TAG
from clamp.actions.interface import INTENTS, NO_PARAMS, Containment
from clamp.actions.params import checked_params
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Plan, Provider, Resource
from clamp.providers.factory import vm_changes

STAMP = "%Y%m%dt%H%M%S"


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
        vm = vm_changes(resource.provider)
        disks = vm.disks(resource)
        skipped = disks.skipped
        changes = [vm.snapshot(resource, disk, TAG, incident, stamp) for disk in disks.sources]
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


def snapshot_name(disk: str, incident: str, stamp: str, provider: Provider) -> str:
    """``<disk>-<incident>-<stamp>`` within ``provider``'s naming rules for snapshots
    (``VmChanges.snapshot_name``)."""
    return vm_changes(provider).snapshot_name(disk, incident, stamp)


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
        vm = vm_changes(resource.provider)
        change, lost = vm.deletion(resource), vm.deletion_losses(resource)
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
