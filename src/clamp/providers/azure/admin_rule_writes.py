"""Azure Virtual Network Manager: change one security admin rule and deploy it, through
azure-mgmt-network (api-version 2026-03-01).

``AdminRulesOperations.create_or_update`` declares no ``If-Match`` (the REST spec's
``AdminRules_CreateOrUpdate`` takes none; the SDK sends none), so the rule is re-read with
``get`` just before the PUT and compared with the plan's image (``ConflictError``, nothing
written, if it drifted). A changed rule takes effect only once its configuration is
committed (Microsoft docs, "Configuration deployments in Azure Virtual Network Manager": a
commit to a region replaces the configurations of that type deployed there), so after the
PUT Clamp lists what is deployed (``NetworkManagerDeploymentStatusOperations.list``,
``SecurityAdmin``) and, for every region the rule's configuration is deployed to, commits
that region's same list of configurations again (``NetworkManagerCommitsOperations.
begin_post``, long-running) — other configurations stay deployed as they were.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.network.models import (
    AdminRule,
    NetworkManagerCommit,
    NetworkManagerDeploymentStatusParameter,
)

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp
from clamp.providers.azure.admin_rule_changes import ADMIN_RULE_TYPE
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.interface import ProgressCallback

MANAGERS = "Microsoft.Network/networkManagers"
RULE_READ = f"{MANAGERS}/securityAdminConfigurations/ruleCollections/rules/read"
RULE_WRITE = f"{MANAGERS}/securityAdminConfigurations/ruleCollections/rules/write"
RULE_DELETE = f"{MANAGERS}/securityAdminConfigurations/ruleCollections/rules/delete"
DEPLOYMENTS_READ = f"{MANAGERS}/listDeploymentStatus/action"
COMMIT = f"{MANAGERS}/commit/action"
SECURITY_ADMIN = "SecurityAdmin"


def admin_rule_ref(arm_id: str) -> tuple[str, str, str, str, str, str]:
    """(subscription, group, manager, configuration, collection, rule) of a rule's ARM id."""
    parts = arm_id.strip("/").split("/")
    lower = [p.lower() for p in parts]
    shape = [
        "subscriptions",
        "resourcegroups",
        "providers",
        "networkmanagers",
        "securityadminconfigurations",
        "rulecollections",
        "rules",
    ]
    if len(parts) != 14 or [lower[i] for i in (0, 2, 4, 6, 8, 10, 12)] != shape:
        raise InputError(f"not a security admin rule id: {arm_id}")
    return parts[1], parts[3], parts[7], parts[9], parts[11], parts[13]


class AdminRuleService:
    """Security admin rules (written; read with each VNet's effective admin rules)."""

    change_types = frozenset({ADMIN_RULE_TYPE})

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Nothing: the rules in effect are read per VNet (``admin_rules``)."""
        return []

    def owns(self, resource_id: str) -> bool:
        """No resource of its own: an admin rule is judged on the VNets it applies to."""
        return False

    def read(self, resource_id: str) -> list[dict[str, Any]]:
        """Never called (``owns`` is always False)."""
        raise InputError(f"a security admin rule is read with its VNet: {resource_id}")

    def context(self, resource_id: str) -> list[dict[str, Any]]:
        """Nothing."""
        return []

    def current(self, change: Change) -> dict[str, Any] | None:
        """The rule as the network manager has it now (``get``), or None."""
        subscription, group, manager, config, collection, rule = admin_rule_ref(change.target)
        rules = self.clients.network(subscription).admin_rules
        try:
            with translated(f"read {change.target}", RULE_READ):
                found: dict[str, Any] = rules.get(
                    group, manager, config, collection, rule
                ).as_dict()
        except ResourceNotFound:
            return None
        return found

    def apply(self, change: Change) -> None:
        """PUT (or DELETE) the rule if it is still what the plan read (a rule to create:
        if its name is still free), then commit its configuration again wherever it is
        deployed."""
        subscription, group, manager, config, collection, rule = admin_rule_ref(change.target)
        network = self.clients.network(subscription)
        now = self.current(change)
        if change.op == ChangeOp.DELETE and now is None:
            return  # already gone
        if change.op == ChangeOp.CREATE and now is not None:
            raise ConflictError(
                f"{change.target} exists already; nothing was changed",
                hint="delete or rename that rule in the network manager, then re-run the plan",
            )
        if change.op != ChangeOp.CREATE and not matches(change.before or {}, now):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        args = (group, manager, config, collection, rule)
        if change.op == ChangeOp.DELETE:
            with translated(f"delete {change.target}", RULE_DELETE):
                network.admin_rules.begin_delete(*args).result()
        else:
            after = change.after or {}
            kind = after.get("kind", "Custom")
            body = AdminRule({"kind": kind, "properties": after["properties"]})
            with translated(f"write {change.target}", RULE_WRITE):
                network.admin_rules.create_or_update(*args, body)
        self._commit(network, change.target, group, manager)

    def _commit(self, network: Any, target: str, group: str, manager: str) -> None:
        """Commit the configuration of rule ``target`` again in each region it is
        deployed to, with that region's same list of configurations."""
        configuration = target.split("/ruleCollections/")[0].lower()
        with translated(f"list the deployments of network manager {manager}", DEPLOYMENTS_READ):
            deployed = network.network_manager_deployment_status.list(
                group,
                manager,
                NetworkManagerDeploymentStatusParameter(deployment_types=[SECURITY_ADMIN]),
            )
        for status in deployed.value or []:
            ids = [str(i) for i in status.configuration_ids or []]
            if status.region and configuration in (i.lower() for i in ids):
                commit = NetworkManagerCommit(
                    target_locations=[status.region],
                    configuration_ids=ids,
                    commit_type=SECURITY_ADMIN,
                )
                with translated(f"commit network manager {manager} in {status.region}", COMMIT):
                    network.network_manager_commits.begin_post(group, manager, commit).result()
