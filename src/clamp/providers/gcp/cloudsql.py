"""Cloud SQL: list and read instances, and change an instance's IP configuration
(authorized networks, public IP) through the Cloud SQL Admin API v1
(google-api-python-client: the API has no google-cloud-* library).

A change's images are ``{"ipConfiguration": ...}`` (``settings.ipConfiguration``). The
write is ``instances.patch`` conditional on the instance's ``settings.settingsVersion``, read
just before and compared with the plan's image, so a concurrent change is refused either
way; the patch is a long-running ``sql#operation``, polled through the same client until
DONE. A project where the Cloud SQL Admin API is not enabled has no instances: its list is
empty, not an error.
"""

from __future__ import annotations

import time
from typing import Any

from googleapiclient.errors import HttpError

from clamp.compare import matches
from clamp.errors import CloudError, CloudUnavailable, ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import translated
from clamp.providers.gcp.normalize_database import KIND, PREFIX, instance_ref
from clamp.providers.interface import ProgressCallback

IP_TYPE = ChangeType.CLOUD_SQL_IP_CONFIGURATION
LIST = "cloudsql.instances.list"
GET = "cloudsql.instances.get"
UPDATE = "cloudsql.instances.update"
DISABLED_API = ("accessNotConfigured", "SERVICE_DISABLED")
POLLS = 600
POLL_SECONDS = {True: 0.05, False: 1.0}  # sandbox / real cloud


class CloudSqlService:
    """Cloud SQL instances and their network access."""

    change_types = frozenset({IP_TYPE})

    def __init__(self, clients: GcpClients) -> None:
        self.clients = clients

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Every Cloud SQL instance of a project."""
        if progress:
            progress(f"gcp {scope}: Cloud SQL instances")
        instances: list[dict[str, Any]] = []
        api = self.clients.sqladmin.instances()
        try:
            with translated(f"list the Cloud SQL instances of {scope}", LIST):
                request: Any = api.list(project=scope)
                while request is not None:
                    page = request.execute(num_retries=3)
                    instances += page.get("items") or []
                    request = api.list_next(request, page)
        except CloudError as exc:
            if _api_disabled(exc):
                return []
            raise
        for instance in instances:
            instance.setdefault("kind", KIND)
        return instances

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` names a Cloud SQL instance."""
        return resource_id.startswith(PREFIX)

    def read(self, resource_id: str) -> tuple[str, list[dict[str, Any]]]:
        """The project and the instance."""
        project, name = instance_ref(resource_id)
        return project, [self._get(project, name)]

    def context(self, resource_id: str) -> list[dict[str, Any]]:
        """Nothing: no other resource's check needs an instance."""
        return []

    def _get(self, project: str, name: str) -> dict[str, Any]:
        with translated(f"read Cloud SQL instance {project}/{name}", GET):
            instance: dict[str, Any] = (
                self.clients.sqladmin.instances()
                .get(project=project, instance=name)
                .execute(num_retries=3)
            )
        instance.setdefault("kind", KIND)
        return instance

    def current(self, change: Change) -> dict[str, Any] | None:
        """The instance's IP configuration as Cloud SQL has it now (None if it is gone)."""
        try:
            instance = self._get(*instance_ref(change.target))
        except ResourceNotFound:
            return None
        return {"ipConfiguration": (instance.get("settings") or {}).get("ipConfiguration") or {}}

    def apply(self, change: Change) -> None:
        """Patch the instance's ``settings.ipConfiguration`` (with the settingsVersion read
        just now) and wait for the operation."""
        if change.type != IP_TYPE or change.op != ChangeOp.UPDATE:
            raise InputError("Clamp only updates the IP configuration of Cloud SQL instances")
        project, name = instance_ref(change.target)
        instance = self._get(project, name)
        settings = instance.get("settings") or {}
        now = {"ipConfiguration": settings.get("ipConfiguration") or {}}
        if not matches(change.before, now):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        body = {
            "settings": {
                "settingsVersion": settings.get("settingsVersion"),
                "ipConfiguration": dict((change.after or {}).get("ipConfiguration") or {}),
            }
        }
        api = self.clients.sqladmin
        with translated(f"update Cloud SQL instance {project}/{name}", UPDATE):
            op = api.instances().patch(project=project, instance=name, body=body).execute()
        self._wait(project, op)

    def _wait(self, project: str, op: dict[str, Any]) -> None:
        """Poll ``operations.get`` until the operation is DONE; raise its error if any."""
        pause = POLL_SECONDS[bool(self.clients.settings.sandbox_url)]
        for _ in range(POLLS):
            if op.get("status") == "DONE":
                break
            time.sleep(pause)
            with translated(f"wait for Cloud SQL operation {op.get('name')}", GET):
                op = (
                    self.clients.sqladmin.operations()
                    .get(project=project, operation=op["name"])
                    .execute(num_retries=3)
                )
        else:
            raise CloudUnavailable(
                f"Cloud SQL operation {op.get('name')} is still {op.get('status')}; "
                "its outcome is unknown",
                hint="re-read the instance before retrying",
            )
        errors = (op.get("error") or {}).get("errors") or []
        if errors:
            first = errors[0]
            raise CloudError(
                f"Cloud SQL operation {op.get('name')} failed: "
                f"{first.get('code')}: {first.get('message')}"
            )


def _api_disabled(exc: CloudError) -> bool:
    """Whether the project has the Cloud SQL Admin API turned off (then it has no instances)."""
    cause = exc.__cause__
    if not isinstance(cause, HttpError) or int(cause.resp.status) != 403:
        return False
    content = cause.content.decode(errors="replace") if cause.content else ""
    return any(reason in content for reason in DISABLED_API)
