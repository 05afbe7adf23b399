"""Azure storage: list and read storage accounts with their blob service, containers and
locks (azure-mgmt-storage, azure-mgmt-resource-locks); change account and blob-service
properties and management locks.

Storage accounts and blob-service settings carry no etag in ARM, so before a write the
object is re-read and the fields about to change must still hold their planned values
(else ``ConflictError``, nothing written); the write itself sends only those fields.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.resource.locks.models import ManagementLockObject
from azure.mgmt.storage.models import BlobServiceProperties, StorageAccountUpdateParameters

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.azure.base import resource_ref
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.azure.network import raw
from clamp.providers.azure.normalize_storage import LOCK_SEGMENT, account_of
from clamp.providers.interface import ProgressCallback

ACCOUNT_TYPE = ChangeType.AZURE_STORAGE_ACCOUNT
BLOB_SERVICE_TYPE = ChangeType.AZURE_BLOB_SERVICE
LOCK_TYPE = ChangeType.AZURE_LOCK
ACCOUNT_READ = "Microsoft.Storage/storageAccounts/read"
ACCOUNT_WRITE = "Microsoft.Storage/storageAccounts/write"
SERVICE_READ = "Microsoft.Storage/storageAccounts/blobServices/read"
SERVICE_WRITE = "Microsoft.Storage/storageAccounts/blobServices/write"
CONTAINERS_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/read"
LOCKS_READ = "Microsoft.Authorization/locks/read"


def account_ref(arm_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, account) of a storage account or one of its parts."""
    return resource_ref(arm_id, "storageAccounts", below=True)


class StorageService:
    """Storage accounts, their blob service and containers, and the locks on them."""

    change_types = frozenset({ACCOUNT_TYPE, BLOB_SERVICE_TYPE, LOCK_TYPE})

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Every storage account of a subscription with its parts, and the subscription's locks."""
        if progress:
            progress(f"azure {scope}: storage accounts")
        with translated(f"list storage accounts in subscription {scope}", ACCOUNT_READ):
            accounts = [raw(a) for a in self.clients.storage(scope).storage_accounts.list()]
        objects = list(accounts)
        for account in accounts:
            objects += self.parts(str(account["id"]))
        return objects + self.locks(scope)

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is a storage account."""
        return bool(account_of(resource_id)) and account_of(resource_id) == resource_id.lower()

    def read(self, resource_id: str) -> list[dict[str, Any]]:
        """One storage account, its parts, and the locks that cover it."""
        subscription, group, name = account_ref(resource_id)
        with translated(f"read {resource_id}", ACCOUNT_READ):
            account = raw(
                self.clients.storage(subscription).storage_accounts.get_properties(group, name)
            )
        return [account, *self.parts(resource_id), *self.locks(subscription)]

    def parts(self, account_id: str) -> list[dict[str, Any]]:
        """An account's blob service and containers (what Resource Graph does not hold)."""
        subscription, group, name = account_ref(account_id)
        client = self.clients.storage(subscription)
        with translated(f"read the blob service of {account_id}", SERVICE_READ):
            service = raw(client.blob_services.get_service_properties(group, name))
        with translated(f"list the containers of {account_id}", CONTAINERS_READ):
            containers = [raw(c) for c in client.blob_containers.list(group, name)]
        for container in containers:  # list items may omit their type
            container.setdefault("type", f"{BLOB_SERVICE_TYPE}/containers")
        service.setdefault("type", BLOB_SERVICE_TYPE)
        return [service, *containers]

    def locks(self, subscription: str) -> list[dict[str, Any]]:
        """The management locks of a subscription."""
        with translated(f"list management locks in subscription {subscription}", LOCKS_READ):
            locks = self.clients.locks(subscription).management_locks.list_at_subscription_level()
            return [_lock_json(lock) for lock in locks]

    # -- changes --------------------------------------------------------------------------
    def current(self, change: Change) -> dict[str, Any] | None:
        """The account, blob service or lock as Azure has it now (None if absent)."""
        if change.type == LOCK_TYPE:
            scope, name = _lock_ref(change.target)
            subscription = account_ref(scope)[0]
            try:
                with translated(f"read lock {change.target}", LOCKS_READ):
                    lock = self.clients.locks(subscription).management_locks.get_by_scope(
                        scope, name
                    )
            except ResourceNotFound:
                return None
            return _lock_json(lock)
        subscription, group, name = account_ref(change.target)
        client = self.clients.storage(subscription)
        try:
            if change.type == ACCOUNT_TYPE:
                with translated(f"read {change.target}", ACCOUNT_READ):
                    return raw(client.storage_accounts.get_properties(group, name))
            with translated(f"read {change.target}", SERVICE_READ):
                return raw(client.blob_services.get_service_properties(group, name))
        except ResourceNotFound:
            return None

    def apply(self, change: Change) -> None:
        """Write one change: PATCH the account, PUT blob-service settings, put/delete a lock."""
        if change.type == LOCK_TYPE:
            self._apply_lock(change)
            return
        if change.op != ChangeOp.UPDATE:
            raise InputError(f"Clamp only updates {change.type} objects, never creates them")
        changed = _changed_properties(change)
        now = self.current(change)
        if now is None or not matches(
            {
                "properties": {
                    k: (change.before or {}).get("properties", {}).get(k) for k in changed
                }
            },
            now,
        ):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        subscription, group, name = account_ref(change.target)
        client = self.clients.storage(subscription)
        body = {"properties": changed}
        if change.type == ACCOUNT_TYPE:
            with translated(f"update {change.target}", ACCOUNT_WRITE):
                client.storage_accounts.update(group, name, StorageAccountUpdateParameters(body))
        else:
            with translated(f"update {change.target}", SERVICE_WRITE):
                client.blob_services.set_service_properties(
                    group, name, BlobServiceProperties(body)
                )

    def _apply_lock(self, change: Change) -> None:
        scope, name = _lock_ref(change.target)
        locks = self.clients.locks(account_ref(scope)[0]).management_locks
        now = self.current(change)
        if not matches(change.before, now):
            raise ConflictError(
                f"lock {change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        match change.op:
            case ChangeOp.CREATE | ChangeOp.UPDATE:
                props = (change.after or {}).get("properties") or {}
                body = ManagementLockObject(level=str(props["level"]), notes=props.get("notes"))
                with translated(f"create lock {change.target}", f"{LOCK_TYPE}/write"):
                    locks.create_or_update_by_scope(scope, name, body)
            case ChangeOp.DELETE:
                with translated(f"delete lock {change.target}", f"{LOCK_TYPE}/delete"):
                    locks.delete_by_scope(scope, name)


def _changed_properties(change: Change) -> dict[str, Any]:
    """The ``properties`` fields whose values differ between the change's images."""
    before = (change.before or {}).get("properties") or {}
    after = (change.after or {}).get("properties") or {}
    return {k: v for k, v in after.items() if before.get(k) != v}


def _lock_ref(lock_id: str) -> tuple[str, str]:
    """(scope, name) of ``<scope>/providers/Microsoft.Authorization/locks/<name>``."""
    at = lock_id.lower().find(LOCK_SEGMENT)
    if at < 0:
        raise InputError(f"not a management lock id: {lock_id}")
    return lock_id[:at], lock_id[at + len(LOCK_SEGMENT) :]


def _lock_json(lock: Any) -> dict[str, Any]:
    """A lock as ARM returns it (the locks SDK's models serialize to the wire shape)."""
    data: dict[str, Any] = lock.serialize(keep_readonly=True)
    data.setdefault("type", LOCK_TYPE)
    return data
