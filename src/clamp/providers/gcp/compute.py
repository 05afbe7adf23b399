"""Compute Engine: list firewalls, instances and networks (and the firewall policies in
force on each network, ``firewall_policies``); change VPC firewall rules.

Writes use the ``*_unary`` methods and wait on the operation with a GlobalOperationsClient
built with the same endpoint and credentials (``.result()`` would poll the real endpoint).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from google.cloud import compute_v1

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.firewall_policies import effective_firewalls
from clamp.providers.gcp.normalize import COMPUTE, compute_ref
from clamp.providers.gcp.operations import wait_done
from clamp.providers.interface import ProgressCallback

FIREWALL_TYPE = ChangeType.GCP_FIREWALL
# Fields Compute never fills in on its own: if the image a change was planned from lacks
# one and the rule now has it, someone changed the rule (``matches`` alone only checks
# the fields the image has).
NO_DEFAULT = (
    "sourceTags",
    "sourceServiceAccounts",
    "targetTags",
    "targetServiceAccounts",
    "allowed",
    "denied",
)


def _raw_all(lister: Callable[[], Iterable[Any]]) -> list[dict[str, Any]]:
    """Every item a list call pages through, as raw wire-shaped dicts."""
    return [wire(item) for item in lister()]


def wire(message: Any) -> dict[str, Any]:
    """A proto-plus message as the API's JSON: camelCase (``IPProtocol``), unset fields omitted."""
    data: dict[str, Any] = type(message).to_dict(
        message,
        use_integers_for_enums=False,
        preserving_proto_field_name=False,
        always_print_fields_with_no_presence=False,
    )
    return data


def firewall_ref(name: str) -> tuple[str, str]:
    """(project, firewall) from ``//compute.googleapis.com/projects/P/global/firewalls/F``."""
    project, _, firewall = compute_ref(name, "firewalls", zonal=False)
    return project, firewall


class ComputeService:
    """VPC firewalls (read and written) and the instances and networks exposure needs."""

    change_types = frozenset({FIREWALL_TYPE})

    def __init__(self, clients: GcpClients) -> None:
        self.clients = clients

    def context(self, resource_id: str) -> list[dict[str, Any]]:
        """Nothing: other services' resources need nothing from this one."""
        return []

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is a Compute Engine resource name."""
        return resource_id.startswith(COMPUTE + "/")

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Firewalls, instances and networks of one project, each with its ``kind``."""
        clients = self.clients
        listings: list[tuple[str, str, Callable[[], Iterable[Any]]]] = [
            ("firewalls", "compute.firewalls.list", lambda: clients.firewalls.list(project=scope)),
            (
                "instances",
                "compute.instances.list",
                lambda: (
                    i
                    for _, scoped in clients.instances.aggregated_list(project=scope)
                    for i in scoped.instances
                ),
            ),
            ("networks", "compute.networks.list", lambda: clients.networks.list(project=scope)),
        ]
        objects: list[dict[str, Any]] = []
        for label, permission, lister in listings:
            if progress:
                progress(f"gcp {scope}: {label}")
            objects += call(f"list {label} in {scope}", permission, partial(_raw_all, lister))
        for obj, kind in _kinds(objects):
            obj.setdefault("kind", kind)
        return objects + effective_firewalls(clients, scope, objects, progress)

    def _get(self, project: str, name: str) -> dict[str, Any]:
        return call(
            f"read firewall {name} in {project}",
            "compute.firewalls.get",
            lambda: wire(self.clients.firewalls.get(project=project, firewall=name)),
        )

    def read(self, resource_id: str) -> tuple[str, list[dict[str, Any]]]:
        """The project and raw object of one firewall rule or instance; for a network,
        everything its exposure is judged from (the project's Compute objects)."""
        parts = resource_id.removeprefix(COMPUTE + "/").split("/")
        match parts if resource_id.startswith(COMPUTE) else []:
            case [project, "global", "firewalls", name]:
                obj = self._get(project, name)
            case [project, "zones", zone, "instances", name]:
                obj = call(
                    f"read instance {name} in {project}",
                    "compute.instances.get",
                    lambda: wire(
                        self.clients.instances.get(project=project, zone=zone, instance=name)
                    ),
                )
            case [project, "global", "networks", _]:
                # A network's findings come from its firewall policies, VPC firewalls and
                # instances together: read them as a scan does, so a re-read judges alike.
                return project, self.collect(project, None)
            case _:
                raise InputError(f"not a Compute firewall, instance or network name: {resource_id}")
        obj.setdefault("kind", next(kind for _, kind in _kinds([obj])))
        return project, [obj]

    def current(self, change: Change) -> dict[str, Any] | None:
        """The firewall as Google Cloud has it now, or None."""
        project, name = firewall_ref(change.target)
        try:
            return dict(self._get(project, name))
        except ResourceNotFound:
            return None

    def _unchanged(self, change: Change) -> dict[str, Any] | None:
        """The rule as Compute has it now, if it still is what the change was planned from;
        ``ConflictError`` (nothing written) if it drifted. Compute offers no condition on a
        firewall write (no fingerprint, no If-Match), so this re-read just before the write
        is the protection."""
        now = self.current(change)
        if now is None and change.op == ChangeOp.DELETE:
            return None
        if now is None or not _same(change.before or {}, now):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        return now

    def apply(self, change: Change) -> None:
        """Insert, update or delete; an update or delete only if the rule is still what the
        plan read (a delete of a rule already gone does nothing)."""
        project, name = firewall_ref(change.target)
        # One requestId for every retry of this write: Compute applies it at most once.
        request_id = str(uuid.uuid4())
        match change.op:
            case ChangeOp.UPDATE:
                self._unchanged(change)
                body = _message(change.after or {})
                op = call(
                    f"update firewall {name}",
                    "compute.firewalls.update",
                    lambda: self.clients.firewalls.update_unary(
                        request=compute_v1.UpdateFirewallRequest(
                            project=project,
                            firewall=name,
                            firewall_resource=body,
                            request_id=request_id,
                        )
                    ),
                )
            case ChangeOp.CREATE:
                body = _message(change.after or {})
                op = call(
                    f"create firewall {name}",
                    "compute.firewalls.create",
                    lambda: self.clients.firewalls.insert_unary(
                        request=compute_v1.InsertFirewallRequest(
                            project=project, firewall_resource=body, request_id=request_id
                        )
                    ),
                )
            case ChangeOp.DELETE:
                if self._unchanged(change) is None:
                    return
                op = call(
                    f"delete firewall {name}",
                    "compute.firewalls.delete",
                    lambda: self.clients.firewalls.delete_unary(
                        request=compute_v1.DeleteFirewallRequest(
                            project=project, firewall=name, request_id=request_id
                        )
                    ),
                )
        self._wait(project, op)

    def _wait(self, project: str, op: compute_v1.Operation) -> None:
        wait_done(
            op,
            lambda name: self.clients.global_operations.wait(project=project, operation=name),
            "compute.globalOperations.get",
        )


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
    return matches(before, now) and not any(now.get(k) for k in NO_DEFAULT if not before.get(k))


def _message(obj: Mapping[str, Any]) -> compute_v1.Firewall:
    body = {k: v for k, v in obj.items() if k not in ("kind", "selfLink", "creationTimestamp")}
    message: compute_v1.Firewall = compute_v1.Firewall.from_json(
        json.dumps(body), ignore_unknown_fields=True
    )
    return message
