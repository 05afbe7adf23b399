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
from clamp.providers.azure.resource_graph import TABLES, ResourceGraph, by_subscription, query_text
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

    def collect(
        self,
        graph: ResourceGraph,
        subscriptions: Sequence[str],
        progress: ProgressCallback | None = None,
    ) -> Iterator[tuple[str, Objects | CloudError]]:
        """Each subscription (in order) with Resource Graph's objects and its ARM parts, or
        the error that kept one of its parts from being read. Resource Graph's own error
        (a 403: not allowed) is raised before anything is yielded.

        Both tables' queries and the reads that need nothing from them (locks, role
        definitions, databases) start at once; a storage account's or a VNet's reads start
        when Resource Graph has named it."""
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="clamp-arm") as pool:
            tables = [
                pool.submit(graph.rows, subscriptions, query_text(table, types), progress)
                for table, types in TABLES.items()
            ]
            pending = {scope: [pool.submit(r) for r in self._own(scope)] for scope in subscriptions}
            try:
                found = by_subscription([row for t in tables for row in t.result()], subscriptions)
            except CloudError:
                for future in [*tables, *(f for fs in pending.values() for f in fs)]:
                    future.cancel()
                raise
            for scope in subscriptions:
                objects = found[scope.lower()]
                pending[scope] += [pool.submit(r) for r in self._parts(scope, objects)]
            for scope in subscriptions:
                if progress:
                    progress(f"azure {scope}: storage parts, locks, roles, databases")
                yield scope, _gathered(found[scope.lower()], pending[scope])

    def _own(self, scope: str) -> list[Callable[[], Objects]]:
        return [
            partial(self.storage.locks, scope),
            partial(self.identity.definitions, scope),
            partial(self.databases.collect, scope, None),
        ]

    def _parts(self, scope: str, objects: Objects) -> list[Callable[[], Objects]]:
        reads: list[Callable[[], Objects]] = []
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
