"""Compute Engine: change one rule of a network firewall policy (global or regional)
through google-api-python-client's discovery client (``compute v1``, as
``firewall_policies`` reads them).

``patchRule``, ``addRule`` and ``removeRule`` (of ``networkFirewallPolicies`` /
``regionNetworkFirewallPolicies``) take ``priority`` and ``requestId`` only
(compute.v1.json; ``addRule`` also ``minPriority``/``maxPriority``, unused: the rule names
its priority): no fingerprint or other condition — the policy's ``fingerprint`` guards
``patch`` of the policy, not its rules. So the policy is re-read (``get``) just before the
write and the rule at that priority compared with the plan's image (``ConflictError``,
nothing written, if it drifted; for ``addRule``, if the priority is no longer free; a
``removeRule`` of a rule already gone does nothing). The write is a ``compute#operation``,
waited on with ``globalOperations.wait`` / ``regionOperations.wait`` through the same client.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from clamp.compare import matches
from clamp.errors import CloudError, CloudUnavailable, ConflictError, InputError
from clamp.model import Change, ChangeOp
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.operations import WAIT_CALLS
from clamp.providers.gcp.policy_rule_changes import RULE_TYPE, rule_ref
from clamp.providers.interface import ProgressCallback

GET = {False: "compute.firewallPolicies.get", True: "compute.regionFirewallPolicies.get"}
UPDATE = {False: "compute.firewallPolicies.update", True: "compute.regionFirewallPolicies.update"}
WAIT = {False: "compute.globalOperations.get", True: "compute.regionOperations.get"}
OUTPUT_ONLY = ("kind", "ruleTupleCount")


class PolicyRuleService:
    """Rules of the project's network firewall policies (written; read with the networks)."""

    change_types = frozenset({RULE_TYPE})

    def __init__(self, clients: GcpClients) -> None:
        self.clients = clients

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Nothing: the rules are read with each network (``firewall_policies``)."""
        return []

    def owns(self, resource_id: str) -> bool:
        """No resource of its own: a policy rule is judged on its network."""
        return False

    def read(self, resource_id: str) -> tuple[str, list[dict[str, Any]]]:
        """Never called (``owns`` is always False)."""
        raise InputError(f"a firewall policy rule is read with its network: {resource_id}")

    def context(self, resource_id: str) -> list[dict[str, Any]]:
        """Nothing."""
        return []

    def _api(self, regional: bool) -> Any:
        api = self.clients.compute_api
        return api.regionNetworkFirewallPolicies() if regional else api.networkFirewallPolicies()

    def current(self, change: Change) -> dict[str, Any] | None:
        """The rule at the change's priority as Compute has it now (the policy's ``get``),
        or None when the policy has no rule there."""
        project, region, policy, priority = rule_ref(change.target)
        where = {"region": region} if region else {}
        found: dict[str, Any] = call(
            f"read firewall policy {policy} in {project}",
            GET[region is not None],
            self._api(region is not None)
            .get(project=project, firewallPolicy=policy, **where)
            .execute,
        )
        return next((r for r in found.get("rules") or () if r.get("priority") == priority), None)

    def apply(self, change: Change) -> None:
        """``patchRule`` / ``addRule`` / ``removeRule`` with the plan's image, if the rule
        is still what the plan read (for ``addRule``: its priority still free)."""
        project, region, policy, priority = rule_ref(change.target)
        now = self.current(change)
        if now is None and change.op == ChangeOp.DELETE:
            return  # already gone
        if now is not None and change.op == ChangeOp.CREATE:
            raise ConflictError(
                f"priority {priority} of firewall policy {policy} is taken (by a rule for other "
                "networks, which the network's effective firewalls do not list, or one added "
                "since); nothing was changed",
                hint="free that priority in the policy, or split the rule by hand",
            )
        if not matches(change.before, now):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        api = self._api(region is not None)
        where = {"region": region} if region else {}
        # one requestId for every retry: applied at most once
        common = {"project": project, "firewallPolicy": policy, "requestId": str(uuid.uuid4())}
        match change.op:
            case ChangeOp.UPDATE:
                request = api.patchRule(
                    priority=priority, body=_body(change.after or {}), **common, **where
                )
                verb = "patch"
            case ChangeOp.CREATE:
                request = api.addRule(body=_body(change.after or {}), **common, **where)
                verb = "add"
            case ChangeOp.DELETE:
                request = api.removeRule(priority=priority, **common, **where)
                verb = "remove"
        op = call(
            f"{verb} rule {priority} of firewall policy {policy}",
            UPDATE[region is not None],
            request.execute,
        )
        self._wait(project, region, op)

    def _wait(self, project: str, region: str | None, op: Mapping[str, Any]) -> None:
        api = self.clients.compute_api
        for _ in range(WAIT_CALLS):
            if op.get("status") == "DONE":
                break
            name = str(op.get("name"))
            request = (
                api.regionOperations().wait(project=project, region=region, operation=name)
                if region
                else api.globalOperations().wait(project=project, operation=name)
            )
            op = call("wait for an operation", WAIT[region is not None], request.execute)
        else:
            raise CloudUnavailable(
                f"operation {op.get('name')} on {op.get('targetLink')} is still "
                f"{op.get('status')}; its outcome is unknown",
                hint="re-read the firewall policy before retrying",
            )
        errors = (op.get("error") or {}).get("errors") or []
        if errors:
            first = errors[0]
            raise CloudError(
                f"operation {op.get('name')} on {op.get('targetLink')} failed: "
                f"{first.get('code')}: {first.get('message')}"
            )


def _body(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The rule as ``patchRule``'s body: output-only fields dropped, ``disabled`` explicit
    (so an undo re-enables a rule the fix disabled)."""
    body = {k: v for k, v in rule.items() if k not in OUTPUT_ONLY}
    body["disabled"] = bool(rule.get("disabled", False))
    return body
