"""Collection over Resource Graph: one batch of subscriptions read by Resource Graph, then
what Resource Graph does not hold read from each resource provider, in parallel.

Resource Graph gives NSGs (with their default rules), NICs, VNets and subnets, public IPs,
VMs with their power state, storage accounts and role assignments. ARM still gives, per
subscription: each storage account's blob service and containers, the management locks,
the role definitions, the database servers with their firewall rules (``databases``), and
each VNet's effective security admin rules (a POST per VNet).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from clamp.errors import CloudError
from clamp.providers.azure.admin_rules import VNET_TYPE, effective_admin_rules
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.databases import DatabaseService
from clamp.providers.azure.identity import IdentityService
from clamp.providers.azure.resource_graph import (
    TABLES,
    ResourceGraph,
    arm_object,
    by_subscription,
    query_text,
)
from clamp.providers.azure.storage import StorageService
from clamp.providers.interface import ProgressCallback

Objects = list[dict[str, Any]]
ACCOUNT_TYPE = "microsoft.storage/storageaccounts"
PART_TYPES = (ACCOUNT_TYPE, VNET_TYPE)
"""Resource Graph's types whose objects ARM completes (``BulkInventory.parts``)."""


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
        definitions, databases; ``concurrency`` reads at once) start at once; a storage
        account's or a VNet's reads start as soon as a Resource Graph page names it, while
        the other pages are read."""
        # The tables' queries wait for their pages on threads of their own: in the reads'
        # pool they would hold two of its places while the pages are read by the graph's.
        with (
            ThreadPoolExecutor(self.concurrency, thread_name_prefix="clamp-arm") as pool,
            ThreadPoolExecutor(len(TABLES), thread_name_prefix="clamp-graph") as queries,
        ):
            parts = _Parts(self, pool, subscriptions)
            tables = [
                queries.submit(
                    graph.rows, subscriptions, query_text(t, types), progress, parts.named
                )
                for t, types in TABLES.items()
            ]
            pending = {scope: [pool.submit(r) for r in self._own(scope)] for scope in subscriptions}
            try:
                found = by_subscription([row for t in tables for row in t.result()], subscriptions)
            except CloudError:
                for future in [*tables, *parts.all(), *(f for fs in pending.values() for f in fs)]:
                    future.cancel()
                raise
            for scope in subscriptions:
                if progress:
                    progress(f"azure {scope}: storage parts, locks, roles, databases")
                objects = found[scope.lower()]
                yield scope, _gathered(objects, pending[scope] + parts.of(scope, objects))

    def _own(self, scope: str) -> list[Callable[[], Objects]]:
        return [
            partial(self.storage.locks, scope),
            partial(self.identity.definitions, scope),
            partial(self.databases.collect, scope, None),
        ]

    def parts(self, scope: str, obj: dict[str, Any]) -> Callable[[], Objects] | None:
        """The ARM read that completes one of Resource Graph's objects, if it needs one."""
        kind, arm_id = str(obj.get("type", "")).lower(), str(obj.get("id", ""))
        if kind == ACCOUNT_TYPE:
            return partial(self.storage.parts, arm_id)
        if kind == VNET_TYPE:
            return partial(self._admin_rules, scope, obj)
        return None

    def _admin_rules(self, scope: str, vnet: dict[str, Any]) -> Objects:
        return effective_admin_rules(self.clients.network(scope), [vnet])


class _Parts:
    """The ARM reads of the objects Resource Graph's pages name, started as each page
    arrives (from the threads reading pages), each object once, by subscription."""

    def __init__(
        self, inventory: BulkInventory, pool: ThreadPoolExecutor, subscriptions: Sequence[str]
    ) -> None:
        self.inventory, self.pool = inventory, pool
        self.scopes = {s.lower(): s for s in subscriptions}
        self.started: dict[str, dict[str, Future[Objects]]] = {s: {} for s in subscriptions}
        self.lock = threading.Lock()

    def named(self, rows: list[dict[str, Any]]) -> None:
        """Start the reads of one page's objects (a page read again starts none)."""
        for row in rows:
            scope = self.scopes.get(str(row.get("subscriptionId") or "").lower())
            if scope is None or str(row.get("type", "")).lower() not in PART_TYPES:
                continue
            arm_id, read = (
                str(row.get("id", "")).lower(),
                self.inventory.parts(scope, arm_object(row)),
            )
            with self.lock:
                if read is not None and arm_id not in self.started[scope]:
                    self.started[scope][arm_id] = self.pool.submit(read)

    def of(self, scope: str, objects: Objects) -> list[Future[Objects]]:
        """The reads of a subscription's ``objects``, in their order."""
        with self.lock:
            started = self.started[scope]
            return [f for o in objects if (f := started.get(str(o.get("id", "")).lower()))]

    def all(self) -> list[Future[Objects]]:
        """Every read started."""
        with self.lock:
            return [f for reads in self.started.values() for f in reads.values()]


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
