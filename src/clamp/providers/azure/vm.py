"""Azure VM power state, tags and deletion, for containment (azure-mgmt-compute).

``Microsoft.Compute/virtualMachines/powerState`` changes take a VM to
``PowerState/deallocated`` (``begin_deallocate``), ``PowerState/stopped``
(``begin_power_off``) or ``PowerState/running`` (``begin_start``);
``Microsoft.Compute/virtualMachines/tags`` replaces the VM's tags (ARM's PATCH semantics
for tags), after checking they are still what the plan read;
``Microsoft.Compute/virtualMachines/lifecycle`` deletes the VM (``begin_delete``, with
``If-Match`` when the VM carries an etag). A deleted VM is never re-created.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.compute.models import VirtualMachineUpdate

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp
from clamp.providers.azure.base import ChangesOnly
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.azure.identity import vm_ref
from clamp.providers.azure.network import raw

POWER_TYPE = "Microsoft.Compute/virtualMachines/powerState"
TAGS_TYPE = "Microsoft.Compute/virtualMachines/tags"
LIFECYCLE_TYPE = "Microsoft.Compute/virtualMachines/lifecycle"
VM = "Microsoft.Compute/virtualMachines"
ACTIONS = {
    "PowerState/deallocated": ("begin_deallocate", f"{VM}/deallocate/action"),
    "PowerState/stopped": ("begin_power_off", f"{VM}/powerOff/action"),
    "PowerState/running": ("begin_start", f"{VM}/start/action"),
}


class VmService(ChangesOnly):
    """Power state, tags and deletion of VMs (read through ``IdentityService``, changed
    here)."""

    change_types = frozenset({POWER_TYPE, TAGS_TYPE, LIFECYCLE_TYPE})

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    def current(self, change: Change) -> dict[str, Any] | None:
        """The VM's power state, or its tags, or (lifecycle) the whole VM or None if gone."""
        subscription, group, name = vm_ref(change.target)
        vms = self.clients.compute(subscription).virtual_machines
        if change.type == LIFECYCLE_TYPE:
            try:
                with translated(f"read {change.target}", f"{VM}/read"):
                    return raw(vms.get(group, name, expand="instanceView"))
            except ResourceNotFound:
                return None
        with translated(f"read {change.target}", f"{VM}/read"):
            if change.type == TAGS_TYPE:
                return {"tags": dict(vms.get(group, name).tags or {})}
            view = vms.instance_view(group, name)
        codes = [s.code for s in view.statuses or [] if s.code]
        return {"powerState": next((c for c in codes if c.startswith("PowerState/")), None)}

    def apply(self, change: Change) -> None:
        """Start, stop or deallocate the VM, replace its tags, or delete it."""
        if change.type == LIFECYCLE_TYPE:
            self._delete(change)
            return
        if change.op != ChangeOp.UPDATE or change.after is None:
            raise InputError(f"Clamp only updates {change.type}")
        subscription, group, name = vm_ref(change.target)
        vms = self.clients.compute(subscription).virtual_machines
        if change.type == TAGS_TYPE:
            if not matches(change.before, self.current(change)):
                raise ConflictError(f"the tags of {change.target} changed since they were read")
            with translated(f"tag {change.target}", f"{VM}/write"):
                vms.begin_update(
                    group, name, VirtualMachineUpdate({"tags": dict(change.after["tags"])})
                ).result()
            return
        wanted = str(change.after["powerState"])
        if wanted not in ACTIONS:
            raise InputError(f"Clamp cannot take a VM to {wanted}")
        if (self.current(change) or {}).get("powerState") == wanted:
            return
        method, permission = ACTIONS[wanted]
        with translated(f"{method.removeprefix('begin_')} {change.target}", permission):
            getattr(vms, method)(group, name).result()

    def _delete(self, change: Change) -> None:
        """Delete the VM (nothing to do if it is gone already); never re-create one."""
        if change.op != ChangeOp.DELETE:
            raise InputError(
                f"a deleted VM cannot be re-created: {change.target}",
                hint="restore it from its disk snapshots by hand",
            )
        now = self.current(change)
        if now is None:
            return
        subscription, group, name = vm_ref(change.target)
        # The etag the plan read: a VM changed since then is refused (412), not deleted.
        etag = (change.before or {}).get("etag")
        headers = {"If-Match": str(etag)} if etag else {}
        with translated(f"delete {change.target}", f"{VM}/delete"):
            self.clients.compute(subscription).virtual_machines.begin_delete(
                group, name, headers=headers
            ).result()
