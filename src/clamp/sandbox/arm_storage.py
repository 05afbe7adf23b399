"""Microsoft.Storage on the sandbox's ARM: what Azure fills in when a storage account,
its blob service or a container is created, and the settings it refuses.

An account, its blob service (``<account>/blobServices/default``) and each container
(``…/blobServices/default/containers/<name>``) are separate objects of the estate; every
account has a blob service, with Azure's defaults (all protections off) until set.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from datetime import UTC, datetime

from starlette.responses import Response

from clamp.sandbox.arm import Json, arm_error

ACCOUNT = "microsoft.storage/storageaccounts"
BLOB_SERVICE = "microsoft.storage/storageaccounts/blobservices"
CONTAINER = "microsoft.storage/storageaccounts/blobservices/containers"
TLS_VERSIONS = ("TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3")
PUBLIC_ACCESS = ("None", "Blob", "Container")
ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
RETENTION_POLICIES = ("deleteRetentionPolicy", "containerDeleteRetentionPolicy")


def now() -> str:
    """The current time as Azure Storage writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def account_id_of(arm_id: str) -> str | None:
    """The storage account an id is (or lies below), spelled as in ``arm_id``."""
    segments = arm_id.split("/")
    lower = [s.lower() for s in segments[5:8]]
    if len(segments) >= 9 and lower == ["providers", "microsoft.storage", "storageaccounts"]:
        return "/".join(segments[:9])
    return None


def new_account(name: str, body: Json) -> Json:
    """A storage account as ARM returns it once created from ``body``: the creation
    parameters plus what Azure sets (endpoints, encryption, secure defaults)."""
    created = now()
    kind = str(body.get("kind") or "StorageV2")
    sku = dict(body.get("sku") or {"name": "Standard_LRS"})
    sku.setdefault(
        "tier", "Premium" if str(sku.get("name", "")).startswith("Premium") else "Standard"
    )
    services = ["blob", "queue", "table", "file"]
    if kind in ("StorageV2", "BlockBlobStorage"):
        services += ["dfs", "web"]
    endpoints = {
        s: f"https://{name}.{'z6.web' if s == 'web' else s}.core.windows.net/" for s in services
    }
    encrypted = {"keyType": "Account", "enabled": True, "lastEnabledTime": created}
    props: Json = {
        "keyCreationTime": {"key1": created, "key2": created},
        "privateEndpointConnections": [],
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "networkAcls": {
            "bypass": "AzureServices",
            "virtualNetworkRules": [],
            "ipRules": [],
            "defaultAction": "Allow",
        },
        "supportsHttpsTrafficOnly": True,
        "encryption": {
            "services": {"file": dict(encrypted), "blob": dict(encrypted)},
            "keySource": "Microsoft.Storage",
        },
        "creationTime": created,
        "primaryEndpoints": endpoints,
        "primaryLocation": body.get("location"),
        "statusOfPrimary": "available",
    }
    if kind in ("StorageV2", "BlobStorage"):
        props["accessTier"] = "Hot"
    return {**body, "kind": kind, "sku": sku, "tags": body.get("tags") or {}, "properties": props}


def default_blob_service(account: Json) -> Json:
    """The blob service every account has, with Azure's API defaults (all protections off)."""
    service: Json = {
        "id": f"{account['id']}/blobServices/default",
        "name": "default",
        "type": "Microsoft.Storage/storageAccounts/blobServices",
        "properties": {
            "cors": {"corsRules": []},
            "deleteRetentionPolicy": {"allowPermanentDelete": False, "enabled": False},
            "containerDeleteRetentionPolicy": {"enabled": False},
            "isVersioningEnabled": False,
        },
    }
    if isinstance(account.get("sku"), dict):
        service["sku"] = dict(account["sku"])
    return service


# What a container's PUT cannot change: its lease, legal hold and immutability state.
CONTAINER_STATE = (
    "leaseStatus",
    "leaseState",
    "leaseDuration",
    "hasImmutabilityPolicy",
    "hasLegalHold",
    "immutabilityPolicy",
    "legalHold",
    "deleted",
    "deletedTime",
    "remainingRetentionDays",
    "version",
)


