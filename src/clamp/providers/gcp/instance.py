"""Compute Engine instances: lifecycle (stop, start, suspend, resume, delete) and labels.

Containment changes an instance's ``status`` (``compute#instance/status``: RUNNING,
TERMINATED, SUSPENDED), ``labels`` (``compute#instance/labels``) and network ``tags``
(``compute#instance/tags``), the last two written with the fingerprint read before, so a
concurrent change is refused; ``compute#instance/lifecycle`` deletes the instance (never
re-created). Every call waits on its zone operation with a ZoneOperationsClient at the
same endpoint.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from google.cloud import compute_v1

from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.compute import wire
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.instance_changes import TRANSITIONS, access_configs
from clamp.providers.gcp.normalize import compute_ref
from clamp.providers.gcp.operations import wait_done

STATUS_TYPE = ChangeType.GCP_INSTANCE_STATUS
LABELS_TYPE = ChangeType.GCP_INSTANCE_LABELS
TAGS_TYPE = ChangeType.GCP_INSTANCE_TAGS
LIFECYCLE_TYPE = ChangeType.GCP_INSTANCE_LIFECYCLE
ACCESS_TYPE = ChangeType.GCP_INSTANCE_ACCESS


def instance_ref(name: str) -> tuple[str, str, str]:
    """(project, zone, instance) of ``//compute.googleapis.com/projects/P/zones/Z/instances/I``."""
    return compute_ref(name, "instances", zonal=True)


