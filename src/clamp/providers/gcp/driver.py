"""The GCP driver: one service module per Google service, dispatched by name and change type.

``compute`` (firewalls, instances, networks; ``policy_rules``: rules of network firewall
policies), ``storage`` (buckets and their IAM
policies), ``identity`` (project IAM policies, instance service accounts) and ``cloudsql``
(Cloud SQL instances). Collection gathers every service's raw objects of a project and normalizes
them together: by default from Cloud Asset Inventory (``asset_inventory``; an organization
or folder listed once, fanned out to its projects), completed by the per-API reads CAI does
not replace; with ``[gcp] inventory = "api"``, or once CAI answers 403 (not enabled, or not
granted), from each API's lists per project.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from google.auth.credentials import Credentials

from clamp.config import Settings
from clamp.errors import InputError, PermissionDenied, ResourceNotFound
from clamp.model import Change, Provider, Resource
from clamp.providers.gcp.asset_inventory import AssetInventory, ByProject, bucket_policies
from clamp.providers.gcp.calls import CALLS
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.cloudsql import CloudSqlService
from clamp.providers.gcp.compute import FIREWALL_TYPE, ComputeService
from clamp.providers.gcp.customer import CustomerService
from clamp.providers.gcp.disks import SnapshotService
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.firewall_policies import effective_firewalls
from clamp.providers.gcp.identity import IdentityService
from clamp.providers.gcp.normalize import COMPUTE, resources_from_compute
from clamp.providers.gcp.policy_rules import PolicyRuleService
from clamp.providers.gcp.storage import StorageService
from clamp.providers.interface import CloudDriver, ProgressCallback
from clamp.providers.limits import CallBudget, CallCounts


class GcpService(Protocol):
    """What each Google service module provides to the driver."""

    @property
    def change_types(self) -> frozenset[str]:
        """The ``ChangeType`` values it applies."""

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Raw API objects of one project, each with its ``kind``."""

    def owns(self, resource_id: str) -> bool:
        """Whether ``read`` understands this resource name."""

    def read(self, resource_id: str) -> tuple[str, list[dict[str, Any]]]:
        """The project and the raw objects that make up one resource."""

    def context(self, resource_id: str) -> list[dict[str, Any]]:
        """Raw objects another service's resource needs for its checks (often none)."""

    def current(self, change: Change) -> dict[str, Any] | None:
        """The object a change targets, as Google Cloud has it now."""

    def apply(self, change: Change) -> None:
        """Make one change."""


