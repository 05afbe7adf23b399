"""Every write the Azure driver makes: the azure-mgmt / msgraph call and the RBAC actions
(or Graph application permissions) it needs, by change type and operation.

Sources: the operation ids and ``x-ms-...`` of the Azure REST specs the SDK clients are
generated from, and Azure's resource provider operations list
(https://learn.microsoft.com/azure/role-based-access-control/resource-provider-operations).
Associating an NSG or a public IP with a NIC needs ``join/action`` on it besides the NIC's
``write``; re-attaching a user-assigned identity needs ``assign/action`` on it.
"""

from __future__ import annotations

from clamp.model import Change, ChangeOp
from clamp.providers.azure.admin_rule_changes import ADMIN_RULE_TYPE
from clamp.providers.azure.admin_rule_changes import DELETE as ADMIN_RULE_DELETE
from clamp.providers.azure.admin_rule_changes import WRITE as ADMIN_RULE_WRITE
from clamp.providers.azure.admin_rule_writes import COMMIT as ADMIN_COMMIT
from clamp.providers.azure.admin_rule_writes import DEPLOYMENTS_READ as ADMIN_DEPLOYMENTS
from clamp.providers.azure.admin_rule_writes import RULE_DELETE as ADMIN_RULE_REMOVE
from clamp.providers.azure.admin_rule_writes import RULE_READ as ADMIN_RULE_READ
from clamp.providers.azure.admin_rule_writes import RULE_WRITE as ADMIN_RULE_PUT
from clamp.providers.azure.databases import ENGINES
from clamp.providers.azure.disks import SNAPSHOT_TYPE
from clamp.providers.azure.entra import DOMAIN_TYPE, SETTING_TYPE
from clamp.providers.azure.identity import ASSIGNMENT_TYPE, VM_TYPE
from clamp.providers.azure.network import NIC_TYPE, NSG_TYPE, RULE_TYPE
from clamp.providers.azure.storage import ACCOUNT_TYPE, BLOB_SERVICE_TYPE, LOCK_TYPE
from clamp.providers.azure.vm import ACTIONS, LIFECYCLE_TYPE, POWER_TYPE, TAGS_TYPE
from clamp.providers.calls import Call, CallTable

VM = "Microsoft.Compute/virtualMachines"
NETWORK = "Microsoft.Network"
USER_IDENTITY_ASSIGN = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"


def _power(change: Change) -> Call:
    """``begin_deallocate`` / ``begin_power_off`` / ``begin_start``, by the state wanted."""
    method, permission = ACTIONS[str((change.after or {}).get("powerState"))]
    return Call(f"VirtualMachinesOperations.{method}", (permission,))


def _nic(change: Change) -> Call:
    """A NIC moved to another NSG (or none) and its public IPs attached or detached."""
    after = change.after or {}
    joins = [f"{NETWORK}/networkInterfaces/write"]
    if after.get("networkSecurityGroup"):
        joins.append(f"{NETWORK}/networkSecurityGroups/join/action")
    if any(after.get("publicIPAddresses", {}).values()):
        joins.append(f"{NETWORK}/publicIPAddresses/join/action")
    return Call("NetworkInterfacesOperations.begin_create_or_update", tuple(joins))


def _identity(change: Change) -> Call:
    """A VM's managed identities replaced; attaching a user-assigned one needs ``assign``."""
    identity = (change.after or {}).get("identity") or {}
    users = identity.get("userAssignedIdentities") if isinstance(identity, dict) else None
    extra = (USER_IDENTITY_ASSIGN,) if users else ()
    return Call("VirtualMachinesOperations.begin_update", (f"{VM}/write", *extra))


_RULE_WRITE = Call(
    "SecurityRulesOperations.begin_create_or_update",
    (f"{NETWORK}/networkSecurityGroups/securityRules/write",),
)
_ADMIN_RULE_PUT = Call(
    ADMIN_RULE_WRITE, (ADMIN_RULE_READ, ADMIN_RULE_PUT, ADMIN_DEPLOYMENTS, ADMIN_COMMIT)
)
_LOCK_WRITE = Call(
    "ManagementLocksOperations.create_or_update_by_scope", ("Microsoft.Authorization/locks/write",)
)


