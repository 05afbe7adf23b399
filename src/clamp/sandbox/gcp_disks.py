"""Persistent disks and their snapshots in the sandbox (Compute ``disks.get``/``list``,
``disks.createSnapshot``, ``snapshots.get``/``list``/``delete``).

A snapshot copies an existing disk (404 otherwise) under a name no snapshot of the project
has (409 ``alreadyExists``); its deletion answers with a global operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp import API, NAME, _listing, _now
from clamp.sandbox.gcp_errors import google_error
from clamp.sandbox.gcp_instances import (
    DISK_KIND,
    EMPTY_FINGERPRINT,
    _fingerprint,
    _not_found,
    _valid_label,
)
from clamp.sandbox.state import Json

if TYPE_CHECKING:
    from clamp.sandbox.gcp import ComputeApi

SNAPSHOT_KIND = "compute#snapshot"
MULTI_REGIONS = {"europe": "eu", "us": "us", "asia": "asia"}


class DiskActions:
    """Handlers for persistent disks and their snapshots."""

    def __init__(self, api: ComputeApi) -> None:
        self.api = api

    def _of(self, project: str, kind: str) -> list[Json]:
        return [o for o in self.api.state.gcp.get(project) or [] if o.get("kind") == kind]

    def _disk(self, project: str, zone: str, name: str) -> Json | None:
        return next(
            (
                d
                for d in self._of(project, DISK_KIND)
                if d.get("name") == name and str(d.get("zone", "")).endswith(f"/zones/{zone}")
            ),
            None,
        )

    async def disk(self, request: Request) -> Response:
        """``GET .../zones/Z/disks`` and ``.../zones/Z/disks/D``."""
        project, zone = request.path_params["project"], request.path_params["zone"]
        name = request.path_params.get("name")
        with self.api.state.lock:
            if project not in self.api.state.gcp:
                return _not_found(f"projects/{project}")
            if name is None:
                link = f"{API}/projects/{project}/zones/{zone}/disks"
                in_zone = [
                    d
                    for d in self._of(project, DISK_KIND)
                    if str(d.get("zone", "")).endswith(f"/zones/{zone}")
                ]
                return _listing(request, "compute#diskList", link, in_zone)
            found = self._disk(project, zone, name)
            if found is None:
                return _not_found(f"projects/{project}/zones/{zone}/disks/{name}")
            return JSONResponse(found)

    async def create_snapshot(self, request: Request) -> Response:
        """``POST .../zones/Z/disks/D/createSnapshot``: a READY snapshot of the disk."""
        project, zone = request.path_params["project"], request.path_params["zone"]
        name = request.path_params["name"]
        body: Json = await request.json() if await request.body() else {}
        with self.api.state.lock:
            if replayed := self.api._replayed(request, project):
                return replayed
            disk = self._disk(project, zone, name)
            if disk is None:
                return _not_found(f"projects/{project}/zones/{zone}/disks/{name}")
            snapshot = str(body.get("name", ""))
            if not NAME.match(snapshot):
                return google_error(400, f"Invalid value for field 'resource.name': '{snapshot}'.")
            labels = body.get("labels") or {}
            bad = [f"{k}={v}" for k, v in labels.items() if not _valid_label(k, v)]
            if bad:
                return google_error(400, f"Invalid value for field 'resource.labels': {bad}.")
            if any(o.get("name") == snapshot for o in self._of(project, SNAPSHOT_KIND)):
                return google_error(
                    409,
                    f"The resource 'projects/{project}/global/snapshots/{snapshot}' already exists",
                )
            self.api.state.gcp[project].append(self._snapshot(project, zone, disk, body))
            return self.api._operation(
                project,
                "createSnapshot",
                str(disk.get("id", "")),
                name,
                collection="disks",
                request_id=request.query_params.get("requestId"),
                where=f"zones/{zone}",
            )

    def _snapshot(self, project: str, zone: str, disk: Json, body: Json) -> Json:
        size = str(disk.get("sizeGb", "10"))
        region = zone.rsplit("-", 1)[0]
        labels = dict(body.get("labels") or {})
        return {
            "kind": SNAPSHOT_KIND,
            "id": str(next(self.api.ids)),
            "creationTimestamp": _now(),
            "name": body["name"],
            "description": str(body.get("description", "")),
            "status": "READY",
            "sourceDisk": disk["selfLink"],
            "sourceDiskId": str(disk.get("id", "")),
            "diskSizeGb": size,
            "storageBytes": str(int(size) * 1024**3 // 8),
            "storageBytesStatus": "UP_TO_DATE",
            "storageLocations": [MULTI_REGIONS.get(region.split("-")[0], region)],
            "snapshotType": "STANDARD",
            "labels": labels,
            "labelFingerprint": _fingerprint(str(sorted(labels.items())))
            if labels
            else EMPTY_FINGERPRINT,
            "selfLink": f"{API}/projects/{project}/global/snapshots/{body['name']}",
        }

    async def snapshot(self, request: Request) -> Response:
        """``GET .../global/snapshots``, ``GET`` and ``DELETE .../global/snapshots/S``."""
        project = request.path_params["project"]
        name = request.path_params.get("name")
        with self.api.state.lock:
            if project not in self.api.state.gcp:
                return _not_found(f"projects/{project}")
            snapshots = self._of(project, SNAPSHOT_KIND)
            if name is None:
                link = f"{API}/projects/{project}/global/snapshots"
                return _listing(request, "compute#snapshotList", link, snapshots)
            if request.method == "DELETE" and (replayed := self.api._replayed(request, project)):
                return replayed
            found = next((o for o in snapshots if o.get("name") == name), None)
            if found is None:
                return _not_found(f"projects/{project}/global/snapshots/{name}")
            if request.method == "GET":
                return JSONResponse(found)
            self.api.state.gcp[project].remove(found)
            return self.api._operation(
                project,
                "delete",
                str(found.get("id", "")),
                name,
                collection="snapshots",
                request_id=request.query_params.get("requestId"),
            )


def disk_routes(api: ComputeApi) -> list[Route]:
    """Routes for disks and snapshots (before the generic ``global/{collection}`` routes:
    snapshots are global)."""
    disks = DiskActions(api)
    project = "/compute/v1/projects/{project}"
    return [
        Route(project + "/zones/{zone}/disks", disks.disk, methods=["GET"]),
        Route(project + "/zones/{zone}/disks/{name}", disks.disk, methods=["GET"]),
        Route(
            project + "/zones/{zone}/disks/{name}/createSnapshot",
            disks.create_snapshot,
            methods=["POST"],
        ),
        Route(project + "/global/snapshots", disks.snapshot, methods=["GET"]),
        Route(project + "/global/snapshots/{name}", disks.snapshot, methods=["GET", "DELETE"]),
    ]
