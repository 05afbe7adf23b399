"""The Azure driver: one service module per Azure service, dispatched by id and change type.

``network`` (NSGs and what exposure needs), ``storage`` (storage accounts, blob
services, containers, locks), ``identity`` (VM identities, role assignments) and
``databases`` (SQL servers, PostgreSQL / MySQL flexible servers, firewall rules); the
tenant's password settings come from Microsoft Graph (``entra``, scope ``tenant:<id>``). Collection gathers every service's raw ARM objects and
normalizes them together, so links between them (a NIC's NSG, a lock's scope) resolve.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from azure.core.credentials import TokenCredential

from clamp.config import Settings
from clamp.errors import CloudError, InputError, PermissionDenied, ResourceNotFound
from clamp.model import Change, Provider, Resource
from clamp.providers.azure.admin_rule_writes import AdminRuleService
from clamp.providers.azure.bulk_inventory import BulkInventory
from clamp.providers.azure.calls import CALLS
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.databases import DatabaseService
from clamp.providers.azure.disks import SnapshotService
from clamp.providers.azure.entra import EntraService
from clamp.providers.azure.errors import translated
from clamp.providers.azure.identity import IdentityService
from clamp.providers.azure.network import RULE_TYPE, NetworkService
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.azure.normalize_entra import tenant_resource
from clamp.providers.azure.resource_graph import ResourceGraph
from clamp.providers.azure.storage import StorageService
from clamp.providers.azure.vm import VmService
from clamp.providers.interface import CloudDriver, ProgressCallback, ScopeOutcome
from clamp.providers.limits import CallBudget, CallCounts

BATCH = 100
"""Subscriptions per Resource Graph query (Clamp's choice: few queries, pages of 1,000)."""


class AzureService(Protocol):
    """What each Azure service module provides to the driver."""

    @property
    def change_types(self) -> frozenset[str]:
        """The ``ChangeType`` values it applies."""

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Raw ARM objects of one subscription."""

    def owns(self, resource_id: str) -> bool:
        """Whether ``read`` understands this id."""

    def read(self, resource_id: str) -> list[dict[str, Any]]:
        """The raw ARM objects that make up one resource (and what its checks need)."""

    def current(self, change: Change) -> dict[str, Any] | None:
        """The object a change targets, as Azure has it now."""

    def apply(self, change: Change) -> None:
        """Make one change."""


class AzureDriver(CloudDriver):
    """Azure Resource Manager through the azure-mgmt SDKs."""

    provider = Provider.AZURE
    calls = CALLS
    thread_safe = True  # azure-core's requests transport and Clamp's client cache

    def __init__(
        self,
        settings: Settings,
        credential: TokenCredential | None = None,
        budget: CallBudget | None = None,
    ) -> None:
        """``budget`` paces every call (default: in-process buckets, ``providers.pacing``;
        workers pass one shared across processes)."""
        self.settings = settings
        self.clients = AzureClients(settings, credential, budget)
        self.databases = DatabaseService(self.clients)
        storage, identity = StorageService(self.clients), IdentityService(self.clients)
        self.services: tuple[AzureService, ...] = (
            NetworkService(self.clients),
            storage,
            identity,
            VmService(self.clients),
            SnapshotService(self.clients),
            self.databases,
            AdminRuleService(self.clients),
        )
        self.entra = EntraService(self.clients)
        self.graph = ResourceGraph(self.clients, concurrency=settings.scan_concurrency)
        self.bulk = BulkInventory(
            self.clients, storage, identity, self.databases, settings.scan_concurrency
        )
        self.graph_denied = False
        """Set when Resource Graph answered 403: collection lists each type from then on."""

    @property
    def batch_size(self) -> int:  # type: ignore[override]
        """Subscriptions per Resource Graph query; 1 when each type is listed per scope."""
        return 1 if self._per_type else BATCH

    @property
    def _per_type(self) -> bool:
        return self.settings.azure_inventory == "arm" or self.graph_denied

    def call_counts(self) -> CallCounts:
        """Every ARM and Resource Graph call made through this driver's clients."""
        return self.clients.counts

    def collect_many(
        self, scopes: Sequence[str], progress: ProgressCallback | None = None
    ) -> Iterator[ScopeOutcome]:
        """Tenants (Microsoft Graph) one by one; subscriptions by Resource Graph in one
        batch, completed from ARM (``bulk_inventory``), or each type listed per
        subscription when ``[azure] inventory = "arm"`` or Resource Graph refuses (403)."""
        subscriptions = [s for s in scopes if not self.entra.owns(s)]
        yield from super().collect_many([s for s in scopes if self.entra.owns(s)], progress)
        if not subscriptions:
            return
        if not self._per_type:
            outcomes = self.bulk.collect(self.graph, subscriptions, progress)
            try:
                first = next(outcomes, None)
            except PermissionDenied:
                self.graph_denied = True
                if progress:
                    progress("azure: Resource Graph denied (403); listing each type instead")
            except CloudError as exc:
                for scope in subscriptions:
                    yield scope, exc
                return
            else:
                for scope, outcome in itertools.chain([first] if first else [], outcomes):
                    if isinstance(outcome, CloudError):
                        yield scope, outcome
                    else:
                        yield scope, resources_from_arm(outcome, scope)
                return
        with ThreadPoolExecutor(self.settings.scan_concurrency) as pool:
            listed = [pool.submit(self._listed, scope, progress) for scope in subscriptions]
            for future in listed:
                yield future.result()

    def _listed(self, scope: str, progress: ProgressCallback | None) -> ScopeOutcome:
        """One subscription with each type listed, or the error that stopped it."""
        return next(super().collect_many([scope], progress))

    def discover_scopes(self) -> list[str]:
        """Enabled subscriptions the credential can see, then their tenants
        (``tenant:<id>``, for the password policy)."""
        with translated("list subscriptions", "Microsoft.Resources/subscriptions/read"):
            subscriptions = [
                s
                for s in self.clients.subscriptions.subscriptions.list()
                if s.subscription_id and s.state in (None, "Enabled")
            ]
        tenants = sorted({f"tenant:{s.tenant_id}" for s in subscriptions if s.tenant_id})
        return [str(s.subscription_id) for s in subscriptions] + tenants

    def collect(self, scope: str, progress: ProgressCallback | None = None) -> Iterable[Resource]:
        """Every resource Clamp evaluates in a subscription (or the tenant's settings)."""
        if self.entra.owns(scope):
            return [tenant_resource(self.entra.collect(scope, progress))]
        objects = [obj for service in self.services for obj in service.collect(scope, progress)]
        return resources_from_arm(objects, scope)

    def read(self, resource_id: str) -> Resource:
        """Re-read one NSG, storage account (with its parts) or VM."""
        return self.read_related(resource_id)[0]

    def read_related(self, resource_id: str) -> list[Resource]:
        """The resource first, then what its checks need (a VM's role assignments)."""
        if self.entra.owns(resource_id):
            return [tenant_resource(self.entra.read(resource_id))]
        service = next((s for s in self.services if s.owns(resource_id)), None)
        if service is None:
            raise InputError(
                f"Clamp cannot read {resource_id} (not an NSG, storage account, VM, database "
                "server or tenant)"
            )
        wanted = resource_id.lower()
        resources = resources_from_arm(service.read(resource_id))
        found = [r for r in resources if r.id.lower() == wanted]
        if not found:
            raise ResourceNotFound(f"{resource_id} was not found")
        return [found[0], *(r for r in resources if r.id.lower() != wanted)]

    def evaluated_resource(self, object_id: str) -> str | None:
        """The top-level resource an ARM id is or lies below (an NSG for its security rule,
        a storage account for its blob service, container or lock, a database server for
        its firewall rule), if Clamp reads it."""
        parts = object_id.strip("/").split("/")
        if len(parts) < 8 or parts[0].lower() != "subscriptions" or parts[4].lower() != "providers":
            return None
        top = "/" + "/".join(parts[:8])
        return top if any(s.owns(top) for s in self.services) else None

    def current(self, change: Change) -> dict[str, object] | None:
        """The object ``change`` targets as Azure has it now, or None."""
        return self._service(change).current(change)

    def apply(self, change: Change) -> None:
        """Make one change with Azure's optimistic concurrency (see each service)."""
        self._service(change).apply(change)

    def resource_of(self, change: Change) -> str | None:
        """The NSG of a security rule; an NSG, storage account or VM itself."""
        if change.type == RULE_TYPE:
            return change.target[: change.target.lower().rindex("/securityrules/")]
        if (server := self.databases.server_of(change)) is not None:
            return server
        owner = next((s for s in self.services if s.owns(change.target)), None)
        return change.target if owner is not None else None

    def _service(self, change: Change) -> AzureService | EntraService:
        if change.type in self.entra.change_types:
            return self.entra
        for service in self.services:
            if change.type in service.change_types:
                return service
        raise InputError(f"the Azure driver cannot change {change.type} objects")
