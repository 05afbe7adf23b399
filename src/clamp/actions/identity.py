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

import copy
from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.interface import INTENTS, NO_PARAMS, VM_TARGETS, Category, Intent
from clamp.actions.params import checked_params
from clamp.checks import evaluate
from clamp.checks.identity import BROAD_GCP_ROLES, DEFAULT_ACCOUNT, azure_roles
from clamp.checks.interface import Inventory
from clamp.config import Settings
from clamp.errors import NothingToDo, PlanRefused
from clamp.model import (
    Change,
    ChangeOp,
    ChangeType,
    Finding,
    Plan,
    Provider,
    Resource,
    ResourceType,
)
from clamp.providers.gcp.normalize import resources_from_compute

ASSIGNMENT_TYPE = ChangeType.AZURE_ROLE_ASSIGNMENT
VM_TYPE = ChangeType.AZURE_VM_IDENTITY
POLICY_TYPE = ChangeType.GCP_PROJECT_POLICY
ACCOUNTS_TYPE = ChangeType.GCP_INSTANCE_ACCOUNTS
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
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


def _flagged(finding: Finding) -> list[Mapping[str, Any]]:
    return [i for i in finding.details.get("identities") or [] if isinstance(i, Mapping)]


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
        if resource.provider == Provider.AZURE:
            principals = {p["principal_id"] for p in resource.facets.get("principals") or ()}
            changes, summary, radius = self._azure(resource, context, principals, broad_only=True)
            remaining = [r for r in context if r.id not in {c.target for c in changes}]
        else:
            members = {f"serviceAccount:{i.get('email')}" for i in _flagged(finding)}
            changes, summary, radius, edited = self._gcp(
                resource, context, members, BROAD_GCP_ROLES
            )
            remaining = [edited if r.id == edited.id else r for r in context]
        if not changes:
            raise PlanRefused(
                "the VM's identity holds no broad role that Clamp can revoke",
                hint="use --intent detach_identity (e.g. it runs as the default service account)",
            )
        _still_fixes(
            self.name,
            finding,
            [resource, *remaining],
            settings,
            "it runs as the Compute Engine default service account: use --intent detach_identity",
        )
        return Plan(
            intent=self.name,
            finding=finding.id,
            resource=resource.id,
            provider=resource.provider,
            summary=summary,
            changes=changes,
            reversible=True,
            blast_radius=radius,
            permissions=self.permissions[resource.provider],
            params={},
        )

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
        vms = [resource, *([origin] if origin is not None else [])]
        context = [r for r in context if r.id != resource.id]
        if resource.provider == Provider.AZURE:
            principals = {
                p["principal_id"] for vm in vms for p in vm.facets.get("principals") or ()
            }
            changes, summary, radius = self._azure(resource, context, principals, broad_only=False)
        else:
            members = {
                f"serviceAccount:{sa.get('email')}"
                for vm in vms
                for sa in vm.raw.get("serviceAccounts") or []
            }
            changes, summary, radius, _ = self._gcp(resource, context, members, None)
        if not changes:
            raise NothingToDo(f"the identity of {resource.name} holds no role Clamp can revoke")
        return Plan(
            intent=self.name,
            finding="",
            resource=resource.id,
            provider=resource.provider,
            summary=summary,
            changes=changes,
            reversible=True,
            blast_radius=radius,
            permissions=self.permissions[resource.provider],
            params={},
        )

    @staticmethod
    def _azure(
        vm: Resource, context: Sequence[Resource], principals: set[str], *, broad_only: bool
    ) -> tuple[tuple[Change, ...], str, str]:
        found = azure_roles(Inventory(context), principals, broad_only=broad_only)
        changes = tuple(
            Change(
                ChangeOp.DELETE,
                assignment.id,
                ASSIGNMENT_TYPE,
                copy.deepcopy(dict(assignment.raw)),
                None,
                "RoleAssignmentsOperations.delete_by_id",
            )
            for assignment, _ in found
        )
        words = [f"{role} at {a.facets['scope']}" for a, role in found]
        summary = f"revoke from VM {vm.name}'s identity: " + "; ".join(words)
        radius = (
            f"code on {vm.name} that uses its managed identity loses {', '.join(words)}; "
            "the identity keeps any narrower roles, other principals are unaffected; undo "
            "re-creates the same assignments"
        )
        return changes, summary, radius

    @staticmethod
    def _gcp(
        instance: Resource,
        context: Sequence[Resource],
        members: set[str],
        roles: Collection[str] | None,
    ) -> tuple[tuple[Change, ...], str, str, Resource]:
        """Remove ``members`` from the bindings of ``roles`` (every role when None)."""
        policy = next((r for r in context if r.type == ResourceType.GCP_PROJECT_POLICY), None)
        if policy is None:
            raise PlanRefused(f"the IAM policy of project {instance.scope} was not read")
        after = copy.deepcopy(dict(policy.raw))
        removed = []
        for binding in after.get("bindings") or []:
            if roles is not None and binding.get("role") not in roles:
                continue
            gone = [m for m in binding.get("members") or [] if m in members]
            removed += [f"{m} from {binding['role']}" for m in gone]
            binding["members"] = [m for m in binding.get("members") or [] if m not in members]
        after["bindings"] = [b for b in after.get("bindings") or [] if b.get("members")]
        if not removed:
            return (), "", "", policy
        [edited] = resources_from_compute(policy.scope, [after])
        change = Change(
            ChangeOp.UPDATE,
            policy.id,
            POLICY_TYPE,
            copy.deepcopy(dict(policy.raw)),
            after,
            "ProjectsClient.set_iam_policy",
        )
        accounts = ", ".join(sorted(m.removeprefix("serviceAccount:") for m in members))
        summary = f"project {policy.scope} IAM policy: remove {', '.join(removed)}"
        radius = (
            f"every workload running as {accounts} — not only instance {instance.name} — loses "
            "these roles in the project; other bindings are unchanged; the write carries the "
            "policy's etag, so a concurrent change is never overwritten"
        )
        return (change,), summary, radius, edited


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
        if resource.provider == Provider.AZURE:
            flagged = [i for i in _flagged(finding) if i.get("roles")]
            drop_system = any(i.get("kind") == "system" for i in flagged)
            users = [str(i["id"]) for i in flagged if i.get("kind") == "user"]
            return self._plan(finding.id, resource, checked, users, drop_system=drop_system)
        return self._plan(finding.id, resource, checked)

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
        if resource.provider == Provider.AZURE:
            identity = resource.raw.get("identity") or {}
            users = list(identity.get("userAssignedIdentities") or {})
            has_system = "systemassigned" in str(identity.get("type", "")).lower()
            drop_system = has_system and self.irreversible_with(checked)
            if not users and not drop_system:
                raise NothingToDo(
                    f"VM {resource.name} has no user-assigned identity to detach (a "
                    "system-assigned one stays unless system_identity=disable: turning it off "
                    "cannot be undone; revoke_identity_roles takes its roles)"
                )
            return self._plan("", resource, checked, users, drop_system=drop_system)
        if not resource.raw.get("serviceAccounts") and not checked.get("service_account"):
            raise NothingToDo(f"instance {resource.name} runs with no service account")
        return self._plan("", resource, checked)

    def _plan(
        self,
        finding: str,
        resource: Resource,
        checked: Mapping[str, Any],
        users: Sequence[str] = (),
        *,
        drop_system: bool = False,
    ) -> Plan:
        if resource.provider == Provider.AZURE:
            if "service_account" in checked:
                raise PlanRefused("service_account is for GCP; on Azure identities are removed")
            change, summary, radius = self._azure(resource, users, drop_system=drop_system)
        else:
            if "system_identity" in checked:
                raise PlanRefused("system_identity is for Azure VMs; GCP instances have none")
            change, summary, radius = self._gcp(resource, checked.get("service_account"))
        return Plan(
            intent=self.name,
            finding=finding,
            resource=resource.id,
            provider=resource.provider,
            summary=summary,
            changes=(change,),
            reversible=not drop_system,
            irreversible=drop_system,
            blast_radius=radius,
            permissions=self.permissions[resource.provider],
            params=checked,
        )

    @staticmethod
    def _azure(
        vm: Resource, dropped: Sequence[str], *, drop_system: bool
    ) -> tuple[Change, str, str]:
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
            VM_TYPE,
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
        return change, f"VM {vm.name}: " + "; ".join(steps), radius

    @staticmethod
    def _gcp(instance: Resource, replacement: str | None) -> tuple[Change, str, str]:
        raw = instance.raw
        before: dict[str, Any] = {
            "status": raw.get("status"),
            "serviceAccounts": [
                {"email": sa.get("email"), "scopes": list(sa.get("scopes") or [])}
                for sa in raw.get("serviceAccounts") or []
            ],
        }
        if replacement and replacement.endswith(DEFAULT_ACCOUNT):
            raise PlanRefused("the replacement must not be the Compute Engine default account")
        accounts = [{"email": replacement, "scopes": [CLOUD_PLATFORM]}] if replacement else []
        change = Change(
            ChangeOp.UPDATE,
            instance.id,
            ACCOUNTS_TYPE,
            before,
            {**before, "serviceAccounts": accounts},
            "InstancesClient.set_service_account_unary",
        )
        old = ", ".join(str(a["email"]) for a in before["serviceAccounts"]) or "none"
        running = raw.get("status") == "RUNNING"
        summary = (
            f"instance {instance.name}: "
            + ("STOP it, " if running else "")
            + f"set its service account to {replacement or 'none'} (was {old})"
            + (", START it again" if running else "")
        )
        radius = (
            (f"{instance.name} is down while it restarts; " if running else "")
            + "code on it can no longer use "
            + old
            + "'s token; "
            + (f"it runs as {replacement} instead" if replacement else "it runs with no identity")
            + "; undo restores the account and scopes the same way (stop, set, start)"
        )
        return change, summary, radius
