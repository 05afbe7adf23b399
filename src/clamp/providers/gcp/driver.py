"""The GCP driver: collect, re-read and change VPC firewall rules via google-cloud-compute.

Writes use the ``*_unary`` methods and wait on the operation with a GlobalOperationsClient
built with the same endpoint and credentials (``.result()`` would poll the real endpoint).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cached_property, partial
from typing import Any

from google.auth.credentials import Credentials
from google.cloud import compute_v1, resourcemanager_v3

from clamp.config import Settings
from clamp.errors import CloudError, ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, Provider, Resource
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.normalize import COMPUTE, resources_from_compute
from clamp.providers.interface import CloudDriver, ProgressCallback

FIREWALL_TYPE = "compute.googleapis.com/Firewall"
COMPARED = (
    "sourceRanges",
    "sourceTags",
    "sourceServiceAccounts",
    "allowed",
    "denied",
    "disabled",
    "targetTags",
    "targetServiceAccounts",
    "priority",
    "direction",
)


def _raw(message: Any) -> dict[str, Any]:
    text = type(message).to_json(message, use_integers_for_enums=False, indent=0)
    data: dict[str, Any] = json.loads(text)
    return data


def firewall_ref(name: str) -> tuple[str, str]:
    """(project, firewall) from ``//compute.googleapis.com/projects/P/global/firewalls/F``."""
    parts = name.removeprefix(COMPUTE + "/").split("/")
    if not name.startswith(COMPUTE) or len(parts) != 4 or parts[1:3] != ["global", "firewalls"]:
        raise InputError(f"not a firewall resource name: {name}")
    return parts[0], parts[3]


class GcpDriver(CloudDriver):
    """Google Cloud through google-cloud-compute and google-cloud-resource-manager (REST)."""

    provider = Provider.GCP

    def __init__(self, settings: Settings, credentials: Credentials | None = None) -> None:
        self.settings = settings
        self._credentials = credentials

    @cached_property
    def _client_kwargs(self) -> dict[str, Any]:
        if self.settings.sandbox_url:
            from google.auth.credentials import AnonymousCredentials

            return {
                "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
                "transport": "rest",
                "client_options": {"api_endpoint": self.settings.sandbox_url},
            }
        kwargs: dict[str, Any] = {"transport": "rest"}
        if self._credentials is not None:
            kwargs["credentials"] = self._credentials
        return kwargs

    @cached_property
    def firewalls(self) -> compute_v1.FirewallsClient:
        """Firewalls client."""
        return compute_v1.FirewallsClient(**self._client_kwargs)

    @cached_property
    def operations(self) -> compute_v1.GlobalOperationsClient:
        """Global operations client (same endpoint as the others)."""
        return compute_v1.GlobalOperationsClient(**self._client_kwargs)

    def discover_scopes(self) -> list[str]:
        """ACTIVE projects the credentials can see."""
        client = resourcemanager_v3.ProjectsClient(**self._client_kwargs)
        projects = call(
            "list projects",
            "resourcemanager.projects.list",
            lambda: list(client.search_projects(request={})),
        )
        return [p.project_id for p in projects if p.state.name == "ACTIVE"]

    def collect(self, scope: str, progress: ProgressCallback | None = None) -> Iterable[Resource]:
        """Firewalls, instances and networks of one project."""
        kwargs = self._client_kwargs
        instances = compute_v1.InstancesClient(**kwargs)
        networks = compute_v1.NetworksClient(**kwargs)
        objects: list[dict[str, Any]] = []
        if progress:
            progress(f"gcp {scope}: firewalls")
        objects += call(
            f"list firewalls in {scope}",
            "compute.firewalls.list",
            lambda: [_raw(f) for f in self.firewalls.list(project=scope)],
        )
        if progress:
            progress(f"gcp {scope}: instances")
        objects += call(
            f"list instances in {scope}",
            "compute.instances.list",
            lambda: [
                _raw(i)
                for _, scoped in instances.aggregated_list(project=scope)
                for i in scoped.instances
            ],
        )
        objects += call(
            f"list networks in {scope}",
            "compute.networks.list",
            lambda: [_raw(n) for n in networks.list(project=scope)],
        )
        for obj, kind in _kinds(objects):
            obj.setdefault("kind", kind)
        return resources_from_compute(scope, objects)

    def _get(self, project: str, name: str) -> dict[str, Any]:
        return call(
            f"read firewall {name} in {project}",
            "compute.firewalls.get",
            lambda: _raw(self.firewalls.get(project=project, firewall=name)),
        )

    def read(self, resource_id: str) -> Resource:
        """Re-read one firewall rule."""
        project, name = firewall_ref(resource_id)
        fw = self._get(project, name)
        fw.setdefault("kind", "compute#firewall")
        return resources_from_compute(project, [fw])[0]

    def current(self, change: Change) -> dict[str, object] | None:
        """The firewall as Google Cloud has it now, or None."""
        self._check_type(change)
        project, name = firewall_ref(change.target)
        try:
            return dict(self._get(project, name))
        except ResourceNotFound:
            return None

    def apply(self, change: Change) -> None:
        """Insert, update (after checking nothing changed since the plan) or delete."""
        self._check_type(change)
        project, name = firewall_ref(change.target)
        match change.op:
            case ChangeOp.UPDATE:
                now = self.current(change)
                if now is None or not _same(change.before or {}, now):
                    raise ConflictError(
                        f"{change.target} changed since it was read; nothing was changed",
                        hint="re-run the plan",
                    )
                body = _message(change.after or {})
                op = call(
                    f"update firewall {name}",
                    "compute.firewalls.update",
                    lambda: self.firewalls.update_unary(
                        project=project, firewall=name, firewall_resource=body
                    ),
                )
            case ChangeOp.CREATE:
                body = _message(change.after or {})
                op = call(
                    f"create firewall {name}",
                    "compute.firewalls.create",
                    lambda: self.firewalls.insert_unary(project=project, firewall_resource=body),
                )
            case ChangeOp.DELETE:
                op = call(
                    f"delete firewall {name}",
                    "compute.firewalls.delete",
                    lambda: self.firewalls.delete_unary(project=project, firewall=name),
                )
        self._wait(project, op)

    def _wait(self, project: str, op: compute_v1.Operation) -> None:
        for _ in range(60):
            if op.status == compute_v1.Operation.Status.DONE:
                break
            op = call(
                "wait for an operation",
                "compute.globalOperations.get",
                partial(self.operations.wait, project=project, operation=op.name),
            )
        if op.error and op.error.errors:
            raise CloudError(f"operation {op.name} failed: {op.error.errors[0].message}")

    @staticmethod
    def _check_type(change: Change) -> None:
        if change.type != FIREWALL_TYPE:
            raise InputError(f"the GCP driver cannot change {change.type} objects")


def _kinds(objects: list[dict[str, Any]]) -> Iterable[tuple[dict[str, Any], str]]:
    for obj in objects:
        link = str(obj.get("selfLink", ""))
        kind = (
            "compute#firewall"
            if "/firewalls/" in link
            else "compute#instance"
            if "/instances/" in link
            else "compute#network"
        )
        yield obj, kind


def _same(before: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    return all((before.get(k) or None) == (now.get(k) or None) for k in COMPARED)


def _message(obj: Mapping[str, Any]) -> compute_v1.Firewall:
    body = {k: v for k, v in obj.items() if k not in ("kind", "selfLink", "creationTimestamp")}
    message: compute_v1.Firewall = compute_v1.Firewall.from_json(
        json.dumps(body), ignore_unknown_fields=True
    )
    return message
