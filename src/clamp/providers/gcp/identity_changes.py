"""A Compute Engine instance's service account and its project roles in Compute's and
Resource Manager's shapes (pure: the changes ``IdentityService`` and ``InstanceService``
apply).

Revoking removes the account's members from the project IAM policy's bindings
(``setIamPolicy`` with the policy's etag, so a concurrent grant is never overwritten);
detaching sets the instance's ``serviceAccounts`` (``setServiceAccount``, which Compute
allows only on a stopped instance: the driver stops a running one and starts it again).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from typing import Any

from clamp.errors import NothingToDo, PlanRefused
from clamp.identity_roles import BROAD_GCP_ROLES, CLOUD_PLATFORM, DEFAULT_ACCOUNT
from clamp.model import Change, ChangeOp, ChangeType, Finding, Provider, Resource, ResourceType
from clamp.providers.gcp.normalize import resources_from_compute
from clamp.providers.identity_changes import (
    Detach,
    Detachment,
    IdentityChanges,
    Revocation,
    flagged_identities,
)


class GceIdentityChanges(IdentityChanges):
    """A Compute Engine instance's service account and the project's IAM policy."""

    provider = Provider.GCP

    def holders(self, vm: Resource) -> set[str]:
        """``serviceAccount:<email>`` of the accounts the instance runs as."""
        return {f"serviceAccount:{sa.get('email')}" for sa in vm.raw.get("serviceAccounts") or []}

    def flagged(self, vm: Resource, finding: Finding) -> set[str]:
        """``serviceAccount:<email>`` of the accounts the finding reports."""
        return {f"serviceAccount:{i.get('email')}" for i in flagged_identities(finding)}

    def revocation(
        self,
        vm: Resource,
        context: Sequence[Resource],
        holders: Collection[str],
        *,
        broad_only: bool,
    ) -> Revocation:
        """The project policy without ``holders`` in the bindings of owner/editor (every
        role unless ``broad_only``); refused when the policy was not read."""
        roles = BROAD_GCP_ROLES if broad_only else None
        policy = next((r for r in context if r.type == ResourceType.GCP_PROJECT_POLICY), None)
        if policy is None:
            raise PlanRefused(f"the IAM policy of project {vm.scope} was not read")
        after = copy.deepcopy(dict(policy.raw))
        removed = []
        for binding in after.get("bindings") or []:
            if roles is not None and binding.get("role") not in roles:
                continue
            gone = [m for m in binding.get("members") or [] if m in holders]
            removed += [f"{m} from {binding['role']}" for m in gone]
            binding["members"] = [m for m in binding.get("members") or [] if m not in holders]
        after["bindings"] = [b for b in after.get("bindings") or [] if b.get("members")]
        if not removed:
            return Revocation((), "", "", tuple(context))
        [edited] = resources_from_compute(policy.scope, [after])
        change = Change(
            ChangeOp.UPDATE,
            policy.id,
            ChangeType.GCP_PROJECT_POLICY,
            copy.deepcopy(dict(policy.raw)),
            after,
            "ProjectsClient.set_iam_policy",
        )
        accounts = ", ".join(sorted(m.removeprefix("serviceAccount:") for m in holders))
        return Revocation(
            changes=(change,),
            summary=f"project {policy.scope} IAM policy: remove {', '.join(removed)}",
            blast_radius=(
                f"every workload running as {accounts} — not only instance {vm.name} — loses "
                "these roles in the project; other bindings are unchanged; the write carries "
                "the policy's etag, so a concurrent change is never overwritten"
            ),
            after=tuple(edited if r.id == edited.id else r for r in context),
        )

    def detach_flagged(self, vm: Resource, finding: Finding, asked: Detach) -> Detachment:
        """Run the instance as ``asked.replacement``, or as no account."""
        return self._detach(vm, asked)

    def detach_all(self, vm: Resource, asked: Detach) -> Detachment:
        """The same; nothing to do when the instance runs as no account and no replacement
        is asked for."""
        if not vm.raw.get("serviceAccounts") and not asked.replacement:
            raise NothingToDo(f"instance {vm.name} runs with no service account")
        return self._detach(vm, asked)

    @staticmethod
    def _detach(instance: Resource, asked: Detach) -> Detachment:
        if asked.disable_system is not None:
            raise PlanRefused("system_identity is for Azure VMs; GCP instances have none")
        replacement = asked.replacement
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
            ChangeType.GCP_INSTANCE_ACCOUNTS,
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
        return Detachment(change, summary, radius, irreversible=False)
