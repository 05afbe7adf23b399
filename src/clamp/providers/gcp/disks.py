"""Compute Engine disk snapshots, the evidence of incident response.

A ``compute#snapshot`` CREATE is ``disks.createSnapshot`` on the zonal disk named by the
change's ``sourceDisk`` (waited on with its zone operation); a DELETE (the rollback of a
plan that failed half-way) is ``snapshots.delete`` (a global operation). Snapshot names
are global to the project: Compute refuses a name that exists (409), so evidence is never
overwritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from google.cloud import compute_v1

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.compute import wire
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.normalize import compute_ref
from clamp.providers.gcp.operations import wait_done
from clamp.providers.interface import ProgressCallback

SNAPSHOT_TYPE = ChangeType.GCP_SNAPSHOT


def snapshot_ref(name: str) -> tuple[str, str]:
    """(project, snapshot) of ``//compute.googleapis.com/projects/P/global/snapshots/S``."""
    project, _, snapshot = compute_ref(name, "snapshots", zonal=False)
    return project, snapshot


def disk_ref(url: str) -> tuple[str, str, str]:
    """(project, zone, disk) of a zonal disk URL (``.../projects/P/zones/Z/disks/D``)."""
    try:
        return compute_ref(url, "disks", zonal=True)
    except InputError:
        raise InputError(
            f"not a zonal disk: {url}", hint="Clamp snapshots zonal disks only"
        ) from None


class SnapshotService:
    """Snapshots of persistent disks (created and, on rollback, deleted; never collected)."""

    change_types = frozenset({SNAPSHOT_TYPE})

    def __init__(self, clients: GcpClients) -> None:
        self.clients = clients

    @cached_property
    def disks(self) -> compute_v1.DisksClient:
        """Zonal persistent disks, at the same endpoint and identity as every client."""
        return self.clients.paced(compute_v1.DisksClient(**self.clients.options))

    @cached_property
    def snapshots(self) -> compute_v1.SnapshotsClient:
        """Disk snapshots (a global resource)."""
        return self.clients.paced(compute_v1.SnapshotsClient(**self.clients.options))

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Nothing: no check evaluates snapshots."""
        return []

    def owns(self, resource_id: str) -> bool:
        """Nothing: snapshots are not read as resources."""
        return False

    def read(self, resource_id: str) -> tuple[str, list[dict[str, Any]]]:
        """Not used (see ``owns``)."""
        raise InputError(f"Clamp does not read snapshots as resources: {resource_id}")

    def context(self, resource_id: str) -> list[dict[str, Any]]:
        """Nothing: other resources' checks need no snapshot."""
        return []

    def current(self, change: Change) -> dict[str, Any] | None:
        """The snapshot as Compute has it now, or None."""
        project, name = snapshot_ref(change.target)
        try:
            return call(
                f"read snapshot {name} in {project}",
                "compute.snapshots.get",
                lambda: wire(self.snapshots.get(project=project, snapshot=name)),
            )
        except ResourceNotFound:
            return None

    def apply(self, change: Change) -> None:
        """Snapshot the change's source disk under the change's name, or delete it."""
        project, name = snapshot_ref(change.target)
        request_id = str(uuid.uuid4())  # one id for every retry: Compute acts at most once
        match change.op:
            case ChangeOp.CREATE:
                self._create(project, name, change.after or {}, request_id)
            case ChangeOp.DELETE:
                # Compute offers no condition on a snapshot's deletion: re-read it first and
                # delete only the snapshot the change expects (gone already: nothing to do).
                now = self.current(change)
                if now is None:
                    return
                if not matches(change.before, now):
                    raise ConflictError(
                        f"snapshot {name} changed since it was read; nothing was changed",
                        hint="re-run the plan",
                    )
                op = call(
                    f"delete snapshot {name}",
                    "compute.snapshots.delete",
                    lambda: self.snapshots.delete_unary(
                        request=compute_v1.DeleteSnapshotRequest(
                            project=project, snapshot=name, request_id=request_id
                        )
                    ),
                )
                wait_done(
                    op,
                    lambda op_name: self.clients.global_operations.wait(
                        project=project, operation=op_name
                    ),
                    "compute.globalOperations.get",
                )
            case _:
                raise InputError("Clamp creates or deletes snapshots; it never edits one")

    def _create(self, project: str, name: str, after: Mapping[str, Any], request_id: str) -> None:
        """``disks.createSnapshot`` of ``after["sourceDisk"]``, waited on in its zone."""
        source = str(after.get("sourceDisk") or "")
        disk_project, zone, disk = disk_ref(source)
        if disk_project != project:
            raise InputError(f"snapshot {name} must be in the project of disk {source}")
        request = compute_v1.CreateSnapshotDiskRequest(
            project=project,
            zone=zone,
            disk=disk,
            snapshot_resource=compute_v1.Snapshot(
                name=name, labels=dict(after.get("labels") or {})
            ),
            request_id=request_id,
        )
        try:
            op = call(
                f"snapshot disk {disk} (zone {zone}) as {name}",
                "compute.disks.createSnapshot",
                lambda: self.disks.create_snapshot_unary(request=request),
            )
        except ResourceNotFound as exc:
            raise ResourceNotFound(
                f"disk {source} does not exist (any more), so snapshot {name} was not made",
                hint="re-read the instance and plan again",
                status=404,
            ) from exc
        wait_done(
            op,
            lambda op_name: self.clients.zone_operations.wait(
                project=project, zone=zone, operation=op_name
            ),
            "compute.zoneOperations.get",
        )
