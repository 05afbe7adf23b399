"""Azure storage accounts and their parts → one ``Resource`` per account (pure, no SDK).

ARM returns a storage account's protections in separate objects: the account itself
(``Microsoft.Storage/storageAccounts``), its blob service (``.../blobServices/default``),
its containers (``.../blobServices/default/containers/C``) and the management locks on it
or on a parent scope (``<scope>/providers/Microsoft.Authorization/locks/L``). They are
joined here into one Resource whose ``raw`` is ``{"account", "blobService", "containers",
"locks"}`` (the objects as ARM returns them) and whose facets are:

- ``versioning`` (bool), ``blob_soft_delete_days`` and ``container_soft_delete_days``
  (0 when off) — None when there is no blob service object (an export without it);
- ``delete_locks``: the ``CanNotDelete``/``ReadOnly`` locks protecting the account, own or
  inherited (``"name (level, at scope)"``) — None when locks were not read;
- ``immutability``: where immutable storage protects data (``"account"``, ``"container C"``);
- ``allow_blob_public_access`` (absent means false, as the API defines it),
  ``public_containers`` (names whose ``publicAccess`` is Blob or Container; None when
  containers were not read);
- ``https_only`` (absent means true) and ``min_tls`` (absent means TLS1_0).

Whether locks and containers were read depends on the caller: the driver lists every
part, so it passes them all in ``listed``; an offline export counts only the kinds of
objects it contains.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from clamp.model import Provider, Resource, ResourceType

ACCOUNT = "microsoft.storage/storageaccounts"
BLOB_SERVICE = "microsoft.storage/storageaccounts/blobservices"
CONTAINER = "microsoft.storage/storageaccounts/blobservices/containers"
LOCK = "microsoft.authorization/locks"
PARTS = frozenset({ACCOUNT, BLOB_SERVICE, CONTAINER, LOCK})
LOCK_SEGMENT = "/providers/microsoft.authorization/locks/"
PROTECTING_LEVELS = ("CanNotDelete", "ReadOnly")
PUBLIC_LEVELS = ("blob", "container")


def account_of(arm_id: str) -> str:
    """The storage account id that an account part's id starts with (lower-cased)."""
    lower = arm_id.lower()
    head, sep, tail = lower.partition("/providers/microsoft.storage/storageaccounts/")
    return f"{head}{sep}{tail.split('/', 1)[0]}" if sep else ""


def lock_scope(lock_id: str) -> str:
    """The scope a management lock sits on (lower-cased): a resource, group or subscription."""
    return lock_id.lower().split(LOCK_SEGMENT, 1)[0]


def _covers(scope: str, arm_id: str) -> bool:
    return arm_id == scope or arm_id.startswith(scope + "/")


def storage_accounts(
    objects: Iterable[Mapping[str, Any]],
    subscription_of: Callable[[str], str],
    subscription: str | None = None,
    listed: Collection[str] = PARTS,
) -> list[Resource]:
    """One Resource per storage account among ``objects`` (other types are ignored)."""
    accounts: list[Mapping[str, Any]] = []
    services: dict[str, Mapping[str, Any]] = {}
    containers: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    locks: list[Mapping[str, Any]] = []
    for obj in objects:
        kind, arm_id = str(obj.get("type", "")).lower(), str(obj.get("id", ""))
        if not arm_id:
            continue
        if kind == ACCOUNT:
            accounts.append(obj)
        elif kind == BLOB_SERVICE:
            services[account_of(arm_id)] = obj
        elif kind == CONTAINER:
            containers[account_of(arm_id)].append(obj)
        elif kind == LOCK:
            locks.append(obj)
    out = []
    for account in accounts:
        arm_id = str(account["id"])
        key = arm_id.lower()
        parts = {
            "account": account,
            "blobService": services.get(key),
            "containers": containers.get(key, []),
            "locks": [lock for lock in locks if _covers(lock_scope(str(lock["id"])), key)],
        }
        out.append(
            Resource(
                id=arm_id,
                provider=Provider.AZURE,
                type=ResourceType.AZURE_STORAGE_ACCOUNT,
                name=str(account.get("name", "")),
                scope=subscription or subscription_of(arm_id),
                facets=account_facets(parts, listed),
                raw=parts,
                tags=dict(account.get("tags") or {}),
            )
        )
    return out


def account_facets(parts: Mapping[str, Any], listed: Collection[str] = PARTS) -> dict[str, Any]:
    """The protection facets of one account from its parts (see the module docstring)."""
    props = (parts.get("account") or {}).get("properties") or {}
    service = parts.get("blobService")
    service_props = (service or {}).get("properties") or {}
    containers = [c.get("properties") or {} for c in parts.get("containers") or []]
    names = [str(c.get("name", "")) for c in parts.get("containers") or []]
    immutability = [
        *(
            ["account"]
            if (props.get("immutableStorageWithVersioning") or {}).get("enabled")
            else []
        ),
        *(
            f"container {name}"
            for name, c in zip(names, containers, strict=True)
            if c.get("hasImmutabilityPolicy")
            or (c.get("immutableStorageWithVersioning") or {}).get("enabled")
        ),
    ]
    return {
        "versioning": bool(service_props.get("isVersioningEnabled")) if service else None,
        "blob_soft_delete_days": _days(service_props.get("deleteRetentionPolicy"))
        if service
        else None,
        "container_soft_delete_days": _days(service_props.get("containerDeleteRetentionPolicy"))
        if service
        else None,
        "delete_locks": tuple(
            f"{lock.get('name', '')} ({_level(lock)}, at {lock_scope(str(lock['id']))})"
            for lock in parts.get("locks") or []
            if _level(lock) in PROTECTING_LEVELS
        )
        if LOCK in listed
        else None,
        "immutability": tuple(immutability),
        "allow_blob_public_access": bool(props.get("allowBlobPublicAccess", False)),
        "public_containers": tuple(
            name
            for name, c in zip(names, containers, strict=True)
            if str(c.get("publicAccess") or "None").lower() in PUBLIC_LEVELS
        )
        if CONTAINER in listed
        else None,
        "https_only": bool(props.get("supportsHttpsTrafficOnly", True)),
        "min_tls": str(props.get("minimumTlsVersion") or "TLS1_0"),
    }


def _days(policy: Any) -> int:
    if not isinstance(policy, Mapping) or not policy.get("enabled"):
        return 0
    return int(policy.get("days") or 0)


def _level(lock: Mapping[str, Any]) -> str:
    props = lock.get("properties") or lock
    return str(props.get("level", ""))
