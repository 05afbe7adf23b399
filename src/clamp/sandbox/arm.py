"""Azure Resource Manager conventions the sandbox follows: paths, errors, etags, defaults.

Pure helpers for ``clamp.sandbox.azure``; nothing here touches the network. A request path
*is* an ARM id (or the id of a collection, or an action on a resource): ``ArmPath`` reads
it, ``KINDS`` says how ARM treats writes to each resource type.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

Json = dict[str, Any]

NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
VM_TYPE = "Microsoft.Compute/virtualMachines"
DISK = "microsoft.compute/disks"
SNAPSHOT = "microsoft.compute/snapshots"

# Child collections that live inside their parent's ``properties`` (lower-cased keys).
CHILDREN: dict[str, dict[str, str]] = {
    NSG_TYPE.lower(): {
        "securityrules": "securityRules",
        "defaultsecurityrules": "defaultSecurityRules",
    },
    "microsoft.network/virtualnetworks": {"subnets": "subnets"},
}
WRITABLE_CHILDREN = frozenset({"securityRules", "subnets"})


@dataclass(frozen=True)
class ArmPath:
    """A request path read the way ARM reads it: the resource type it names (as spelled),
    and whether it names one resource or a collection (or, for POST, an action)."""

    path: str
    type: str
    item: bool

    @classmethod
    def parse(cls, raw: str) -> ArmPath:
        """``raw`` with empty segments dropped (SDKs join ``/{scope}`` ids into ``//``)."""
        segments = [s for s in raw.split("/") if s]
        lower = [s.lower() for s in segments]
        path = "/" + "/".join(segments)
        if "providers" not in lower:
            return cls(path, "", False)
        rest = segments[len(lower) - lower[::-1].index("providers") :]
        if len(rest) < 2:
            return cls(path, "", False)
        return cls(path, "/".join([rest[0], *rest[1::2]]), len(rest) % 2 == 1)

    @property
    def kind(self) -> str:
        """The type, lower-cased: the key of ``KINDS`` and of the checks."""
        return self.type.lower()

    @property
    def subscription(self) -> str:
        """The subscription id the path is under."""
        return self.path.split("/")[2]

    @property
    def parent(self) -> str:
        """The id above: the resource a child or an action belongs to, or the id a
        collection is listed under."""
        return self.path.rsplit("/", 2 if self.item else 1)[0]

    @property
    def scope(self) -> str:
        """The id the last ``/providers/`` segment sits on (a group, a subscription, or a
        resource for extension resources such as locks)."""
        at = self.path.lower().rfind("/providers/")
        return self.path[:at] if at >= 0 else self.path


@dataclass(frozen=True)
class Kind:
    """How ARM treats one resource type's writes."""

    etag: str | None = "arm"  # "arm": W/"<uuid>"; "blob": "0x8D…"; None: the type has none
    async_writes: bool = True  # PUT and DELETE answer with the long-running handshake
    create_accepted: bool = False  # PUT answers 202 + Location; polling returns the resource
    put_keeps: bool = False  # properties a PUT leaves out keep their values
    extension: bool = False  # sits on any scope; locks never refuse writing it
    provisioning: bool = True  # carries properties.provisioningState
    accepted: bool = False  # PUT, PATCH and DELETE answer 202 + Azure-AsyncOperation


NETWORK_OR_COMPUTE = Kind()
KINDS: dict[str, Kind] = {
    "microsoft.storage/storageaccounts": Kind(
        etag=None, async_writes=False, create_accepted=True, put_keeps=True
    ),
    "microsoft.storage/storageaccounts/blobservices": Kind(
        etag=None, async_writes=False, put_keeps=True, provisioning=False
    ),
    "microsoft.storage/storageaccounts/blobservices/containers": Kind(
        etag="blob", async_writes=False, provisioning=False
    ),
    # Compute answers a snapshot's creation with 202 (the SDK accepts nothing else); its
    # read-only properties (size, time created) stay when a PUT updates its tags.
    # Disks and snapshots carry no etag (compute 2026-04-01: neither model has one).
    SNAPSHOT: Kind(etag=None, create_accepted=True, put_keeps=True),
    DISK: Kind(etag=None),
    # Managed databases (``clamp.sandbox.arm_databases``): a SQL server's PATCH and every
    # flexible-server write are long-running 202s; SQL firewall rules are written at once.
    # None of them carries an etag or a provisioningState.
    "microsoft.sql/servers": Kind(etag=None, accepted=True, provisioning=False),
    "microsoft.sql/servers/firewallrules": Kind(etag=None, async_writes=False, provisioning=False),
    **{
        f"microsoft.dbfor{engine}/flexibleservers{part}": Kind(
            etag=None, accepted=True, provisioning=False
        )
        for engine in ("postgresql", "mysql")
        for part in ("", "/firewallrules", "/configurations")
    },
    "microsoft.authorization/locks": Kind(
        etag=None, async_writes=False, extension=True, provisioning=False
    ),
    "microsoft.authorization/roleassignments": Kind(
        etag=None, async_writes=False, extension=True, provisioning=False
    ),
    "microsoft.authorization/roledefinitions": Kind(
        etag=None, async_writes=False, extension=True, provisioning=False
    ),
}


def kind_of(arm_type: str) -> Kind:
    """The write behaviour of a type (network and compute resources by default)."""
    return KINDS.get(arm_type.lower(), NETWORK_OR_COMPUTE)


def type_of(obj: Json) -> str:
    """An object's type, lower-cased."""
    return str(obj.get("type", "")).lower()


def id_of(obj: Json) -> str:
    """An object's id, lower-cased (ARM ids compare case-insensitively)."""
    return str(obj.get("id", "")).lower()


def under(scope: str, arm_id: str) -> bool:
    """Whether ``arm_id`` is ``scope`` or lies below it (case-insensitive)."""
    scope, arm_id = scope.lower().rstrip("/"), arm_id.lower()
    return arm_id == scope or arm_id.startswith(scope + "/")


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


def new_etag(style: str | None = "arm") -> str:
    """A fresh etag: ARM's weak ``W/"<uuid>"``, or the storage service's ``"0x8D…"``."""
    if style == "blob":
        return f'"0x8D{uuid.uuid4().hex[:13].upper()}"'
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


def with_arm_defaults(obj: Json) -> Json:
    """What ARM adds to a resource on its own: an NSG's default rules, a VM's power state."""
    kind = type_of(obj)
    if kind == NSG_TYPE.lower():
        props = obj.setdefault("properties", {})
        if not props.get("defaultSecurityRules"):
            props["defaultSecurityRules"] = default_security_rules(
                obj["id"], obj.get("etag", new_etag())
            )
        props.setdefault("securityRules", [])
    elif kind == VM_TYPE.lower():
        # A VM has an etag, and its PUT/PATCH take If-Match, since compute 2023-09-01
        # (Azure/azure-rest-api-specs#26368; VirtualMachine.etag, read-only).
        obj.setdefault("etag", new_etag())
        obj.setdefault("properties", {}).setdefault(
            "instanceView",
            {
                "statuses": [
                    {"code": "ProvisioningState/succeeded"},
                    {"code": "PowerState/running"},
                ]
            },
        )
    return obj


POWER_STATES = {"running": "VM running", "stopped": "VM stopped", "deallocated": "VM deallocated"}


def set_power_state(vm: Json, state: str) -> None:
    """Put a VM's instance view in ``PowerState/<state>`` (what start, powerOff and
    deallocate leave behind)."""
    view = with_arm_defaults(vm)["properties"]["instanceView"]
    kept = [
        s
        for s in view.get("statuses") or []
        if not str(s.get("code", "")).startswith("PowerState/")
    ]
    power = {"code": f"PowerState/{state}", "level": "Info", "displayStatus": POWER_STATES[state]}
    view["statuses"] = [*kept, power]