def _database_calls() -> CallTable:
    """Firewall rules created and deleted, public network access switched, per engine:
    Azure SQL's rules are written at once, the flexible servers' are long-running."""
    calls: dict[tuple[str, ChangeOp], Call] = {}
    for engine in ENGINES:
        prefix = "begin_" if engine.flexible else ""
        rules = f"{engine.namespace}/firewallRules"
        write = Call(f"FirewallRulesOperations.{prefix}create_or_update", (f"{rules}/write",))
        calls[(engine.rule_type, ChangeOp.CREATE)] = write
        calls[(engine.rule_type, ChangeOp.DELETE)] = Call(
            f"FirewallRulesOperations.{prefix}delete", (f"{rules}/delete",)
        )
        calls[(engine.access_type, ChangeOp.UPDATE)] = Call(
            "ServersOperations.begin_update", (f"{engine.namespace}/write",)
        )
    return calls


CALLS: CallTable = {
    **_database_calls(),
    # the rule's PUT, then a commit of its configuration where it is deployed
    (ADMIN_RULE_TYPE, ChangeOp.UPDATE): _ADMIN_RULE_PUT,
    (ADMIN_RULE_TYPE, ChangeOp.CREATE): _ADMIN_RULE_PUT,  # the rule a split adds beside
    (ADMIN_RULE_TYPE, ChangeOp.DELETE): Call(  # its undo
        ADMIN_RULE_DELETE, (ADMIN_RULE_READ, ADMIN_RULE_REMOVE, ADMIN_DEPLOYMENTS, ADMIN_COMMIT)
    ),
    (RULE_TYPE, ChangeOp.CREATE): _RULE_WRITE,
    (RULE_TYPE, ChangeOp.UPDATE): _RULE_WRITE,
    (RULE_TYPE, ChangeOp.DELETE): Call(
        "SecurityRulesOperations.begin_delete",
        (f"{NETWORK}/networkSecurityGroups/securityRules/delete",),
    ),
    (NSG_TYPE, ChangeOp.CREATE): Call(
        "NetworkSecurityGroupsOperations.begin_create_or_update",
        (f"{NETWORK}/networkSecurityGroups/write",),
    ),
    (NSG_TYPE, ChangeOp.DELETE): Call(
        "NetworkSecurityGroupsOperations.begin_delete",
        (f"{NETWORK}/networkSecurityGroups/delete",),
    ),
    (NIC_TYPE, ChangeOp.UPDATE): _nic,
    (VM_TYPE, ChangeOp.UPDATE): _identity,
    (ASSIGNMENT_TYPE, ChangeOp.DELETE): Call(
        "RoleAssignmentsOperations.delete_by_id", (f"{ASSIGNMENT_TYPE}/delete",)
    ),
    (ASSIGNMENT_TYPE, ChangeOp.CREATE): Call(
        "RoleAssignmentsOperations.create_by_id", (f"{ASSIGNMENT_TYPE}/write",)
    ),
    (ACCOUNT_TYPE, ChangeOp.UPDATE): Call(
        "StorageAccountsOperations.update", (f"{ACCOUNT_TYPE}/write",)
    ),
    (BLOB_SERVICE_TYPE, ChangeOp.UPDATE): Call(
        "BlobServicesOperations.set_service_properties", (f"{BLOB_SERVICE_TYPE}/write",)
    ),
    (LOCK_TYPE, ChangeOp.CREATE): _LOCK_WRITE,
    (LOCK_TYPE, ChangeOp.UPDATE): _LOCK_WRITE,
    (LOCK_TYPE, ChangeOp.DELETE): Call(
        "ManagementLocksOperations.delete_by_scope", ("Microsoft.Authorization/locks/delete",)
    ),
    (SNAPSHOT_TYPE, ChangeOp.CREATE): Call(
        "SnapshotsOperations.begin_create_or_update", (f"{SNAPSHOT_TYPE}/write",)
    ),
    (SNAPSHOT_TYPE, ChangeOp.DELETE): Call(
        "SnapshotsOperations.begin_delete", (f"{SNAPSHOT_TYPE}/delete",)
    ),
    (POWER_TYPE, ChangeOp.UPDATE): _power,
    (TAGS_TYPE, ChangeOp.UPDATE): Call("VirtualMachinesOperations.begin_update", (f"{VM}/write",)),
    (LIFECYCLE_TYPE, ChangeOp.DELETE): Call(
        "VirtualMachinesOperations.begin_delete", (f"{VM}/delete",)
    ),
    (DOMAIN_TYPE, ChangeOp.UPDATE): Call(
        "DomainItemRequestBuilder.patch", ("Domain.ReadWrite.All",)
    ),
    (SETTING_TYPE, ChangeOp.UPDATE): Call(
        "GroupSettingItemRequestBuilder.patch", ("Directory.ReadWrite.All",)
    ),
}
