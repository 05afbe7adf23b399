"""A VM's managed identities and their role assignments in ARM's shapes (pure: the changes
``IdentityService`` and ``VmService`` apply).

Revoking deletes the role assignments of the VM's principals (``delete_by_id``; undo
re-creates them with the same ids); detaching rewrites the VM's ``identity`` block
(``begin_update``) without the removed user-assigned identities, and ``type`` without
``SystemAssigned`` when the system-assigned identity is turned off — which Azure cannot
undo: a re-enabled identity gets a new principal without the old roles.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from typing import Any

from clamp.errors import NothingToDo, PlanRefused
from clamp.identity_roles import azure_roles
from clamp.model import Change, ChangeOp, ChangeType, Finding, Provider, Resource, ResourceType
from clamp.providers.identity_changes import (
    Detach,
    Detachment,
    IdentityChanges,
    Revocation,
    flagged_identities,
)


class AzureIdentityChanges(IdentityChanges):
    """An Azure VM's role assignments and its ``identity`` block."""

    provider = Provider.AZURE

    def holders(self, vm: Resource) -> set[str]:
        """The principal ids of the VM's system- and user-assigned identities."""
        return {p["principal_id"] for p in vm.facets.get("principals") or ()}

    def flagged(self, vm: Resource, finding: Finding) -> set[str]:
        """Every principal of the VM: the broad assignments are picked by ``revocation``."""
        return self.holders(vm)

    def revocation(
        self,
        vm: Resource,
        context: Sequence[Resource],
        holders: Collection[str],
        *,
        broad_only: bool,
    ) -> Revocation:
        """``delete_by_id`` of each (broad) role assignment of ``holders``."""
        definitions = [r for r in context if r.type == ResourceType.AZURE_ROLE_DEFINITION]
        assignments = [r for r in context if r.type == ResourceType.AZURE_ROLE_ASSIGNMENT]
        found = azure_roles(definitions, assignments, set(holders), broad_only=broad_only)
        changes = tuple(
            Change(
                ChangeOp.DELETE,
                assignment.id,
                ChangeType.AZURE_ROLE_ASSIGNMENT,
                copy.deepcopy(dict(assignment.raw)),
                None,
                "RoleAssignmentsOperations.delete_by_id",
            )
            for assignment, _ in found
        )
        words = [f"{role} at {a.facets['scope']}" for a, role in found]
        gone = {c.target for c in changes}
        return Revocation(
            changes=changes,
            summary=f"revoke from VM {vm.name}'s identity: " + "; ".join(words),
            blast_radius=(
                f"code on {vm.name} that uses its managed identity loses {', '.join(words)}; "
                "the identity keeps any narrower roles, other principals are unaffected; undo "
                "re-creates the same assignments"
            ),
            after=tuple(r for r in context if r.id not in gone),
        )

    def detach_flagged(self, vm: Resource, finding: Finding, asked: Detach) -> Detachment:
        """Remove the flagged user-assigned identities; turn a flagged system one off."""
        flagged = [i for i in flagged_identities(finding) if i.get("roles")]
        drop_system = any(i.get("kind") == "system" for i in flagged)
        users = [str(i["id"]) for i in flagged if i.get("kind") == "user"]
        return self._detach(vm, asked, users, drop_system=drop_system)

    def detach_all(self, vm: Resource, asked: Detach) -> Detachment:
        """Remove every user-assigned identity (and the system one when asked)."""
        identity = vm.raw.get("identity") or {}
        users = list(identity.get("userAssignedIdentities") or {})
        has_system = "systemassigned" in str(identity.get("type", "")).lower()
        drop_system = has_system and asked.disable_system is True
        if not users and not drop_system:
            raise NothingToDo(
                f"VM {vm.name} has no user-assigned identity to detach (a "
                "system-assigned one stays unless system_identity=disable: turning it off "
                "cannot be undone; revoke_identity_roles takes its roles)"
            )
        return self._detach(vm, asked, users, drop_system=drop_system)

    @staticmethod
    def _detach(
        vm: Resource, asked: Detach, dropped: Sequence[str], *, drop_system: bool
    ) -> Detachment:
        if asked.replacement is not None:
            raise PlanRefused("service_account is for GCP; on Azure identities are removed")
        identity = copy.deepcopy(dict(vm.raw.get("identity") or {}))
        users = dict(identity.get("userAssignedIdentities") or {})
        kept = {k: v for k, v in users.items() if k not in dropped}
        has_system = "systemassigned" in str(identity.get("type", "")).lower()
        kinds = [
            *(["SystemAssigned"] if has_system and not drop_system else []),
            *(["UserAssigned"] if kept else []),
        ]
        after_identity: dict[str, Any] = {"type": ", ".join(kinds) or "None"}
        if kept:
            after_identity["userAssignedIdentities"] = kept
        change = Change(
            ChangeOp.UPDATE,
            vm.id,
            ChangeType.AZURE_VM_IDENTITY,
            {"id": vm.id, "identity": identity},
            {"id": vm.id, "identity": after_identity},
            "VirtualMachinesOperations.begin_update",
        )
        steps = [
            *(["turn the system-assigned identity off"] if drop_system else []),
            *(f"remove user-assigned identity {d.rsplit('/', 1)[-1]}" for d in dropped),
        ]
        radius = (
            f"code on {vm.name} can no longer get tokens for the removed identities; "
            "user-assigned identities and their role assignments still exist"
        )
        if drop_system:
            radius += (
                "; the system-assigned identity's principal is deleted — undo cannot bring it "
                "back (a re-enabled identity gets a new principal without the old roles); "
                "use --intent revoke_identity_roles for a reversible fix"
            )
        return Detachment(change, f"VM {vm.name}: " + "; ".join(steps), radius, drop_system)
