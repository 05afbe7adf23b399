"""Azure identities: role assignments and definitions (azure-mgmt-authorization), a VM's
managed identities (azure-mgmt-compute); detach an identity, delete or restore an assignment.

A VM is read together with the subscription's role assignments and definitions, since its
check needs them. Role assignments are immutable in ARM (no etag): a delete first re-reads
the assignment and refuses if it is not what the plan saw; a VM identity change re-reads
the VM's identity and refuses if it moved since the plan.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
from azure.mgmt.compute.models import VirtualMachineUpdate

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.azure.base import if_unchanged, resource_ref
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.azure.network import NIC_READ, nic_ref, raw
from clamp.providers.azure.normalize import subscription_of
from clamp.providers.interface import ProgressCallback

VM_TYPE = ChangeType.AZURE_VM_IDENTITY
ASSIGNMENT_TYPE = ChangeType.AZURE_ROLE_ASSIGNMENT
ASSIGNMENTS_READ = "Microsoft.Authorization/roleAssignments/read"
DEFINITIONS_READ = "Microsoft.Authorization/roleDefinitions/read"
VM_READ = "Microsoft.Compute/virtualMachines/read"


def vm_ref(arm_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of a VM id."""
    return resource_ref(arm_id, "virtualMachines")


def _wire(model: Any) -> dict[str, Any]:
    """An msrest model (azure-mgmt-authorization) as the ARM JSON it came from."""
    data: dict[str, Any] = model.serialize(keep_readonly=True)
    return data


class IdentityService:
    """VM identities and the role assignments that give them power."""

    change_types = frozenset({VM_TYPE, ASSIGNMENT_TYPE})

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Role assignments and role definitions of a subscription."""
        if progress:
            progress(f"azure {scope}: role assignments")
        return self._authorization(scope)

    def _authorization(self, subscription: str) -> list[dict[str, Any]]:
        client = self.clients.authorization(subscription)
        with translated(f"list role assignments in {subscription}", ASSIGNMENTS_READ):
            assignments = [_wire(a) for a in client.role_assignments.list_for_subscription()]
        return assignments + self.definitions(subscription)

    def definitions(self, subscription: str) -> list[dict[str, Any]]:
        """The role definitions assignable in a subscription (built-in and custom)."""
        client = self.clients.authorization(subscription)
        with translated(f"list role definitions in {subscription}", DEFINITIONS_READ):
            return [
                _wire(d) for d in client.role_definitions.list(f"/subscriptions/{subscription}")
            ]

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is a virtual machine."""
        return "/providers/microsoft.compute/virtualmachines/" in resource_id.lower()

    def read(self, resource_id: str) -> list[dict[str, Any]]:
        """A VM (with its power state), its NICs, and the subscription's role assignments
        and definitions."""
        subscription, group, name = vm_ref(resource_id)
        with translated(f"read {resource_id}", VM_READ):
            vm = raw(
                self.clients.compute(subscription).virtual_machines.get(
                    group, name, expand="instanceView"
                )
            )
        return [vm, *self._nics(vm), *self._authorization(subscription)]

    def _nics(self, vm: dict[str, Any]) -> list[dict[str, Any]]:
        refs = ((vm.get("properties") or {}).get("networkProfile") or {}).get(
            "networkInterfaces"
        ) or []
        nics = []
        for ref in refs:
            subscription, group, name = nic_ref(str(ref["id"]))
            with translated(f"read {ref['id']}", NIC_READ):
                nics.append(
                    raw(self.clients.network(subscription).network_interfaces.get(group, name))
                )
        return nics

    # -- changes --------------------------------------------------------------------------
    def current(self, change: Change) -> dict[str, Any] | None:
        """The VM or role assignment as Azure has it now (None if gone)."""
        try:
            if change.type == VM_TYPE:  # Clamp changes a VM's identities, nothing else
                subscription, group, name = vm_ref(change.target)
                with translated(f"read {change.target}", VM_READ):
                    vm = raw(self.clients.compute(subscription).virtual_machines.get(group, name))
                return _identity_of(vm)
            subscription = subscription_of(change.target)
            with translated(f"read {change.target}", ASSIGNMENTS_READ):
                assignment = self.clients.authorization(subscription).role_assignments.get_by_id(
                    change.target
                )
            return _wire(assignment)
        except ResourceNotFound:
            return None

    def apply(self, change: Change) -> None:
        """Change a VM's identities, or delete / re-create a role assignment."""
        if change.type == VM_TYPE:
            self._set_identity(change)
            return
        now = self.current(change)
        if not matches(change.before, now):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        client = self.clients.authorization(subscription_of(change.target)).role_assignments
        match change.op:
            case ChangeOp.DELETE:
                with translated(f"delete {change.target}", f"{ASSIGNMENT_TYPE}/delete"):
                    client.delete_by_id(change.target)
            case ChangeOp.CREATE | ChangeOp.UPDATE:
                props = (change.after or {}).get("properties") or {}
                body = RoleAssignmentCreateParameters(
                    role_definition_id=str(props["roleDefinitionId"]),
                    principal_id=str(props["principalId"]),
                    principal_type=props.get("principalType") or "ServicePrincipal",
                )
                with translated(f"create {change.target}", f"{ASSIGNMENT_TYPE}/write"):
                    client.create_by_id(change.target, body)

    def _set_identity(self, change: Change) -> None:
        if change.op != ChangeOp.UPDATE:
            raise InputError("Clamp only changes a VM's identities, never creates or deletes VMs")
        subscription, group, name = vm_ref(change.target)
        try:
            with translated(f"read {change.target}", VM_READ):
                vm = self.clients.compute(subscription).virtual_machines.get(group, name)
        except ResourceNotFound:
            vm = None
        now = {} if vm is None else _identity_of(raw(vm))
        if vm is None or not matches(change.before, now):
            raise ConflictError(
                f"the identities of {change.target} changed since they were read; nothing was "
                "changed",
                hint="re-run the plan",
            )
        after = (change.after or {}).get("identity") or {}
        kept = after.get("userAssignedIdentities") or {}
        dropped = {
            arm_id: None
            for arm_id in ((now.get("identity") or {}).get("userAssignedIdentities") or {})
            if arm_id not in kept
        }
        identity: dict[str, Any] = {"type": after.get("type") or "None"}
        if kept or dropped:
            identity["userAssignedIdentities"] = {**{k: {} for k in kept}, **dropped}
        # A VM's PATCH declares If-Match (compute 2026-04-01): the etag just read.
        with translated(f"update the identity of {change.target}", f"{VM_TYPE}/write"):
            self.clients.compute(subscription).virtual_machines.begin_update(
                group, name, VirtualMachineUpdate({"identity": identity}), **if_unchanged(vm.etag)
            ).result()


def _identity_of(vm: dict[str, Any]) -> dict[str, Any]:
    """What Clamp changes on a VM: its managed identities."""
    return {"id": vm.get("id"), "identity": vm.get("identity") or {"type": "None"}}
