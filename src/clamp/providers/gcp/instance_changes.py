"""Containment of a Compute Engine instance in Compute's shapes (pure: the changes
``InstanceService``, ``DiskService`` and ``FirewallService`` apply).

Marks are the instance's ``labels``, written with its ``labelFingerprint``; power states
are its ``status`` (RUNNING, TERMINATED, SUSPENDED), changed by ``stop``, ``suspend``,
``start`` and ``resume``; snapshots are ``disks.createSnapshot`` of its persistent disks;
the quarantine is a network tag of the instance's own that deny-all ingress and egress
firewalls (priority 1) target, plus an optional SSH/RDP allowance (priority 0), with its
external access configs removed if asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from clamp.errors import NothingToDo, PlanRefused
from clamp.model import Change, ChangeOp, ChangeType, Provider, Resource
from clamp.providers.containment import (
    Disks,
    Power,
    PowerState,
    Quarantine,
    VmChanges,
    quarantine_name,
    stamped_name,
)

COMPUTE = "//compute.googleapis.com/projects"
NAME_MAX = 63  # RFC 1035 names: snapshots, firewalls, network tags
STATUS = {
    "RUNNING": PowerState.RUNNING,
    "TERMINATED": PowerState.STOPPED,
    "SUSPENDED": PowerState.SUSPENDED,
}
# Compute has one stopped status: a stop (deallocate or power off) is TERMINATED.
WANTED = {
    PowerState.RUNNING: "RUNNING",
    PowerState.STOPPED: "TERMINATED",
    PowerState.DEALLOCATED: "TERMINATED",
    PowerState.SUSPENDED: "SUSPENDED",
}
# The call that takes an instance from its status to the wanted one.
TRANSITIONS = {
    ("RUNNING", "TERMINATED"): "stop",
    ("RUNNING", "SUSPENDED"): "suspend",
    ("TERMINATED", "RUNNING"): "start",
    ("SUSPENDED", "RUNNING"): "resume",
}


class GceInstanceChanges(VmChanges):
    """A Compute Engine instance's labels, status, persistent disks, deletion and
    quarantine tag and firewalls."""

    provider = Provider.GCP
    cloud = "GCP"
    noun = "instance"
    power_states = frozenset({PowerState.STOPPED, PowerState.SUSPENDED})

    def marks(self, vm: Resource) -> dict[str, str]:
        """The instance's labels."""
        return dict(vm.raw.get("labels") or {})

    def mark_value(self, value: str) -> str:
        """``value`` as a label value (lowercase letters, digits, ``_`` and ``-``)."""
        return label_value(value)

    def mark(self, vm: Resource, key: str, value: str) -> Change:
        """``setLabels`` with ``key`` added, against the fingerprint read."""
        labels = self.marks(vm)
        return Change(
            ChangeOp.UPDATE,
            vm.id,
            ChangeType.GCP_INSTANCE_LABELS,
            {"labels": labels, "labelFingerprint": vm.raw.get("labelFingerprint", "")},
            {"labels": {**labels, key: label_value(value)}},
            "InstancesClient.set_labels_unary",
        )

    def power(self, vm: Resource) -> Power:
        """The instance's ``status``."""
        now = str(vm.raw.get("status", ""))
        return Power(STATUS.get(now, PowerState.OTHER), now)

    def power_change(self, vm: Resource, wanted: PowerState) -> Change:
        """The instance's ``status``, from what it is to ``wanted``'s."""
        now = str(vm.raw.get("status", ""))
        status = WANTED.get(wanted, "")
        verb = TRANSITIONS.get((now, status))
        if verb is None:
            raise PlanRefused(
                f"Compute Engine cannot take instance {vm.name} from {now} to {wanted}"
            )
        return Change(
            ChangeOp.UPDATE,
            vm.id,
            ChangeType.GCP_INSTANCE_STATUS,
            {"status": now},
            {"status": status},
            f"InstancesClient.{verb}_unary",
        )

    def power_effects(self, wanted: PowerState) -> str:
        """Nothing besides what every cloud does."""
        return ""

    def disks(self, vm: Resource) -> Disks:
        """The URLs of the instance's persistent disks (boot first); local SSDs are
        skipped."""
        entries = sorted(vm.raw.get("disks") or [], key=lambda d: not d.get("boot"))
        urls: list[str] = []
        skipped: list[str] = []
        for entry in entries:
            source = str(entry.get("source") or "")
            if source:
                urls.append(source)
            else:
                skipped.append(f"{entry.get('deviceName') or 'a disk'} (local SSD: no snapshot)")
        return Disks(tuple(dict.fromkeys(urls)), tuple(skipped))

    def snapshot_name(self, disk: str, incident: str, stamp: str) -> str:
        """``[a-z]([-a-z0-9]{0,61}[a-z0-9])?``."""
        base = re.sub(r"[^a-z0-9-]+", "-", f"{disk}-{incident}".lower())
        base = re.sub(r"-{2,}", "-", base).strip("-")
        if not base[:1].isalpha():
            base = f"s-{base}".rstrip("-")
        return stamped_name(base, stamp, NAME_MAX, f"{disk}\x00{incident}")

    def snapshot(self, vm: Resource, source: str, key: str, value: str, stamp: str) -> Change:
        """``disks.createSnapshot`` of a persistent disk, labelled, in the VM's project."""
        disk = source.rstrip("/").rsplit("/", 1)[-1]
        name = self.snapshot_name(disk, value, stamp)
        body = {"name": name, "sourceDisk": source, "labels": {key: label_value(value)}}
        return Change(
            ChangeOp.CREATE,
            f"{COMPUTE}/{vm.scope}/global/snapshots/{name}",
            ChangeType.GCP_SNAPSHOT,
            None,
            body,
            "DisksClient.create_snapshot_unary",
        )

    def deletion(self, vm: Resource) -> Change:
        """``instances.delete``."""
        return Change(
            ChangeOp.DELETE,
            vm.id,
            ChangeType.GCP_INSTANCE_LIFECYCLE,
            dict(vm.raw),
            None,
            "InstancesClient.delete_unary",
        )

    def deletion_losses(self, vm: Resource) -> str:
        """Which disks go with the instance (``autoDelete``) and which stay; whether its
        external IP goes."""
        disks = vm.raw.get("disks") or []

        def label(d: Mapping[str, Any]) -> str:
            name = str(d.get("source") or "").rsplit("/", 1)[-1] or str(d.get("deviceName") or "")
            return f"{name} (boot)" if d.get("boot") else name or "a local SSD"

        deleted = [label(d) for d in disks if d.get("autoDelete") or not d.get("source")]
        kept = [label(d) for d in disks if not d.get("autoDelete") and d.get("source")]
        external = any(
            c.get("natIP") or c.get("type") == "ONE_TO_ONE_NAT"
            for nic in vm.raw.get("networkInterfaces") or []
            for c in nic.get("accessConfigs") or []
        )
        return (
            f"disks deleted with it (autoDelete): {', '.join(deleted) or 'none'}; "
            f"disks kept: {', '.join(kept) or 'none'}"
            + ("; its external IP is released unless it is a reserved address" if external else "")
        )

    def quarantine(
        self,
        vm: Resource,
        context: Sequence[Resource],
        forensics: Sequence[str],
        drop_ips: bool,
    ) -> Quarantine:
        """Deny-all firewalls for the instance's own quarantine tag, then the tag."""
        tag = quarantine_name(vm, NAME_MAX)
        tags = dict(vm.raw.get("tags") or {})
        items = list(tags.get("items") or [])
        if tag in items:
            raise NothingToDo(f"instance {vm.name} already carries quarantine tag {tag}")
        networks = vm.facets.get("networks") or ()
        if not networks:
            raise PlanRefused(f"instance {vm.name} has no network interface to isolate")
        project = vm.scope
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
            vm.id,
            ChangeType.GCP_INSTANCE_TAGS,
            {"items": items, "fingerprint": tags.get("fingerprint", "")},
            {"items": [*items, tag]},
            "InstancesClient.set_tags_unary",
        )
        external = access_configs(vm.raw)
        drops = (
            [
                Change(
                    ChangeOp.UPDATE,
                    vm.id,
                    ChangeType.GCP_INSTANCE_ACCESS,
                    {"accessConfigs": external},
                    {"accessConfigs": {nic: [] for nic in external}},
                    "InstancesClient.delete_access_config_unary",
                )
            ]
            if drop_ips and any(external.values())
            else []
        )
        summary = f"isolate {vm.name}: deny-all firewalls for tag {tag}, then tag it"
        return Quarantine(
            changes=(*rules, change, *drops),
            summary=summary + (", then drop its external IPs" if drops else ""),
            restores="the tag, then the rules",
            public_ips=(
                "an ephemeral external IP is released: undo asks for the same address, and if "
                "another project took it meanwhile the undo fails verification and says so"
            ),
        )


def label_value(value: str) -> str:
    """``value`` as a GCP label value (lowercase letters, digits, ``_`` and ``-``)."""
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]


def access_configs(instance: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each network interface's external IPs: ``{nic: [{name, natIP, type, networkTier}]}``."""
    keys = ("name", "natIP", "type", "networkTier")
    return {
        str(nic.get("name")): [
            {k: c[k] for k in keys if c.get(k)} for c in nic.get("accessConfigs") or []
        ]
        for nic in instance.get("networkInterfaces") or []
    }


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
    return Change(
        ChangeOp.CREATE,
        f"{COMPUTE}/{project}/global/firewalls/{name}",
        ChangeType.GCP_FIREWALL,
        None,
        body,
        "FirewallsClient.insert_unary",
    )
