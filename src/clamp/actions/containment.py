"""Containment intents for incident response: mark a VM, stop it, suspend it.

They act on a target VM (its ARM id, or ``//compute.googleapis.com/projects/P/zones/Z/
instances/I``), not on a finding, and are verified by re-reading what they changed.

- ``tag_instance`` — tag (Azure) or label (GCP) the VM ``clamp-incident: <incident id>`` so
  humans and other tools see it is under investigation.
- ``stop_instance`` — Azure: deallocate (default; the VM stops costing compute and its
  public IP may be released if dynamic) or power off (keeps the allocation); GCP: stop.
- ``suspend_instance`` — GCP: suspend, which keeps the memory for forensics. Azure has no
  equivalent; the plan is refused with the alternative.
- ``isolate_instance`` — GCP: the instance gets its own quarantine network tag, which
  deny-all ingress and egress firewalls (priority 1) target, plus an optional SSH/RDP
  allowance from a forensics range (priority 0, above the denies). Azure isolation (a
  quarantine NSG on every NIC) is not built yet.

Undo restores the tags/labels, or starts (resumes) the VM again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.ingress_common import allowed_cidrs
from clamp.actions.interface import INTENTS, NO_PARAMS, Containment
from clamp.actions.params import checked_params
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Change, ChangeOp, Plan, Provider, Resource

TAG = "clamp-incident"
AZURE_TAGS = "Microsoft.Compute/virtualMachines/tags"
AZURE_POWER = "Microsoft.Compute/virtualMachines/powerState"
GCP_LABELS = "compute#instance/labels"
GCP_STATUS = "compute#instance/status"
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
        Provider.GCP: ("compute.instances.get", "compute.instances.setLabels"),
    }

    def contain(
        self,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """Add the incident tag or label, keeping every other one."""
        checked = checked_params(self.name, self.params_schema, params)
        incident = str(checked["incident"])
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
            value = re.sub(r"[^a-z0-9_-]", "-", incident.lower())[:63]
            labels = dict(resource.raw.get("labels") or {})
            change = Change(
                ChangeOp.UPDATE,
                resource.id,
                GCP_LABELS,
                {"labels": labels, "labelFingerprint": resource.raw.get("labelFingerprint", "")},
                {"labels": {**labels, TAG: value}},
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
        ),
    }

    def contain(
        self,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """The VM's power state, from running to stopped."""
        checked = checked_params(self.name, self.params_schema, params)
        if resource.provider == Provider.AZURE:
            now = resource.facets.get("power_state")
            wanted = STOPPED[checked["mode"]]
            if now != "PowerState/running":
                raise PlanRefused(f"VM {resource.name} is {now}, not running: nothing to stop")
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
        ),
    }

    def contain(
        self,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
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
        raise PlanRefused(f"instance {instance.name} is {now}, not RUNNING: nothing to {verb}")
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


QUARANTINE = "clamp-quarantine"
FIREWALL_TYPE = "compute.googleapis.com/Firewall"
GCP_TAGS = "compute#instance/tags"


@INTENTS.register("isolate_instance")
class IsolateInstance(Containment):
    """Cut a VM off the network (GCP: a quarantine tag that highest-priority deny-all
    ingress and egress firewalls target, with an optional forensics allowance)."""

    name = "isolate_instance"
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "forensics_cidr": {
                "type": "string",
                "format": "cidr",
                "description": "a range that keeps SSH/RDP access for forensics",
            }
        },
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
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
    ) -> Plan:
        """Deny-all firewalls for this instance's own quarantine tag, then the tag."""
        checked = checked_params(self.name, self.params_schema, params)
        if resource.provider != Provider.GCP:
            raise PlanRefused(
                "isolate_instance works on GCP instances in this version",
                hint="on Azure, use stop_instance (deallocate) to cut the VM off for now",
            )
        forensics = allowed_cidrs({"allow": [checked["forensics_cidr"]]}) if checked else []
        tag = f"{QUARANTINE}-{resource.name}"[:63].rstrip("-")
        networks = resource.facets.get("networks") or ()
        if not networks:
            raise PlanRefused(f"instance {resource.name} has no network interface to isolate")
        project = resource.scope
        rules = [
            _firewall(project, f"{tag}-in", networks[0], tag, "INGRESS", 1, denied=True),
            _firewall(project, f"{tag}-out", networks[0], tag, "EGRESS", 1, denied=True),
            *(
                [_firewall(project, f"{tag}-forensics", networks[0], tag, "INGRESS", 0, forensics)]
                if forensics
                else []
            ),
        ]
        tags = dict(resource.raw.get("tags") or {})
        items = list(tags.get("items") or [])
        change = Change(
            ChangeOp.UPDATE,
            resource.id,
            GCP_TAGS,
            {"items": items, "fingerprint": tags.get("fingerprint", "")},
            {"items": [*items, tag]},
            "InstancesClient.set_tags_unary",
        )
        radius = (
            f"{resource.name} can no longer send or receive traffic"
            + (f" except SSH/RDP from {', '.join(forensics)}" if forensics else "")
            + "; other instances are unaffected (the rules target only its own tag); "
            "undo removes the tag, then the rules"
        )
        return Plan(
            intent=self.name,
            finding="",
            resource=resource.id,
            provider=resource.provider,
            summary=f"isolate {resource.name}: deny-all firewalls for tag {tag}, then tag it",
            changes=(*rules, change),
            reversible=True,
            blast_radius=radius,
            permissions=self.permissions[resource.provider],
            params=checked,
        )


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
