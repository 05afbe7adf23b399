"""Every write the GCP driver makes: the google-cloud-* call and the IAM permissions it
needs, by change type and operation.

Sources: the ``iam.permissions`` Google lists per method in the Compute Engine, Cloud
Storage, Cloud SQL Admin and Resource Manager references (https://cloud.google.com/compute/docs/reference/
rest/v1, https://cloud.google.com/iam/docs/permissions-reference). Changing a VPC firewall
also needs ``compute.networks.updatePolicy`` on its network; waiting on an operation needs
``compute.globalOperations.get`` / ``compute.zoneOperations.get``; giving an instance a
service account needs ``iam.serviceAccounts.actAs`` on it, and Clamp stops and starts the
instance around ``setServiceAccount``. A rule of a network firewall policy is re-read
(the policy's ``get``) before ``patchRule`` / ``addRule`` / ``removeRule``: ``compute.firewallPolicies.get`` / ``.update`` for a
global policy, ``compute.regionFirewallPolicies.*`` and ``compute.regionOperations.get``
for a regional one.
"""

from __future__ import annotations

from clamp.errors import InputError
from clamp.model import Change, ChangeOp
from clamp.providers.calls import Call, CallTable
from clamp.providers.gcp.cloudsql import GET as SQL_GET
from clamp.providers.gcp.cloudsql import IP_TYPE as SQL_IP_TYPE
from clamp.providers.gcp.cloudsql import UPDATE as SQL_UPDATE
from clamp.providers.gcp.compute import FIREWALL_TYPE
from clamp.providers.gcp.disks import SNAPSHOT_TYPE
from clamp.providers.gcp.identity import ACCOUNTS_TYPE, POLICY_TYPE
from clamp.providers.gcp.instance import (
    ACCESS_TYPE,
    LABELS_TYPE,
    LIFECYCLE_TYPE,
    STATUS_TYPE,
    TAGS_TYPE,
)
from clamp.providers.gcp.instance_changes import TRANSITIONS
from clamp.providers.gcp.policy_rule_changes import RULE_TYPE, rule_ref
from clamp.providers.gcp.policy_rules import GET as RULE_GET
from clamp.providers.gcp.policy_rules import UPDATE as RULE_UPDATE
from clamp.providers.gcp.policy_rules import WAIT as RULE_WAIT
from clamp.providers.gcp.storage import BUCKET_TYPE
from clamp.providers.gcp.storage import POLICY_TYPE as BUCKET_POLICY_TYPE

ZONE_WAIT = "compute.zoneOperations.get"
FIREWALL = ("compute.networks.updatePolicy", "compute.globalOperations.get")


def _status(change: Change) -> Call:
    """``stop`` / ``start`` / ``suspend`` / ``resume``, by the status before and after."""
    before = str((change.before or {}).get("status"))
    after = str((change.after or {}).get("status"))
    action = TRANSITIONS.get((before, after))
    if action is None:
        raise InputError(f"Clamp cannot take an instance from {before} to {after}")
    return Call(f"InstancesClient.{action}_unary", (f"compute.instances.{action}", ZONE_WAIT))


def _access(change: Change) -> Call:
    """External IPs removed (``deleteAccessConfig``) or given back (``addAccessConfig``)."""
    before = (change.before or {}).get("accessConfigs") or {}
    after = (change.after or {}).get("accessConfigs") or {}
    adds = any(
        config not in before.get(nic, []) for nic, configs in after.items() for config in configs
    )
    if adds:
        return Call(
            "InstancesClient.add_access_config_unary",
            ("compute.instances.addAccessConfig", "compute.subnetworks.useExternalIp", ZONE_WAIT),
        )
    return Call(
        "InstancesClient.delete_access_config_unary",
        ("compute.instances.deleteAccessConfig", ZONE_WAIT),
    )


POLICY_RULE_METHODS = {
    ChangeOp.UPDATE: "patchRule",
    ChangeOp.CREATE: "addRule",
    ChangeOp.DELETE: "removeRule",
}


def _policy_rule(change: Change) -> Call:
    """``patchRule`` / ``addRule`` / ``removeRule`` of a global or a regional network
    firewall policy (after the policy's ``get``)."""
    regional = rule_ref(change.target)[1] is not None
    api = "regionNetworkFirewallPolicies" if regional else "networkFirewallPolicies"
    return Call(
        f"{api}.{POLICY_RULE_METHODS[change.op]}",
        (RULE_UPDATE[regional], RULE_GET[regional], RULE_WAIT[regional]),
    )


CALLS: CallTable = {
    (RULE_TYPE, ChangeOp.UPDATE): _policy_rule,
    (RULE_TYPE, ChangeOp.CREATE): _policy_rule,
    (RULE_TYPE, ChangeOp.DELETE): _policy_rule,
    # Cloud SQL's operations.get needs cloudsql.instances.get (Cloud SQL IAM reference).
    (SQL_IP_TYPE, ChangeOp.UPDATE): Call("sqladmin.instances.patch", (SQL_UPDATE, SQL_GET)),
    (FIREWALL_TYPE, ChangeOp.CREATE): Call(
        "FirewallsClient.insert_unary", ("compute.firewalls.create", *FIREWALL)
    ),
    (FIREWALL_TYPE, ChangeOp.UPDATE): Call(
        "FirewallsClient.update_unary", ("compute.firewalls.update", *FIREWALL)
    ),
    (FIREWALL_TYPE, ChangeOp.DELETE): Call(
        "FirewallsClient.delete_unary", ("compute.firewalls.delete", *FIREWALL)
    ),
    (STATUS_TYPE, ChangeOp.UPDATE): _status,
    (LABELS_TYPE, ChangeOp.UPDATE): Call(
        "InstancesClient.set_labels_unary", ("compute.instances.setLabels", ZONE_WAIT)
    ),
    (TAGS_TYPE, ChangeOp.UPDATE): Call(
        "InstancesClient.set_tags_unary", ("compute.instances.setTags", ZONE_WAIT)
    ),
    (ACCESS_TYPE, ChangeOp.UPDATE): _access,
    (LIFECYCLE_TYPE, ChangeOp.DELETE): Call(
        "InstancesClient.delete_unary", ("compute.instances.delete", ZONE_WAIT)
    ),
    (ACCOUNTS_TYPE, ChangeOp.UPDATE): Call(
        "InstancesClient.set_service_account_unary",
        (
            "compute.instances.setServiceAccount",
            "compute.instances.stop",
            "compute.instances.start",
            "iam.serviceAccounts.actAs",
            ZONE_WAIT,
        ),
    ),
    (POLICY_TYPE, ChangeOp.UPDATE): Call(
        "ProjectsClient.set_iam_policy", ("resourcemanager.projects.setIamPolicy",)
    ),
    (BUCKET_TYPE, ChangeOp.UPDATE): Call("Bucket.patch", ("storage.buckets.update",)),
    (BUCKET_POLICY_TYPE, ChangeOp.UPDATE): Call(
        "Bucket.set_iam_policy", ("storage.buckets.setIamPolicy",)
    ),
    (SNAPSHOT_TYPE, ChangeOp.CREATE): Call(
        "DisksClient.create_snapshot_unary",
        ("compute.disks.createSnapshot", "compute.snapshots.create", ZONE_WAIT),
    ),
    (SNAPSHOT_TYPE, ChangeOp.DELETE): Call(
        "SnapshotsClient.delete_unary", ("compute.snapshots.delete", "compute.globalOperations.get")
    ),
}
