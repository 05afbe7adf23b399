"""``revoke_identity_roles`` and ``detach_identity``: take broad power away from a VM's
identity (used by remediation, and by incident response to contain a VM).

- ``revoke_identity_roles`` — Azure: delete the broad role assignments of the VM's
  identities (undo re-creates them with the same ids); GCP: remove the instance's service
  account from ``roles/owner``/``roles/editor`` in the project policy, with the policy's
  etag (undo puts the bindings back).
- ``detach_identity`` — Azure: remove the overpowered user-assigned identities from the VM
  and turn an overpowered system-assigned one off (that one cannot be undone faithfully:
  Azure gives a re-enabled identity a new principal); GCP: stop the instance, set its
  service account to none or to a given least-privilege account, start it again.

Both plan from the VM and what was read with it (role assignments, the project policy) and
refuse when the change would not make the finding go away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.interface import INTENTS, NO_PARAMS, VM_TARGETS, Category, Intent
from clamp.actions.params import checked_params
from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import NothingToDo, PlanRefused
from clamp.model import Finding, Plan, Provider, Resource, ResourceType
from clamp.providers.factory import identity_changes
from clamp.providers.identity_changes import Detach, Detachment, Revocation

CHECK = "vm-identity-overprivileged"


def _check_target(name: str, finding: Finding, resource: Resource) -> None:
    if resource.type not in (ResourceType.AZURE_VM, ResourceType.GCP_INSTANCE):
        raise PlanRefused(f"{name} cannot change a {resource.type}")
    if finding.resource.lower() != resource.id.lower():
        raise PlanRefused(f"{resource.id} is not the resource of finding {finding.id}")


def _still_fixes(
    name: str, finding: Finding, resources: Sequence[Resource], settings: Settings, hint: str
) -> None:
    """Refuse unless the finding is gone from the resources as the plan leaves them."""
    if any(f.id == finding.id for f in evaluate(resources, settings)):
        raise PlanRefused(f"{name} alone would not make finding {finding.id} go away", hint=hint)


@INTENTS.register("revoke_identity_roles")
class RevokeIdentityRoles(Intent):
    """Remove the broad roles a VM's identity holds at subscription/group or project level."""

    name = "revoke_identity_roles"
    category = Category.REMEDIATION
    reversible = True
    fixes = (CHECK,)
    preferred = fixes
    targets = VM_TARGETS
    params_schema: ClassVar[Mapping[str, Any]] = NO_PARAMS
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (
            "Microsoft.Authorization/roleAssignments/read",
            "Microsoft.Authorization/roleAssignments/delete",
            "Microsoft.Authorization/roleAssignments/write",
        ),
        Provider.GCP: (
            "resourcemanager.projects.getIamPolicy",
            "resourcemanager.projects.setIamPolicy",
        ),
    }

    def plan(
        self,
        finding: Finding,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """Delete the broad assignments (Azure) or bindings (GCP) of the VM's identity."""
        checked_params(self.name, self.params_schema, params)
        _check_target(self.name, finding, resource)
        context = [r for r in context if r.id != resource.id]
        identity = identity_changes(resource.provider)
        holders = identity.flagged(resource, finding)
        revocation = identity.revocation(resource, context, holders, broad_only=True)
        if not revocation.changes:
            raise PlanRefused(
                "the VM's identity holds no broad role that Clamp can revoke",
                hint="use --intent detach_identity (e.g. it runs as the default service account)",
            )
        _still_fixes(
            self.name,
            finding,
            [resource, *revocation.after],
            settings,
            "it runs as the Compute Engine default service account: use --intent detach_identity",
        )
        return self._plan(finding.id, resource, revocation)

    def contain(
        self,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
        *,
        origin: Resource | None = None,
    ) -> Plan:
        """Incident response: revoke every role of the identities the VM runs (or ran, when
        the response began) as — not only the broad ones."""
        checked_params(self.name, self.params_schema, params)
        identity = identity_changes(resource.provider)
        vms = [resource, *([origin] if origin is not None else [])]
        holders = set().union(*(identity.holders(vm) for vm in vms))
        context = [r for r in context if r.id != resource.id]
        revocation = identity.revocation(resource, context, holders, broad_only=False)
        if not revocation.changes:
            raise NothingToDo(f"the identity of {resource.name} holds no role Clamp can revoke")
        return self._plan("", resource, revocation)

    def _plan(self, finding: str, resource: Resource, revocation: Revocation) -> Plan:
        return Plan(
            intent=self.name,
            finding=finding,
            resource=resource.id,
            provider=resource.provider,
            summary=revocation.summary,
            changes=revocation.changes,
            reversible=True,
            blast_radius=revocation.blast_radius,
            permissions=self.permissions[resource.provider],
            params={},
        )


@INTENTS.register("detach_identity")
class DetachIdentity(Intent):
    """Take the overpowered identity off the VM (GCP: stop, change the account, start)."""

    name = "detach_identity"
    category = Category.REMEDIATION
    reversible = True
    fixes = (CHECK,)
    targets = VM_TARGETS
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "service_account": {
                "type": "string",
                "description": "GCP: a least-privilege service account to run as instead of none",
            },
            "system_identity": {
                "type": "string",
                "enum": ["keep", "disable"],
                "description": "Azure, incident response: disable the system-assigned identity "
                "too (irreversible: its principal is deleted); default keep",
            },
        },
        "additionalProperties": False,
    }

    @classmethod
    def irreversible_with(cls, params: Mapping[str, Any]) -> bool:
        """Disabling a system-assigned identity deletes its principal for good."""
        return params.get("system_identity") == "disable"

    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: (
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/write",
            "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
        ),
        Provider.GCP: (
            "compute.instances.get",
            "compute.instances.stop",
            "compute.instances.start",
            "compute.instances.setServiceAccount",
            "compute.zoneOperations.get",
            "iam.serviceAccounts.actAs",
        ),
    }

    def plan(
        self,
        finding: Finding,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """The VM's identity change, and whether it can be undone."""
        checked = checked_params(self.name, self.params_schema, params)
        _check_target(self.name, finding, resource)
        identity = identity_changes(resource.provider)
        detachment = identity.detach_flagged(resource, finding, _asked(checked))
        return self._plan(finding.id, resource, checked, detachment)

    def contain(
        self,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
        *,
        origin: Resource | None = None,
    ) -> Plan:
        """Incident response: take every identity off the VM that can be given back
        (Azure: the user-assigned ones; a system-assigned identity stays, and
        ``revoke_identity_roles`` takes its roles — unless ``system_identity=disable``)."""
        checked = checked_params(self.name, self.params_schema, params)
        detachment = identity_changes(resource.provider).detach_all(resource, _asked(checked))
        return self._plan("", resource, checked, detachment)

    def _plan(
        self, finding: str, resource: Resource, checked: Mapping[str, Any], detachment: Detachment
    ) -> Plan:
        return Plan(
            intent=self.name,
            finding=finding,
            resource=resource.id,
            provider=resource.provider,
            summary=detachment.summary,
            changes=(detachment.change,),
            reversible=not detachment.irreversible,
            irreversible=detachment.irreversible,
            blast_radius=detachment.blast_radius,
            permissions=self.permissions[resource.provider],
            params=checked,
        )


def _asked(checked: Mapping[str, Any]) -> Detach:
    """``detach_identity``'s parameters in Clamp's terms."""
    system = checked.get("system_identity")
    return Detach(
        replacement=checked.get("service_account"),
        disable_system=None if system is None else system == "disable",
    )
