"""Azure VM power state, tags and deletion, for containment (azure-mgmt-compute).

``Microsoft.Compute/virtualMachines/powerState`` changes take a VM to
``PowerState/deallocated`` (``begin_deallocate``), ``PowerState/stopped``
(``begin_power_off``) or ``PowerState/running`` (``begin_start``);
``Microsoft.Compute/virtualMachines/tags`` replaces the VM's tags (ARM's PATCH semantics
for tags), after checking they are still what the plan read;
``Microsoft.Compute/virtualMachines/lifecycle`` deletes the VM (``begin_delete``, which
declares no condition: the VM is re-read and compared first). A deleted VM is never
re-created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.mgmt.compute.models import VirtualMachineUpdate

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.azure.base import ChangesOnly, if_unchanged, same_read
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.azure.identity import vm_ref
from clamp.providers.azure.network import raw

POWER_TYPE = ChangeType.AZURE_VM_POWER
TAGS_TYPE = ChangeType.AZURE_VM_TAGS
LIFECYCLE_TYPE = ChangeType.AZURE_VM_LIFECYCLE
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
            with translated(f"read {change.target}", f"{VM}/read"):
                vm = vms.get(group, name)
            if not matches(change.before, {"tags": dict(vm.tags or {})}):
                raise ConflictError(
                    f"the tags of {change.target} changed since they were read; nothing was "
                    "changed",
                    hint="re-run the plan",
                )
            # A VM's PATCH declares If-Match (compute 2026-04-01): the etag just read, so a
            # write between that read and this one is refused (412) too.
            with translated(f"tag {change.target}", f"{VM}/write"):
                vms.begin_update(
                    group,
                    name,
                    VirtualMachineUpdate({"tags": dict(change.after["tags"])}),
                    **if_unchanged(vm.etag),
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
        # A VM's DELETE declares no If-Match (compute 2026-04-01): the VM is re-read and
        # must still be as the plan read it (its instance view aside: power state and
        # agent heartbeats change on their own), else nothing is deleted.
        if not same_read(_settled(change.before), _settled(now)):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was deleted",
                hint="re-run the plan",
            )
        subscription, group, name = vm_ref(change.target)
        with translated(f"delete {change.target}", f"{VM}/delete"):
            self.clients.compute(subscription).virtual_machines.begin_delete(group, name).result()


def _settled(vm: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A VM without its instance view (what changes on its own, not by a write)."""
    if vm is None:
        return None
    props = {k: v for k, v in (vm.get("properties") or {}).items() if k != "instanceView"}
    return {**vm, "properties": props}