class GcpDriver(CloudDriver):
    """Google Cloud through google-cloud-compute, -storage and -resource-manager (REST)."""

    provider = Provider.GCP
    calls = CALLS

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials | None = None,
        budget: CallBudget | None = None,
        counts: CallCounts | None = None,
    ) -> None:
        """``budget`` paces every Google call (None: no pacing); ``counts`` counts them."""
        self.settings = settings
        self.clients = GcpClients(settings, credentials, budget, counts)
        self.storage = StorageService(self.clients)
        self.services: tuple[GcpService, ...] = (
            ComputeService(self.clients),
            self.storage,
            IdentityService(self.clients),
            SnapshotService(self.clients),
            CloudSqlService(self.clients),
            PolicyRuleService(self.clients),
        )
        self.customer = CustomerService(self.clients)
        self.inventory = AssetInventory(self.clients)
        self.listed: ByProject = {}
        """Objects of projects an organization or folder listing gave, not yet collected."""
        self.assets_denied: str | None = None
        """Set when the Cloud Asset API is not enabled (403 ``SERVICE_DISABLED``): each API
        is listed from then on."""

    def call_counts(self) -> CallCounts:
        """Every Google call made through this driver's clients (made, throttled)."""
        return self.clients.counts

    @property
    def uses_assets(self) -> bool:
        """Whether collection asks Cloud Asset Inventory first."""
        return self.settings.gcp_inventory == "asset-inventory" and self.assets_denied is None

    def discover_scopes(self) -> list[str]:
        """The projects under ``[gcp] scope`` (organizations, folders) when configured,
        else the ACTIVE projects the credentials can see; then their organizations' Cloud
        Identity customers (``customer:<id>``, for the password policy)."""
        if self.settings.gcp_parents:
            under = [p for parent in self.settings.gcp_parents for p in self.projects_under(parent)]
            parents = {p for p in self.settings.gcp_parents if p.startswith("organizations/")}
            return sorted(set(under)) + self.customer.customers(parents)
        projects = call(
            "list projects",
            "resourcemanager.projects.get",
            lambda: list(self.clients.projects.search_projects(request={})),
        )
        active = [p for p in projects if p.state.name == "ACTIVE"]
        organizations = {p.parent for p in active if p.parent.startswith("organizations/")}
        return [p.project_id for p in active] + self.customer.customers(organizations)

    def projects_under(self, parent: str, progress: ProgressCallback | None = None) -> list[str]:
        """The project ids under ``organizations/N`` or ``folders/N``. Through Cloud Asset
        Inventory the whole parent is listed now (every project of it, however deep), and
        ``collect`` of each project uses that listing; without it, Resource Manager's
        ACTIVE projects whose parent is ``parent`` (direct children only)."""
        if not parent.startswith(("organizations/", "folders/")):
            raise InputError(
                f"not an organization or folder: {parent!r}", hint="organizations/N or folders/N"
            )
        if self.uses_assets:
            try:
                found = self.inventory.objects(parent, progress)
            except PermissionDenied as exc:
                self._denied(exc, progress)
            else:
                self.listed.update(found)
                return sorted(found)
        projects = call(
            f"list the projects of {parent}",
            "resourcemanager.projects.get",
            lambda: list(
                self.clients.projects.search_projects(request={"query": f"parent:{parent}"})
            ),
        )
        return sorted(
            p.project_id for p in projects if p.state.name == "ACTIVE" and p.parent == parent
        )

    def collect(self, scope: str, progress: ProgressCallback | None = None) -> Iterable[Resource]:
        """Every resource Clamp evaluates in one project (or a customer's policies)."""
        if self.customer.owns(scope):
            return [self.customer.read(scope, progress)]
        if self.uses_assets:
            objects = self._from_assets(scope, progress)
            if objects is not None:
                return resources_from_compute(scope, objects)
        objects = [obj for service in self.services for obj in service.collect(scope, progress)]
        return resources_from_compute(scope, objects)

    def _from_assets(
        self, project: str, progress: ProgressCallback | None
    ) -> list[dict[str, Any]] | None:
        """A project's objects from Cloud Asset Inventory (an earlier organization or folder
        listing, else the project's own), buckets from Cloud Storage and the firewall policies
        in force from Compute; None when CAI refused (403)."""
        found = self.listed.pop(project, None)
        if found is None:
            try:
                found = self.inventory.objects(f"projects/{project}", progress).get(project, [])
            except PermissionDenied as exc:
                self._denied(exc, progress)
                return None
        objects = [o for o in found if o.get("kind") != "storage#policy"]
        objects += self.storage.collect(project, progress, bucket_policies(found))
        return objects + effective_firewalls(self.clients, project, objects, progress)

    def _denied(self, exc: PermissionDenied, progress: ProgressCallback | None) -> None:
        """CAI refused: a disabled API is the caller's for every scope (remembered); a
        permission missing on one project or parent only sends that one to each API."""
        disabled = getattr(exc.__cause__, "reason", None) == "SERVICE_DISABLED"
        why = "the Cloud Asset API is not enabled" if disabled else exc.message
        if disabled:
            self.assets_denied = why
        if progress:
            progress(f"gcp: Cloud Asset Inventory refused ({why}); listing each API")

    def read(self, resource_id: str) -> Resource:
        """Re-read one firewall rule, instance, network, bucket or project IAM policy."""
        return self.read_related(resource_id)[0]

    def read_related(self, resource_id: str) -> list[Resource]:
        """The resource first, then what its checks need (an instance's project policy)."""
        if self.customer.owns(resource_id):
            return [self.customer.read(resource_id)]
        service = next((s for s in self.services if s.owns(resource_id)), None)
        if service is None:
            raise InputError(
                "not a Compute firewall, instance or network, a bucket, a Cloud SQL instance or "
                f"a project: {resource_id}"
            )
        project, objects = service.read(resource_id)
        objects += [o for s in self.services for o in s.context(resource_id)]
        resources = resources_from_compute(project, objects)
        found = [r for r in resources if r.id == resource_id]
        if not found:
            raise ResourceNotFound(f"{resource_id} was not found")
        return [found[0], *(r for r in resources if r.id != resource_id)]

    def evaluated_resource(self, object_id: str) -> str | None:
        """A firewall, instance, network, bucket, Cloud SQL instance or project Clamp reads
        by its full name (Compute's other collections are not read)."""
        if object_id.startswith(COMPUTE + "/"):
            collection = object_id.split("/")[-2]
            return object_id if collection in ("firewalls", "instances", "networks") else None
        return object_id if any(s.owns(object_id) for s in self.services) else None

    def current(self, change: Change) -> dict[str, object] | None:
        """The object ``change`` targets as Google Cloud has it now, or None."""
        return self._service(change).current(change)

    def apply(self, change: Change) -> None:
        """Make one change with Google Cloud's optimistic concurrency (see each service)."""
        self._service(change).apply(change)

    def resource_of(self, change: Change) -> str | None:
        """A firewall or an instance, whose changes Clamp re-evaluates (project policies and
        buckets are the plan's own resource)."""
        if change.type == FIREWALL_TYPE or change.type.startswith("compute#instance/"):
            return change.target
        return None

    def _service(self, change: Change) -> GcpService:
        for service in self.services:
            if change.type in service.change_types:
                return service
        raise InputError(f"the GCP driver cannot change {change.type} objects")
