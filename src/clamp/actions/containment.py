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

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.interface import INTENTS, NO_PARAMS, Containment
from clamp.actions.params import checked_params
from clamp.config import Settings
from clamp.errors import NothingToDo, PlanRefused
from clamp.model import Change, ChangeOp, ChangeType, Plan, Provider, Resource

TAG = "clamp-incident"
AZURE_TAGS = ChangeType.AZURE_VM_TAGS
AZURE_POWER = ChangeType.AZURE_VM_POWER
GCP_LABELS = ChangeType.GCP_INSTANCE_LABELS
GCP_STATUS = ChangeType.GCP_INSTANCE_STATUS
STOPPED = {"deallocate": "PowerState/deallocated", "power_off": "PowerState/stopped"}


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
        if _marks(resource).get(TAG) in (incident, label_value(incident)):
            raise NothingToDo(f"{resource.name} is already marked {TAG}={incident}")
        if resource.provider == Provider.AZURE:
            tags = dict(resource.tags)
            change = Change(
                ChangeOp.UPDATE,
                resource.id,
                AZURE_TAGS,
                {"tags": tags},
                {"tags": {**tags, TAG: incident}},
                "VirtualMachinesOperations.begin_update",
            )
        else:
            labels = _marks(resource)
            change = Change(
                ChangeOp.UPDATE,
                resource.id,
                GCP_LABELS,
                {"labels": labels, "labelFingerprint": resource.raw.get("labelFingerprint", "")},
                {"labels": {**labels, TAG: label_value(incident)}},
                "InstancesClient.set_labels_unary",
            )
        return _plan(
            self.name,
            resource,
            change,
            f"mark {resource.name} {TAG}={incident}",
            "none: other tags and labels are kept; automation keyed on tags may notice",
            self.permissions,
            checked,
        )


def _marks(vm: Resource) -> dict[str, str]:
    """The VM's tags (Azure) or labels (GCP)."""
    if vm.provider == Provider.AZURE:
        return dict(vm.tags)
    return dict(vm.raw.get("labels") or {})


def label_value(value: str) -> str:
    """``value`` as a GCP label value (lowercase letters, digits, ``_`` and ``-``)."""
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]


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
        if resource.provider == Provider.AZURE:
            now = resource.facets.get("power_state")
            wanted = STOPPED[checked["mode"]]
            if now != "PowerState/running":
                raise NothingToDo(f"VM {resource.name} is {now}, not running: nothing to stop")
            change = Change(
                ChangeOp.UPDATE,
                resource.id,
                AZURE_POWER,
                {"powerState": now},
                {"powerState": wanted},
                f"VirtualMachinesOperations.begin_{'deallocate' if 'deall' in wanted else 'power_off'}",
            )
            radius = (
                f"{resource.name} stops serving; "
                + (
                    "deallocated: compute billing stops and a dynamic public IP is released"
                    if checked["mode"] == "deallocate"
                    else "powered off: the host stays allocated (and billed)"
                )
                + "; disks are kept; undo starts it again"
            )
        else:
            change, radius = _gcp_status(resource, "TERMINATED", "stop")
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
        if resource.provider == Provider.AZURE:
            raise PlanRefused(
                "Azure cannot suspend a VM with its memory kept",
                hint="use stop_instance (deallocate), after snapshot_disks for evidence",
            )
        change, radius = _gcp_status(resource, "SUSPENDED", "suspend")
        return _plan(
            self.name, resource, change, f"suspend {resource.name}", radius, self.permissions, {}
        )


def _gcp_status(instance: Resource, wanted: str, verb: str) -> tuple[Change, str]:
    now = str(instance.raw.get("status", ""))
    if now != "RUNNING":
        raise NothingToDo(f"instance {instance.name} is {now}, not RUNNING: nothing to {verb}")
    change = Change(
        ChangeOp.UPDATE,
        instance.id,
        GCP_STATUS,
        {"status": now},
        {"status": wanted},
        f"InstancesClient.{verb}_unary",
    )
    kept = "memory and disks are kept" if wanted == "SUSPENDED" else "disks are kept"
    return change, f"{instance.name} stops serving; {kept}; undo starts it again"
