"""Azure Resource Manager objects → ``Resource`` with normalized facets (pure, no SDK).

Used by the Azure driver on what the SDK returns and by offline import on exported JSON.
Facets per type:
- NSG: ``rules`` (custom and default rules, both directions), ``subnets``,
  ``network_interfaces`` (ARM ids).
- Subnet (one per entry of a VNet's ``subnets``, or a standalone subnet object): ``nsg``,
  ``vnet``.  VNet: ``subnets``; ``admin_layer`` when its effective Virtual Network Manager
  security admin rules were read (``normalize_admin``), and ``admin_rules_raw`` (those rules
  as ARM listed them, by name and priority: what a fix narrows); its ``raw`` then carries
  the envelope of those rules too (under ``ENVELOPE``), so a later import that merges with
  the stored VNet keeps them.
- NIC: ``nsg``, ``subnets``, ``vm``, ``public_ips``, ``asgs`` (lower-cased ids of the
  application security groups its IP configurations are in), ``private_ips`` (the
  addresses flow logs name it by).  Public IP: ``ip_address``.
- VM: ``network_interfaces``, ``power_state`` (e.g. ``PowerState/running``), ``identity``
  (as ARM has it) and ``principals`` (``vm_principals``).
- Role assignment: ``principal_id``, ``role_definition`` (id, lower-cased), ``scope``.
  Role definition: ``role_name``, ``broad`` (Owner, Contributor, User Access Administrator,
  or any role whose actions include ``*``).
- Storage account: see ``clamp.providers.azure.normalize_storage``.
- Azure SQL server, PostgreSQL / MySQL flexible server: see
  ``clamp.providers.azure.normalize_database``.

Security rules: sources are the address prefixes as written plus the ids of source
application security groups; protocol ``*``/``Any`` becomes ``Protocol.ANY``, Tcp/Udp/Icmp/Esp/Ah their
own (case-insensitive), anything else ``Protocol.OTHER``; singular and plural source and
destination-port fields are both read; the ids of destination application security groups
(lower-cased) are the rule's ``target_tags``: it applies only to NICs in one of them. ``Resource.scope`` is the subscription given, else
the one in the ARM id; ``Resource.tags`` are the ARM tags.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from sys import intern
from typing import Any

from clamp.bulk import paused_gc, shared
from clamp.errors import InputError
from clamp.model import (
    ALL_PORTS,
    Access,
    Direction,
    NetworkRule,
    PortRange,
    Protocol,
    Provider,
    Resource,
    ResourceType,
    tags_of,
)
from clamp.ports import parse_ranges
from clamp.providers.azure.normalize_admin import (
    ENVELOPE,
    admin_layer,
    admin_rules_raw,
    effective_by_vnet,
)
from clamp.providers.azure.normalize_database import PARTS as DATABASE_PARTS
from clamp.providers.azure.normalize_database import database_servers
from clamp.providers.azure.normalize_lb import load_balancer_facets
from clamp.providers.azure.normalize_storage import PARTS as STORAGE_PARTS
from clamp.providers.azure.normalize_storage import storage_accounts

PROTOCOLS = {
    "*": frozenset({Protocol.ANY}),
    "any": frozenset({Protocol.ANY}),
    "tcp": frozenset({Protocol.TCP}),
    "udp": frozenset({Protocol.UDP}),
    "icmp": frozenset({Protocol.ICMP}),
    "esp": frozenset({Protocol.ESP}),
    "ah": frozenset({Protocol.AH}),
}
JOINED = frozenset(
    {
        ResourceType.AZURE_STORAGE_ACCOUNT,
        ResourceType.AZURE_SQL_SERVER,
        ResourceType.AZURE_POSTGRES_SERVER,
        ResourceType.AZURE_MYSQL_SERVER,
    }
)
"""Types normalized with their parts (``normalize_storage``, ``normalize_database``)."""
TYPES = {
    t.value.lower(): t for t in ResourceType if t.value.startswith("Microsoft.") and t not in JOINED
}
LISTED = STORAGE_PARTS | DATABASE_PARTS


ARM_TOP_LEVEL = frozenset(
    {
        "id",
        "name",
        "type",
        "location",
        "tags",
        "etag",
        "kind",
        "sku",
        "identity",
        "zones",
        "plan",
        "managedBy",
        "extendedLocation",
        "properties",
        "resourceGroup",
        "subscriptionId",
        "tenantId",
    }
)
"""Top-level fields of an ARM resource, and the ``resourceGroup``/``subscriptionId``/
``tenantId`` columns exports (az CLI) and Resource Graph rows add beside them."""
LISTED_COLUMNS = frozenset({"resourceGroup", "subscriptionId", "tenantId"})
"""The columns of ``ARM_TOP_LEVEL`` a GET of the resource does not return."""


ASSIGNMENT_SEGMENT = "/providers/Microsoft.Authorization/roleAssignments/"
BROAD_ROLES = frozenset({"Owner", "Contributor", "User Access Administrator"})


def vm_principals(identity: Any) -> tuple[dict[str, str], ...]:
    """The identities a VM runs as: ``{"kind": "system"|"user", "principal_id", "id"}``
    (``id`` is the user-assigned identity's ARM id; principal ids are lower-cased)."""
    if not isinstance(identity, Mapping):
        return ()
    out = []
    if "systemassigned" in str(identity.get("type", "")).lower() and identity.get("principalId"):
        out.append(
            {"kind": "system", "principal_id": str(identity["principalId"]).lower(), "id": ""}
        )
    for arm_id, user in (identity.get("userAssignedIdentities") or {}).items():
        if isinstance(user, Mapping) and user.get("principalId"):
            out.append(
                {"kind": "user", "principal_id": str(user["principalId"]).lower(), "id": arm_id}
            )
    return tuple(out)


def _ref(obj: Any) -> str | None:
    # interned: the NIC, VM, subnet and NSG ids resources name each other by are one string
    return intern(str(obj["id"])) if isinstance(obj, Mapping) and obj.get("id") else None


def _refs(items: Any) -> tuple[str, ...]:
    return tuple(r for r in (_ref(i) for i in items or []) if r)


def subscription_of(arm_id: str) -> str:
    """The subscription id inside an ARM id (empty if there is none)."""
    parts = arm_id.split("/")
    return intern(parts[2]) if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""


def parse_ports(values: Iterable[str]) -> tuple[PortRange, ...]:
    """``*``, ``22`` and ``20-25`` strings (empty ones ignored) as merged port ranges."""
    values = [v for v in values if str(v).strip()]
    return parse_ranges(values) if values else ALL_PORTS


def _plural(props: Mapping[str, Any], singular: str, plural: str) -> list[str]:
    values = list(props.get(plural) or [])
    if props.get(singular):
        values.append(str(props[singular]))
    return values


_RULES: dict[tuple[Any, ...], NetworkRule] = {}
"""Rules already built, by the fields they are read from: ARM's six default rules are the
same in every NSG, and NSGs made from one template share theirs (one object each)."""


def security_rule(raw: Mapping[str, Any], *, default: bool = False) -> NetworkRule:
    """One NSG security rule (singular and plural fields both count)."""
    props = raw.get("properties", raw)
    get = props.get
    if get("sourceApplicationSecurityGroups") or get("destinationApplicationSecurityGroups"):
        return _security_rule(raw, props, default)
    try:
        sources, ports = get("sourceAddressPrefixes"), get("destinationPortRanges")
        key = (  # the fields the rule is read from (spelled out: this runs per rule)
            raw.get("name"),
            default,
            get("priority"),
            get("direction"),
            get("access"),
            get("protocol"),
            get("sourceAddressPrefix"),
            get("destinationPortRange"),
            tuple(sources) if sources else (),
            tuple(ports) if ports else (),
        )
        rule = _RULES.get(key)
    except TypeError:  # a field of the wrong type: the full reading names it
        return _security_rule(raw, props, default)
    if rule is None:
        if len(_RULES) >= 20_000:  # a bound for long-running processes
            _RULES.clear()
        rule = _RULES[key] = _security_rule(raw, props, default)
    return rule


def _security_rule(raw: Mapping[str, Any], props: Mapping[str, Any], default: bool) -> NetworkRule:
    ports = _plural(props, "destinationPortRange", "destinationPortRanges") or ["*"]
    protocol = str(props.get("protocol", "*")).lower()
    try:
        port_ranges = parse_ports(ports)
        priority = int(props.get("priority", 65500))
    except (InputError, TypeError, ValueError) as exc:
        raise InputError(f"security rule {raw.get('name', '?')!r}: {exc}") from None
    return NetworkRule(
        name=intern(str(raw.get("name", ""))),
        priority=priority,
        direction=Direction.INGRESS
        if str(props.get("direction", "Inbound")).lower() == "inbound"
        else Direction.EGRESS,
        access=Access.ALLOW if str(props.get("access", "")).lower() == "allow" else Access.DENY,
        protocols=PROTOCOLS.get(protocol, frozenset({Protocol.OTHER})),
        sources=(
            *shared(_plural(props, "sourceAddressPrefix", "sourceAddressPrefixes")),
            *_refs(props.get("sourceApplicationSecurityGroups")),
        ),
        ports=port_ranges,
        default=default,
        target_tags=_asg_ids(props.get("destinationApplicationSecurityGroups") or ()),
    )


def _asg_ids(items: Any) -> tuple[str, ...]:
    """Lower-cased ARM ids of application security groups (ARM ids are case-insensitive)."""
    return tuple(r.lower() for r in _refs(items)) if items else ()


def _facets(kind: ResourceType, obj: Mapping[str, Any]) -> dict[str, Any]:
    props = obj.get("properties") or {}
    match kind:
        case ResourceType.AZURE_NSG:
            rules = [security_rule(r) for r in props.get("securityRules") or []]
            rules += [
                security_rule(r, default=True) for r in props.get("defaultSecurityRules") or []
            ]
            return {
                "rules": tuple(rules),
                "subnets": _refs(props.get("subnets")),
                "network_interfaces": _refs(props.get("networkInterfaces")),
            }
        case ResourceType.AZURE_VNET:
            space = props.get("addressSpace") or {}
            return {
                "subnets": _refs(props.get("subnets")),
                "address_prefixes": tuple(str(p) for p in space.get("addressPrefixes") or ()),
            }
        case ResourceType.AZURE_SUBNET:
            return _subnet_facets(obj)
        case ResourceType.AZURE_NIC:
            configs = [c.get("properties") or {} for c in props.get("ipConfigurations") or []]
            return {
                "nsg": _ref(props.get("networkSecurityGroup")),
                "subnets": tuple(r for r in (_ref(c.get("subnet")) for c in configs) if r),
                "vm": _ref(props.get("virtualMachine")),
                "public_ips": tuple(
                    r for r in (_ref(c.get("publicIPAddress")) for c in configs) if r
                ),
                "asgs": tuple(
                    dict.fromkeys(
                        a for c in configs for a in _asg_ids(c.get("applicationSecurityGroups"))
                    )
                ),
                "private_ips": tuple(
                    str(c["privateIPAddress"]) for c in configs if c.get("privateIPAddress")
                ),
            }
        case ResourceType.AZURE_PUBLIC_IP:
            return {"ip_address": props.get("ipAddress")}
        case ResourceType.AZURE_LOAD_BALANCER:
            return load_balancer_facets(obj)
        case ResourceType.AZURE_VM:
            view = props.get("instanceView") or obj.get("instanceView") or {}
            states = [str(s.get("code", "")) for s in view.get("statuses") or []]
            return {
                "network_interfaces": _refs(
                    (props.get("networkProfile") or {}).get("networkInterfaces")
                ),
                "power_state": next((s for s in states if s.startswith("PowerState/")), None),
                "identity": obj.get("identity"),
                "principals": vm_principals(obj.get("identity")),
            }
        case ResourceType.AZURE_ROLE_ASSIGNMENT:
            return {
                "principal_id": str(props.get("principalId", "")).lower(),
                "role_definition": str(props.get("roleDefinitionId", "")).lower(),
                "scope": str(props.get("scope") or str(obj["id"]).split(ASSIGNMENT_SEGMENT)[0]),
            }
        case ResourceType.AZURE_ROLE_DEFINITION:
            actions = [a for p in props.get("permissions") or [] for a in p.get("actions") or []]
            name = str(props.get("roleName", ""))
            return {
                "role_name": name,
                "broad": name in BROAD_ROLES or "*" in actions,
            }
        case _:
            return {}


def _subnet_facets(subnet: Mapping[str, Any], vnet: str | None = None) -> dict[str, Any]:
    """A subnet's NSG and VNet (the VNet from the subnet's ARM id when not given)."""
    props = subnet.get("properties") or {}
    return {
        "nsg": _ref(props.get("networkSecurityGroup")),
        "vnet": vnet or str(subnet.get("id", "")).rsplit("/subnets/", 1)[0],
    }


def _checked_facets(kind: ResourceType, obj: Mapping[str, Any], arm_id: str) -> dict[str, Any]:
    """``_facets``, with a malformed object reported as an InputError naming it."""
    try:
        return _facets(kind, obj)
    except InputError as exc:
        raise InputError(f"{arm_id}: {exc.message}") from None
    except (AttributeError, TypeError, ValueError) as exc:
        raise InputError(f"{arm_id}: malformed {kind.value} object ({exc})") from None


def _resource(
    kind: ResourceType,
    obj: Mapping[str, Any],
    subscription: str | None,
    extra: Mapping[str, Any] | None = None,
    raw: Mapping[str, Any] | None = None,
) -> Resource:
    arm_id = intern(str(obj["id"]))
    return Resource(
        id=arm_id,
        provider=Provider.AZURE,
        type=kind,
        name=str(obj.get("name", "")),
        scope=subscription or subscription_of(arm_id),
        facets={**_checked_facets(kind, obj, arm_id), **extra}
        if extra
        else _checked_facets(kind, obj, arm_id),
        raw=obj if raw is None else raw,
        tags=tags_of(obj.get("tags")),
    )


def resource_alone(obj: Mapping[str, Any], raw: Mapping[str, Any] | None = None) -> Resource | None:
    """The object's resource when it depends on that object alone (an NSG, a NIC, a VM, a
    public IP, a role assignment…), keeping ``raw`` as its raw object (the object itself
    when None); None for what is normalized with the other objects (a VNet meets its admin
    rules, a storage account or a database server its parts) and for types Clamp does not
    evaluate. Offline import normalizes the first kind as it reads them, as
    ``resources_from_arm`` would."""
    kind = TYPES.get(str(obj.get("type", "")).lower())
    if kind is None or kind in NOT_ALONE or not obj.get("id"):
        return None
    return _resource(kind, obj, None, None, raw)


NOT_ALONE = frozenset({ResourceType.AZURE_VNET, ResourceType.AZURE_ADMIN_RULE})
"""A VNet meets the security admin rules in effect on it, and an admin rule is one of
them (``admin_assets``)."""


def resources_from_arm(
    objects: Iterable[Mapping[str, Any]],
    subscription: str | None = None,
    listed: Collection[str] = LISTED,
) -> list[Resource]:
    """Normalize ARM objects; types Clamp does not evaluate are skipped.

    An NSG yields one NSG Resource, a VNet the VNet plus one Resource per subnet, a
    storage account one Resource joined with its parts (``normalize_storage``) and a
    database server one joined with its firewall rules (``normalize_database``); ``listed``
    names the part types the caller read completely."""
    objects = list(objects)
    with paused_gc():
        return [
            *_resources_from_arm(objects, subscription),
            *storage_accounts(objects, subscription_of, subscription, listed),
            *database_servers(objects, subscription_of, subscription, listed),
        ]


def _resources_from_arm(
    objects: Iterable[Mapping[str, Any]], subscription: str | None
) -> list[Resource]:
    out: list[Resource] = []
    admin = effective_by_vnet(objects)
    for obj in objects:
        kind = TYPES.get(str(obj.get("type", "")).lower())
        if kind is None or not obj.get("id"):
            continue
        rules = admin.get(str(obj["id"]).lower()) if kind == ResourceType.AZURE_VNET else None
        extra = (
            {
                "admin_layer": admin_layer(str(obj["id"]), rules),
                "admin_rules_raw": admin_rules_raw(rules),
            }
            if rules is not None
            else {}
        )
        raw = obj
        if rules is not None:
            raw = {**obj, ENVELOPE: {"type": ENVELOPE, "virtualNetwork": obj["id"], "value": rules}}
        out.append(_resource(kind, obj, subscription, extra, raw))
        if kind == ResourceType.AZURE_VNET:
            for subnet in (obj.get("properties") or {}).get("subnets") or []:
                if isinstance(subnet, Mapping) and subnet.get("id"):
                    out.append(
                        Resource(
                            id=intern(str(subnet["id"])),
                            provider=Provider.AZURE,
                            type=ResourceType.AZURE_SUBNET,
                            name=str(subnet.get("name", "")),
                            scope=subscription or subscription_of(str(subnet["id"])),
                            facets=_subnet_facets(subnet, str(obj["id"])),
                            raw=subnet,
                        )
                    )
    return out
