"""Compute Engine: change one rule of a network firewall policy (global or regional)
through google-api-python-client's discovery client (``compute v1``, as
``firewall_policies`` reads them).

``networkFirewallPolicies.patchRule`` / ``regionNetworkFirewallPolicies.patchRule`` take
``priority`` and ``requestId`` only (compute.v1.json): no fingerprint or other condition —
the policy's ``fingerprint`` guards ``patch`` of the policy, not ``patchRule``. So the rule
is re-read with ``getRule`` just before the write and compared with the plan's image
(``ConflictError``, nothing written, if it drifted). The write is a ``compute#operation``,
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
        """The rule as Compute has it now (``getRule``)."""
        project, region, policy, priority = rule_ref(change.target)
        where = {"region": region} if region else {}
        rule: dict[str, Any] = call(
            f"read rule {priority} of firewall policy {policy} in {project}",
            GET[region is not None],
            self._api(region is not None)
            .getRule(project=project, firewallPolicy=policy, priority=priority, **where)
            .execute,
        )
        return rule

    def apply(self, change: Change) -> None:
        """``patchRule`` with the plan's image, if the rule is still what the plan read."""
        if change.op != ChangeOp.UPDATE:
            raise InputError(f"Clamp only updates firewall policy rules, not {change.op}")
        project, region, policy, priority = rule_ref(change.target)
        now = self.current(change)
        if not matches(change.before or {}, now):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        body = _body(change.after or {})
        where = {"region": region} if region else {}
        request = self._api(region is not None).patchRule(
            project=project,
            firewallPolicy=policy,
            priority=priority,
            body=body,
            requestId=str(uuid.uuid4()),  # one id for every retry: applied at most once
            **where,
        )
        op = call(
            f"patch rule {priority} of firewall policy {policy}",
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
