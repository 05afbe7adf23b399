"""Containment intents for incident response: mark a VM, stop or suspend it (isolation is
in ``isolation``, evidence and termination in ``evidence``).

They act on a target VM (its ARM id, or ``//compute.googleapis.com/projects/P/zones/Z/
instances/I``), not on a finding, and are verified by re-reading what they changed.

- ``tag_instance`` — tag (Azure) or label (GCP) the VM ``clamp-incident: <incident id>`` so
  humans and other tools see it is under investigation.
- ``stop_instance`` — Azure: deallocate (default; the VM stops costing compute and its
  public IP may be released if dynamic) or power off (keeps the allocation); GCP: stop.
- ``suspend_instance`` — GCP: suspend, which keeps the memory for forensics. Azure has no
  equivalent; the plan is refused with the alternative.

Undo restores the tags/labels, or starts (resumes) the VM again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.interface import INTENTS, NO_PARAMS, Containment
from clamp.actions.params import checked_params
from clamp.config import Settings
from clamp.errors import NothingToDo, PlanRefused
from clamp.model import Change, Plan, Provider, Resource
from clamp.providers.containment import PowerState
from clamp.providers.factory import vm_changes

TAG = "clamp-incident"
STOPPED = {"deallocate": PowerState.DEALLOCATED, "power_off": PowerState.STOPPED}


def _plan(
    name: str,
    vm: Resource,
    change: Change,
    summary: str,
    radius: str,
    permissions: Mapping[Provider, tuple[str, ...]],
    params: Mapping[str, Any],
) -> Plan:
    return Plan(
        intent=name,
        finding="",
        resource=vm.id,
        provider=vm.provider,
        summary=summary,
        changes=(change,),
        reversible=True,
        blast_radius=radius,
        permissions=permissions[vm.provider],
        params=dict(params),
    )


@INTENTS.register("tag_instance")
class TagInstance(Containment):
    """Mark a VM as part of an incident (tag or label ``clamp-incident: <id>``)."""

    name = "tag_instance"
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {"incident": {"type": "string", "description": "the incident id"}},
        "required": ["incident"],
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/write",
        ),
        Provider.GCP: (
            "compute.instances.get",
            "compute.instances.setLabels",
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
        """Add the incident tag or label, keeping every other one."""
        checked = checked_params(self.name, self.params_schema, params)
        incident = str(checked["incident"])
        changes = vm_changes(resource.provider)
        if changes.marks(resource).get(TAG) in (incident, changes.mark_value(incident)):
            raise NothingToDo(f"{resource.name} is already marked {TAG}={incident}")
        change = changes.mark(resource, TAG, incident)
        return _plan(
            self.name,
            resource,
            change,
            f"mark {resource.name} {TAG}={incident}",
            "none: other tags and labels are kept; automation keyed on tags may notice",
            self.permissions,
            checked,
        )


@INTENTS.register("stop_instance")
class StopInstance(Containment):
    """Stop a VM: Azure deallocate (default) or power off; GCP stop."""

    name = "stop_instance"
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "mode": {
                "type": "string",
                "enum": ["deallocate", "power_off"],
                "default": "deallocate",
                "description": "Azure: deallocate (default) or power off; ignored on GCP",
            }
        },
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/deallocate/action",
            "Microsoft.Compute/virtualMachines/powerOff/action",
            "Microsoft.Compute/virtualMachines/start/action",
        ),
        Provider.GCP: (
            "compute.instances.get",
            "compute.instances.stop",
            "compute.instances.start",
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
        """The VM's power state, from running to stopped."""
        checked = checked_params(self.name, self.params_schema, params)
        wanted = STOPPED[checked["mode"]]
        change, radius = _power(resource, wanted, "stop")
        return _plan(
            self.name, resource, change, f"stop {resource.name}", radius, self.permissions, checked
        )


@INTENTS.register("suspend_instance")
class SuspendInstance(Containment):
    """GCP: suspend an instance, keeping its memory for forensics."""

    name = "suspend_instance"
    params_schema: ClassVar[Mapping[str, Any]] = NO_PARAMS
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.GCP: (
            "compute.instances.get",
            "compute.instances.suspend",
            "compute.instances.resume",
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
        """The instance's status, from running to suspended (GCP only)."""
        checked_params(self.name, self.params_schema, params)
        changes = vm_changes(resource.provider)
        if PowerState.SUSPENDED not in changes.power_states:
            raise PlanRefused(
                f"{changes.cloud} cannot suspend a VM with its memory kept",
                hint="use stop_instance (deallocate), after snapshot_disks for evidence",
            )
        change, radius = _power(resource, PowerState.SUSPENDED, "suspend")
        return _plan(
            self.name, resource, change, f"suspend {resource.name}", radius, self.permissions, {}
        )


def _power(vm: Resource, wanted: PowerState, verb: str) -> tuple[Change, str]:
    """The change that takes a running VM to ``wanted``, and its blast radius."""
    changes = vm_changes(vm.provider)
    now = changes.power(vm)
    if now.state is not PowerState.RUNNING:
        raise NothingToDo(
            f"{changes.noun} {vm.name} is {now.shown}, not running: nothing to {verb}"
        )
    effects = changes.power_effects(wanted)
    kept = "memory and disks are kept" if wanted is PowerState.SUSPENDED else "disks are kept"
    radius = f"{vm.name} stops serving; " + (f"{effects}; " if effects else "")
    return changes.power_change(vm, wanted), radius + f"{kept}; undo starts it again"
