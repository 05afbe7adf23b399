"""Azure Resource Manager conventions the sandbox follows: paths, errors, etags, defaults.

Pure helpers for ``clamp.sandbox.azure``; nothing here touches the network.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import JSONResponse

Json = dict[str, Any]

NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
VM_TYPE = "Microsoft.Compute/virtualMachines"

# Child collections that live inside their parent's ``properties`` (lower-cased keys).
CHILDREN: dict[str, dict[str, str]] = {
    NSG_TYPE.lower(): {
        "securityrules": "securityRules",
        "defaultsecurityrules": "defaultSecurityRules",
    },
    "microsoft.network/virtualnetworks": {"subnets": "subnets"},
}
WRITABLE_CHILDREN = frozenset({"securityRules", "subnets"})

# (name, description, source, destination, access, priority, direction), as ARM returns them.
_DEFAULT_RULES = (
    (
        "AllowVnetInBound",
        "Allow inbound traffic from all VMs in VNET",
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow",
        65000,
        "Inbound",
    ),
    (
        "AllowAzureLoadBalancerInBound",
        "Allow inbound traffic from azure load balancer",
        "AzureLoadBalancer",
        "*",
        "Allow",
        65001,
        "Inbound",
    ),
    ("DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", 65500, "Inbound"),
    (
        "AllowVnetOutBound",
        "Allow outbound traffic from all VMs to all VMs in VNET",
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow",
        65000,
        "Outbound",
    ),
    (
        "AllowInternetOutBound",
        "Allow outbound traffic from all VMs to Internet",
        "*",
        "Internet",
        "Allow",
        65001,
        "Outbound",
    ),
    ("DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", 65500, "Outbound"),
)


def new_etag() -> str:
    """A fresh weak etag in ARM's format."""
    return f'W/"{uuid.uuid4()}"'


def arm_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An ARM error response: ``{"error": {"code": ..., "message": ...}}``."""
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def not_found(resource_id: str) -> JSONResponse:
    """ARM's 404 for a missing resource."""
    return arm_error(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_id}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def default_security_rules(nsg_id: str, etag: str) -> list[Json]:
    """The six default rules ARM adds to every network security group."""
    return [
        {
            "name": name,
            "id": f"{nsg_id}/defaultSecurityRules/{name}",
            "etag": etag,
            "type": f"{NSG_TYPE}/defaultSecurityRules",
            "properties": {
                "provisioningState": "Succeeded",
                "description": description,
                "protocol": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "*",
                "sourceAddressPrefix": source,
                "destinationAddressPrefix": destination,
                "access": access,
                "priority": priority,
                "direction": direction,
                "sourcePortRanges": [],
                "destinationPortRanges": [],
                "sourceAddressPrefixes": [],
                "destinationAddressPrefixes": [],
            },
        }
        for name, description, source, destination, access, priority, direction in _DEFAULT_RULES
    ]


def subscription_object(subscription: str, objects: list[Json]) -> Json:
    """The subscription as ``GET /subscriptions/{id}`` returns it: the scenario's own
    object with id ``/subscriptions/<id>`` if present, else one derived from the id."""
    own = f"/subscriptions/{subscription}".lower()
    for obj in objects:
        if str(obj.get("id", "")).lower() == own:
            return obj
    return {
        "id": f"/subscriptions/{subscription}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription,
        "tenantId": "00000000-0000-4000-8000-0000000000aa",
        "displayName": f"Sandbox subscription {subscription[:8]}",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def check_security_rule(name: str, props: Json, siblings: list[Json]) -> str | None:
    """Why ARM would refuse this security rule (None if it would accept it)."""
    for key in ("protocol", "access", "direction", "priority"):
        if props.get(key) in (None, ""):
            return f"Security rule {name} is missing the required property '{key}'."
    priority = props["priority"]
    if not isinstance(priority, int) or not 100 <= priority <= 4096:
        return f"Security rule {name} has invalid priority {priority}; allowed: 100 to 4096."
    for field in (
        "sourceAddressPrefix",
        "destinationAddressPrefix",
        "sourcePortRange",
        "destinationPortRange",
    ):
        if props.get(field) and props.get(
            field + "es" if field.endswith("Prefix") else field + "s"
        ):
            return f"Security rule {name} sets both {field} and its plural form."
    for other in siblings:
        other_props = other.get("properties", {})
        if (
            str(other.get("name", "")).lower() != name.lower()
            and other_props.get("priority") == priority
            and str(other_props.get("direction", "")).lower() == str(props["direction"]).lower()
        ):
            return (
                f"Security rule {name} conflicts with rule {other.get('name')}. Rules cannot "
                "have the same Priority and Direction."
            )
    return None


def settle_identity(obj: Json, known: dict[str, Json]) -> None:
    """What ARM does to a resource's managed identity after a write: ``type: None`` removes
    it, a system-assigned identity without a principal gets a new one (a new principal:
    role assignments of an earlier one do not carry over), user-assigned ones get theirs —
    a user-assigned identity is its own resource, so ``known`` (identity id → principal and
    client ids) gives it the same principal every time it is attached."""
    identity = obj.get("identity")
    if not isinstance(identity, dict):
        return
    kind = str(identity.get("type", ""))
    if kind.lower() == "none" or not kind:
        obj.pop("identity", None)
        return
    if "systemassigned" in kind.lower():
        identity.setdefault("principalId", str(uuid.uuid4()))
        identity.setdefault("tenantId", "00000000-0000-4000-8000-0000000000aa")
    else:
        identity.pop("principalId", None)
        identity.pop("tenantId", None)
    users = identity.get("userAssignedIdentities") or {}
    for arm_id, user in list(users.items()):
        if not isinstance(user, dict):
            users[arm_id] = user = {}
        ids = known.setdefault(
            arm_id.lower(),
            {
                "principalId": user.get("principalId") or str(uuid.uuid4()),
                "clientId": user.get("clientId") or str(uuid.uuid4()),
            },
        )
        user.update(ids)
    if "userassigned" not in kind.lower() or not users:
        identity.pop("userAssignedIdentities", None)
