"""Azure disk snapshots, the evidence of incident response (azure-mgmt-compute).

``Microsoft.Compute/snapshots`` changes create a full (``Copy``) snapshot of a managed
disk, only if no snapshot of that name exists yet (evidence is never overwritten: the name
is re-read just before the write, since Compute declares no ``If-None-Match`` on a snapshot
PUT; the header is sent as well, harmless where ignored), or delete one (the rollback of a
plan that failed half-way).
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.compute.models import Snapshot

from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.azure.base import ChangesOnly, resource_ref
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.azure.network import raw

SNAPSHOT_TYPE = ChangeType.AZURE_SNAPSHOT


def snapshot_ref(arm_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of a snapshot id."""
    return resource_ref(arm_id, "snapshots")


class SnapshotService(ChangesOnly):
    """Snapshots of managed disks (created and, on rollback, deleted here; never collected)."""

    change_types = frozenset({SNAPSHOT_TYPE})

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    def current(self, change: Change) -> dict[str, Any] | None:
        """The snapshot as Azure has it now, or None."""
        subscription, group, name = snapshot_ref(change.target)
        snapshots = self.clients.compute(subscription).snapshots
        try:
            with translated(f"read {change.target}", f"{SNAPSHOT_TYPE}/read"):
                return raw(snapshots.get(group, name))
        except ResourceNotFound:
            return None

    def apply(self, change: Change) -> None:
        """Create the snapshot (never over an existing one), or delete it."""
        subscription, group, name = snapshot_ref(change.target)
        snapshots = self.clients.compute(subscription).snapshots
        match change.op:
            case ChangeOp.CREATE:
                after = change.after or {}
                if self.current(change) is not None:
                    raise ConflictError(
                        f"snapshot {name} already exists in {group}; Clamp never overwrites "
                        "evidence, nothing was changed",
                        hint="re-run the plan (a new plan names new snapshots)",
                    )
                source = (after.get("properties") or {}).get("creationData") or {}
                body = Snapshot(
                    {
                        "location": after.get("location"),
                        "tags": dict(after.get("tags") or {}),
                        "properties": {"creationData": dict(source)},
                    }
                )
                disk = source.get("sourceResourceId")
                try:
                    with translated(f"snapshot {disk} as {name}", f"{SNAPSHOT_TYPE}/write"):
                        snapshots.begin_create_or_update(
                            group, name, body, headers={"If-None-Match": "*"}
                        ).result()
                except ResourceNotFound as exc:
                    raise ResourceNotFound(
                        f"disk {disk} does not exist (any more), so snapshot {name} was not made",
                        hint="re-read the VM and plan again",
                        status=404,
                    ) from exc
            case ChangeOp.DELETE:
                with translated(f"delete {change.target}", f"{SNAPSHOT_TYPE}/delete"):
                    snapshots.begin_delete(group, name).result()
            case _:
                raise InputError("Clamp creates or deletes snapshots; it never edits one")