class InstanceService:
    """Instance lifecycle, labels and tags."""

    change_types = frozenset({STATUS_TYPE, LABELS_TYPE, TAGS_TYPE, LIFECYCLE_TYPE, ACCESS_TYPE})

    def __init__(self, clients: GcpClients) -> None:
        self.clients = clients

    def instance(self, target: str) -> compute_v1.Instance:
        """The instance as Compute has it now."""
        project, zone, name = instance_ref(target)
        instance: compute_v1.Instance = call(
            f"read instance {name}",
            "compute.instances.get",
            lambda: self.clients.instances.get(project=project, zone=zone, instance=name),
        )
        return instance

    def current(self, change: Change) -> dict[str, Any] | None:
        """The instance's status, or its labels and fingerprint, or (lifecycle) the whole
        instance or None if it is gone."""
        if change.type == LIFECYCLE_TYPE:
            try:
                return wire(self.instance(change.target))
            except ResourceNotFound:
                return None
        instance = self.instance(change.target)
        if change.type == STATUS_TYPE:
            return {"status": instance.status}
        if change.type == TAGS_TYPE:
            return {"items": list(instance.tags.items), "fingerprint": instance.tags.fingerprint}
        if change.type == ACCESS_TYPE:
            return {"accessConfigs": access_configs(wire(instance))}
        return {"labels": dict(instance.labels), "labelFingerprint": instance.label_fingerprint}

    def apply(self, change: Change) -> None:
        """Move the instance to the wanted status, set its labels or tags, or delete it."""
        if change.type == LIFECYCLE_TYPE:
            self._delete(change)
            return
        if change.type == ACCESS_TYPE:
            self._set_access(change)
            return
        if change.op != ChangeOp.UPDATE or change.after is None:
            raise InputError(f"Clamp only updates {change.type}")
        project, zone, name = instance_ref(change.target)
        now = self.current(change) or {}
        if change.type == STATUS_TYPE:
            wanted = str(change.after["status"])
            if now["status"] == wanted:
                return
            action = TRANSITIONS.get((now["status"], wanted))
            if action is None:
                raise ConflictError(
                    f"instance {name} is {now['status']}; Clamp cannot take it to {wanted}",
                    hint="wait for it to settle and re-run the plan",
                )
            self.lifecycle(project, zone, name, action)
            return
        if change.type == TAGS_TYPE:
            tags = compute_v1.Tags(
                items=list(change.after.get("items") or []),
                fingerprint=str((change.before or {}).get("fingerprint", "")),
            )
            op = call(
                f"set the network tags of instance {name}",
                "compute.instances.setTags",
                lambda: self.clients.instances.set_tags_unary(
                    project=project, zone=zone, instance=name, tags_resource=tags
                ),
            )
            self.wait(project, zone, op)
            return
        request = compute_v1.InstancesSetLabelsRequest(
            labels=dict(change.after.get("labels") or {}),
            label_fingerprint=str((change.before or {}).get("labelFingerprint", "")),
        )
        op = call(
            f"set the labels of instance {name}",
            "compute.instances.setLabels",
            lambda: self.clients.instances.set_labels_unary(
                project=project,
                zone=zone,
                instance=name,
                instances_set_labels_request_resource=request,
            ),
        )
        self.wait(project, zone, op)

    def _set_access(self, change: Change) -> None:
        """Remove or add external IPs (access configs) per network interface, if they are
        still what the plan read."""
        project, zone, name = instance_ref(change.target)
        now = (self.current(change) or {}).get("accessConfigs") or {}
        if now != (change.before or {}).get("accessConfigs"):
            raise ConflictError(
                f"the external IPs of instance {name} changed since they were read",
                hint="re-run the plan",
            )
        wanted: dict[str, list[dict[str, Any]]] = (change.after or {}).get("accessConfigs") or {}
        instances = self.clients.instances
        for nic, configs in now.items():
            keep = {c["name"] for c in wanted.get(nic, [])}
            for config in configs:
                if config["name"] in keep:
                    continue
                op = call(
                    f"remove the external IP of instance {name} ({nic})",
                    "compute.instances.deleteAccessConfig",
                    partial(
                        instances.delete_access_config_unary,
                        project=project,
                        zone=zone,
                        instance=name,
                        access_config=config["name"],
                        network_interface=nic,
                    ),
                )
                self.wait(project, zone, op)
        for nic, configs in wanted.items():
            have = {c["name"] for c in now.get(nic, [])}
            for config in configs:
                if config["name"] in have:
                    continue
                resource = compute_v1.AccessConfig(
                    name=config["name"],
                    nat_i_p=config.get("natIP") or None,
                    type_=config.get("type") or "ONE_TO_ONE_NAT",
                    network_tier=config.get("networkTier") or None,
                )
                op = call(
                    f"give instance {name} its external IP back ({nic})",
                    "compute.instances.addAccessConfig",
                    partial(
                        instances.add_access_config_unary,
                        project=project,
                        zone=zone,
                        instance=name,
                        network_interface=nic,
                        access_config_resource=resource,
                    ),
                )
                self.wait(project, zone, op)

    def _delete(self, change: Change) -> None:
        """Delete the instance (nothing to do if it is gone already); never re-create one."""
        if change.op != ChangeOp.DELETE:
            raise InputError(
                f"a deleted instance cannot be re-created: {change.target}",
                hint="restore it from its disk snapshots by hand",
            )
        if self.current(change) is None:
            return
        project, zone, name = instance_ref(change.target)
        # One requestId for every retry of this call: Compute deletes at most once.
        request = compute_v1.DeleteInstanceRequest(
            project=project, zone=zone, instance=name, request_id=str(uuid.uuid4())
        )
        op = call(
            f"delete instance {name}",
            "compute.instances.delete",
            lambda: self.clients.instances.delete_unary(request=request),
        )
        self.wait(project, zone, op)

    def lifecycle(self, project: str, zone: str, name: str, action: str) -> None:
        """``stop``, ``start``, ``suspend`` or ``resume`` the instance and wait."""
        method = getattr(self.clients.instances, f"{action}_unary")
        op = call(
            f"{action} instance {name}",
            f"compute.instances.{action}",
            partial(method, project=project, zone=zone, instance=name),
        )
        self.wait(project, zone, op)

    def wait(self, project: str, zone: str, op: compute_v1.Operation) -> None:
        """Wait on a zone operation until DONE; raise its error if it failed."""
        wait_done(
            op,
            lambda name: self.clients.zone_operations.wait(
                project=project, zone=zone, operation=name
            ),
            "compute.zoneOperations.get",
        )
