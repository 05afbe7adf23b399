"""Collection over Resource Graph: one batch of subscriptions read by Resource Graph, then
what Resource Graph does not hold read from each resource provider, in parallel.

Resource Graph gives NSGs (with their default rules), NICs, VNets and subnets, public IPs,
VMs with their power state, storage accounts and role assignments. ARM still gives, per
subscription: each storage account's blob service and containers, the management locks,
the role definitions, the database servers with their firewall rules (``databases``), and
each VNet's effective security admin rules (a POST per VNet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from clamp.errors import CloudError
from clamp.providers.azure.admin_rules import VNET_TYPE, effective_admin_rules
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.databases import DatabaseService
from clamp.providers.azure.identity import IdentityService
from clamp.providers.azure.storage import StorageService
from clamp.providers.interface import ProgressCallback

Objects = list[dict[str, Any]]
ACCOUNT_TYPE = "microsoft.storage/storageaccounts"


class BulkInventory:
    """Completes Resource Graph's objects of a batch with the ARM reads it cannot replace."""

    def __init__(
        self,
        clients: AzureClients,
        storage: StorageService,
        identity: IdentityService,
        databases: DatabaseService,
        concurrency: int,
    ) -> None:
        self.clients, self.storage, self.identity = clients, storage, identity
        self.databases, self.concurrency = databases, max(1, concurrency)

    def complete(
        self,
        found: dict[str, Objects],
        subscriptions: Sequence[str],
        progress: ProgressCallback | None = None,
    ) -> Iterator[tuple[str, Objects | CloudError]]:
        """Each subscription (in order) with Resource Graph's objects and its ARM parts,
        or the error that kept one of its parts from being read."""
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="clamp-arm") as pool:
            pending = {
                scope: [pool.submit(read) for read in self._reads(scope, found[scope.lower()])]
                for scope in subscriptions
            }
            for scope in subscriptions:
                if progress:
                    progress(f"azure {scope}: storage parts, locks, roles, databases")
                yield scope, _gathered(found[scope.lower()], pending[scope])

    def _reads(self, scope: str, objects: Objects) -> list[Callable[[], Objects]]:
        reads: list[Callable[[], Objects]] = [
            lambda: self.storage.locks(scope),
            lambda: self.identity.definitions(scope),
            lambda: self.databases.collect(scope, None),
        ]
        for obj in objects:
            kind, arm_id = str(obj.get("type", "")).lower(), str(obj.get("id", ""))
            if kind == ACCOUNT_TYPE:
                reads.append(partial(self.storage.parts, arm_id))
            elif kind == VNET_TYPE:
                reads.append(partial(self._admin_rules, scope, obj))
        return reads

    def _admin_rules(self, scope: str, vnet: dict[str, Any]) -> Objects:
        return effective_admin_rules(self.clients.network(scope), [vnet])


def _gathered(objects: Objects, reads: list[Future[Objects]]) -> Objects | CloudError:
    """Resource Graph's objects and every read's, or the first read's error."""
    out = list(objects)
    for read in reads:
        try:
            out += read.result()
        except CloudError as exc:
            for rest in reads:
                rest.cancel()
            return exc
    return out
