"""Builders for NSGs and firewalls in real API shapes, shared by the tests."""

from __future__ import annotations

from typing import Any

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.model import Finding
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute

SUB = "11111111-2222-4333-8444-555555555555"
NET = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network"
GNET = "https://www.googleapis.com/compute/v1/projects/p1/global/networks/"


def arm_rule(
    name: str,
    priority: int,
    ports: str | list[str],
    sources: str | list[str],
    access: str = "Allow",
    protocol: str = "Tcp",
    direction: str = "Inbound",
) -> dict[str, Any]:
    """A security rule as ARM returns it; lists go in the plural fields."""
    props: dict[str, Any] = {
        "protocol": protocol,
        "access": access,
        "priority": priority,
        "direction": direction,
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
    }
    if isinstance(ports, list):
        props["destinationPortRanges"] = ports
    else:
        props["destinationPortRange"] = ports
    if isinstance(sources, list):
        props["sourceAddressPrefixes"] = sources
    else:
        props["sourceAddressPrefix"] = sources
    return {"name": name, "properties": props}


def arm_nsg(name: str, *rules: dict[str, Any], **links: Any) -> dict[str, Any]:
    """An NSG with custom rules and ARM's default inbound rules."""
    nsg_id = f"{NET}/networkSecurityGroups/{name}"
    return {
        "id": nsg_id,
        "name": name,
        "type": "Microsoft.Network/networkSecurityGroups",
        "properties": {
            "securityRules": [{**r, "id": f"{nsg_id}/securityRules/{r['name']}"} for r in rules],
            "defaultSecurityRules": DEFAULT_RULES,
            **links,
        },
    }


def firewall(name: str, network: str = "vpc", **fields: Any) -> dict[str, Any]:
    """A Compute API firewall (defaults: INGRESS, priority 1000, enabled)."""
    return {
        "kind": "compute#firewall",
        "name": name,
        "network": GNET + network,
        "direction": "INGRESS",
        "priority": 1000,
        **fields,
    }


def scan(
    azure: list[dict[str, Any]] | None = None, gcp: list[dict[str, Any]] | None = None
) -> list[Finding]:
    """Findings of every check on these raw objects."""
    resources = resources_from_arm(azure or [], SUB) + resources_from_compute("p1", gcp or [])
    return evaluate(resources, Settings(database_url="sqlite://"))


def admin(findings: list[Finding]) -> dict[str, Finding]:
    """exposed-admin-port findings by resource name."""
    return {f.resource.rsplit("/", 1)[-1]: f for f in findings if f.check == "exposed-admin-port"}


DEFAULT_RULES = [
    arm_rule("AllowVnetInBound", 65000, "*", "VirtualNetwork", protocol="*"),
    arm_rule("AllowAzureLoadBalancerInBound", 65001, "*", "AzureLoadBalancer", protocol="*"),
    arm_rule("DenyAllInBound", 65500, "*", "*", access="Deny", protocol="*"),
]


STORAGE = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts"


def storage_account(
    name: str,
    *,
    tags: dict[str, str] | None = None,
    service: dict[str, Any] | None = None,
    containers: dict[str, str] | None = None,
    locks: dict[str, str] | None = None,
    **props: Any,
) -> list[dict[str, Any]]:
    """A storage account and its blob service, containers (name → publicAccess) and locks
    (name → level, on the account) as ARM returns them, ready for ``resources_from_arm``."""
    account_id = f"{STORAGE}/{name}"
    objects: list[dict[str, Any]] = [
        {
            "id": account_id,
            "name": name,
            "type": "Microsoft.Storage/storageAccounts",
            "location": "westeurope",
            "kind": "StorageV2",
            "tags": tags or {},
            "properties": {
                "supportsHttpsTrafficOnly": True,
                "minimumTlsVersion": "TLS1_2",
                "allowBlobPublicAccess": False,
                **props,
            },
        },
        {
            "id": f"{account_id}/blobServices/default",
            "name": "default",
            "type": "Microsoft.Storage/storageAccounts/blobServices",
            "properties": service
            if service is not None
            else {
                "isVersioningEnabled": True,
                "deleteRetentionPolicy": {"enabled": True, "days": 7},
                "containerDeleteRetentionPolicy": {"enabled": True, "days": 7},
            },
        },
    ]
    for container, access in (containers or {}).items():
        objects.append(
            {
                "id": f"{account_id}/blobServices/default/containers/{container}",
                "name": container,
                "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
                "etag": '"0x8D0"',
                "properties": {"publicAccess": access},
            }
        )
    for lock, level in (locks or {}).items():
        objects.append(
            {
                "id": f"{account_id}/providers/Microsoft.Authorization/locks/{lock}",
                "name": lock,
                "type": "Microsoft.Authorization/locks",
                "properties": {"level": level},
            }
        )
    return objects


def bucket(
    name: str,
    *,
    public: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    **fields: Any,
) -> list[dict[str, Any]]:
    """A ``storage#bucket`` (fully protected unless ``fields`` say otherwise) and its IAM
    policy with the default grants plus ``public`` (member → role)."""
    bindings = [
        {
            "role": "roles/storage.legacyBucketOwner",
            "members": ["projectOwner:p1", "projectEditor:p1"],
        },
        {"role": "roles/storage.legacyBucketReader", "members": ["projectViewer:p1"]},
    ]
    for member, role in (public or {}).items():
        bindings.append({"role": role, "members": [member]})
    return [
        {
            "kind": "storage#bucket",
            "id": name,
            "name": name,
            "projectNumber": "123456789012",
            "metageneration": "3",
            "etag": "CAM=",
            "labels": labels or {},
            "versioning": {"enabled": True},
            "softDeletePolicy": {"retentionDurationSeconds": "604800"},
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": True},
                "publicAccessPrevention": "enforced",
            },
            **fields,
        },
        {
            "kind": "storage#policy",
            "resourceId": f"projects/_/buckets/{name}",
            "version": 1,
            "etag": "CAE=",
            "bindings": bindings,
        },
    ]