def container_properties(current: Json | None, body: Json) -> Json:
    """A container's properties after a PUT: Azure's defaults for a container nobody has
    configured, its own lease and immutability state, then what the PUT sets."""
    defaults: Json = {
        "publicAccess": "None",
        "leaseStatus": "Unlocked",
        "leaseState": "Available",
        "hasImmutabilityPolicy": False,
        "hasLegalHold": False,
        "defaultEncryptionScope": "$account-encryption-key",
        "denyEncryptionScopeOverride": False,
        "deleted": False,
        "remainingRetentionDays": 0,
    }
    was = (current or {}).get("properties") or {}
    kept = {k: copy.deepcopy(v) for k, v in was.items() if k in CONTAINER_STATE}
    return {**defaults, **kept, **copy.deepcopy(body.get("properties") or {})}


def check_storage(kind: str, props: Json, account: Json | None) -> Response | None:
    """Azure's 400/409 for account, blob-service and container settings it refuses."""
    tls = props.get("minimumTlsVersion") if kind == ACCOUNT else None
    if tls is not None and tls not in TLS_VERSIONS:
        return _invalid("minimumTlsVersion", tls, f"It should be one of {', '.join(TLS_VERSIONS)}.")
    if kind == BLOB_SERVICE:
        for key in RETENTION_POLICIES:
            policy = props.get(key) or {}
            days = policy.get("days")
            if policy.get("enabled") and not (isinstance(days, int) and 1 <= days <= 365):
                return _invalid(f"{key}.days", days, "It should be between 1 and 365.")
        restore = props.get("restorePolicy") or {}
        days, kept = restore.get("days"), (props.get("deleteRetentionPolicy") or {}).get("days")
        if restore.get("enabled") and not (
            isinstance(days, int) and isinstance(kept, int) and 0 < days < kept
        ):
            return _invalid(
                "restorePolicy.days",
                restore.get("days"),
                "It should be greater than zero and less than "
                "properties.deleteRetentionPolicy.days.",
            )
    if kind == CONTAINER:
        access = props.get("publicAccess") or "None"
        if access not in PUBLIC_ACCESS:
            return _invalid(
                "publicAccess", access, f"It should be one of {', '.join(PUBLIC_ACCESS)}."
            )
        allowed = ((account or {}).get("properties") or {}).get("allowBlobPublicAccess")
        if access != "None" and allowed is False:
            return arm_error(
                409,
                "PublicAccessNotPermitted",
                "Public access is not permitted on this storage account.",
            )
    return None


def check_new_account(name: str, body: Json, taken: bool) -> Response | None:
    """Azure's refusal to create an account: a bad or taken name, no location."""
    if not ACCOUNT_NAME.match(name):
        return arm_error(
            400,
            "AccountNameInvalid",
            f"{name} is not a valid storage account name. Storage account name must be between "
            "3 and 24 characters in length and use numbers and lower-case letters only.",
        )
    if taken:
        return arm_error(
            409, "StorageAccountAlreadyTaken", f"The storage account named {name} is already taken."
        )
    if not body.get("location"):
        return arm_error(400, "LocationRequired", "The location property is required.")
    return None


def account_keys(account: Json) -> Json:
    """``listKeys``: the account's two access keys (stable for the account)."""
    created = (account.get("properties") or {}).get("creationTime") or now()
    return {
        "keys": [
            {
                "keyName": key,
                "value": base64.b64encode(
                    hashlib.sha512(f"{account['id']}/{key}".lower().encode()).digest()
                ).decode(),
                "permissions": "FULL",
                "creationTime": created,
            }
            for key in ("key1", "key2")
        ]
    }


def _invalid(field: str, value: object, why: str) -> Response:
    return arm_error(
        400,
        "InvalidValuesForRequestParameters",
        f"Values for properties.{field} is invalid: {value}. {why}",
    )
