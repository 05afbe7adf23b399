"""VM identities with far more power than a workload needs (a stolen token owns the scope).

- Azure: a VM whose system- or user-assigned managed identity holds Owner, Contributor,
  User Access Administrator or any role with ``*`` actions at subscription, management
  group or resource-group scope (assignments to a single resource are not reported).
- GCP: an instance that runs as the Compute Engine default service account, or with the
  ``cloud-platform`` scope as a service account that holds ``roles/owner`` or
  ``roles/editor`` in the project's IAM policy.

``details``: ``identities`` (Azure: kind, principal id, user-assigned identity id; GCP:
email, whether it is the default account, its OAuth scopes) and ``roles`` (Azure: role,
scope, assignment id; GCP: the broad project roles of the account). Critical when the
identity can grant access itself (Owner, User Access Administrator) or holds
owner/editor with the cloud-platform scope.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from clamp.checks.interface import CHECKS, Check, Inventory
from clamp.identity_roles import (
    BROAD_GCP_ROLES,
    CLOUD_PLATFORM,
    DEFAULT_ACCOUNT,
    GRANTING,
    azure_roles,
)
from clamp.model import Finding, Provider, Resource, ResourceType, Severity


def broad_azure_roles(inventory: Inventory, principals: set[str]) -> list[tuple[Resource, str]]:
    """The role assignments (with role names) that make any of ``principals`` overpowered."""
    return azure_roles(
        inventory.of_type(ResourceType.AZURE_ROLE_DEFINITION),
        inventory.of_type(ResourceType.AZURE_ROLE_ASSIGNMENT),
        principals,
        broad_only=True,
    )


def broad_gcp_roles(inventory: Inventory, instance: Resource, email: str) -> list[str]:
    """The owner/editor roles ``email`` holds in the instance's project policy."""
    member = f"serviceAccount:{email}"
    return [
        role
        for policy in inventory.of_type(ResourceType.GCP_PROJECT_POLICY)
        if policy.scope == instance.scope
        for role, who in policy.facets["bindings"]
        if who == member and role in BROAD_GCP_ROLES
    ]


@CHECKS.register("vm-identity-overprivileged")
class VmIdentityOverprivileged(Check):
    """A VM's identity can change (or take over) its whole subscription or project."""

    id = "vm-identity-overprivileged"
    title = "VM identity holds broad rights over its subscription or project"
    severity = Severity.HIGH
    rationale = (
        "Anyone who runs code on the VM can take its identity's token from the metadata "
        "service; an identity with Owner/Contributor or owner/editor rights turns one "
        "compromised VM into a compromised subscription or project."
    )

    def evaluate(self, inventory: Inventory) -> Iterator[Finding]:
        """Findings on every overpowered VM or instance."""
        for vm in inventory.of_type(ResourceType.AZURE_VM):
            finding = self._azure(inventory, vm)
            if finding is not None:
                yield finding
        for instance in inventory.of_type(ResourceType.GCP_INSTANCE):
            finding = self._gcp(inventory, instance)
            if finding is not None:
                yield finding

    def _finding(self, vm: Resource, severity: Severity, details: dict[str, Any]) -> Finding:
        return Finding(
            self.id,
            vm.provider,
            vm.id,
            vm.scope,
            severity,
            f"{'VM' if vm.provider == Provider.AZURE else 'instance'} {vm.name}: identity "
            f"with {', '.join(sorted({str(r['role']) for r in details['roles']})) or 'broad access'}",
            details,
        )

    def _azure(self, inventory: Inventory, vm: Resource) -> Finding | None:
        principals = {p["principal_id"] for p in vm.facets.get("principals") or ()}
        assignments = broad_azure_roles(inventory, principals)
        if not assignments:
            return None
        by_principal: dict[str, list[str]] = defaultdict(list)
        roles = []
        for assignment, role in assignments:
            by_principal[assignment.facets["principal_id"]].append(role)
            roles.append(
                {"role": role, "scope": assignment.facets["scope"], "assignment": assignment.id}
            )
        granting = any(r["role"] in GRANTING for r in roles)
        details = {
            "identities": [
                {**p, "roles": by_principal.get(p["principal_id"], [])}
                for p in vm.facets["principals"]
            ],
            "roles": roles,
        }
        return self._finding(vm, Severity.CRITICAL if granting else self.severity, details)

    def _gcp(self, inventory: Inventory, instance: Resource) -> Finding | None:
        identities, roles = [], []
        worst = Severity.INFO
        for email in instance.facets["service_accounts"]:
            scopes = tuple(instance.facets.get("scopes", {}).get(email, ()))
            broad = broad_gcp_roles(inventory, instance, email)
            default = email.endswith(DEFAULT_ACCOUNT)
            cloud_platform = CLOUD_PLATFORM in scopes
            if not default and not (cloud_platform and broad):
                continue
            severity = (
                Severity.CRITICAL
                if cloud_platform and broad
                else Severity.HIGH
                if cloud_platform
                else Severity.MEDIUM
            )
            worst = max(worst, severity, key=lambda s: s.rank)
            identities.append({"email": email, "default": default, "scopes": list(scopes)})
            roles += [{"role": role, "member": f"serviceAccount:{email}"} for role in broad]
        if not identities:
            return None
        return self._finding(instance, worst, {"identities": identities, "roles": roles})
