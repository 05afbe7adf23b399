"""The Google side of the sandbox assembled: Compute Engine (firewalls, networks,
firewall policies, instances, disks, snapshots, operations), Resource Manager, Cloud
Storage, Cloud Identity, the Cloud SQL Admin API, Security Command Center's findings,
Cloud Logging's entries.write and Cloud Asset Inventory's assets.list, on the sandbox's plain-HTTP listener. Unknown routes answer
Google's 404."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from clamp.sandbox.cloud_logging import cloud_logging_routes
from clamp.sandbox.cloudidentity import cloudidentity_routes
from clamp.sandbox.cloudsql import cloudsql_routes
from clamp.sandbox.gcp import ComputeApi
from clamp.sandbox.gcp_asset import asset_routes
from clamp.sandbox.gcp_disks import disk_routes
from clamp.sandbox.gcp_errors import unknown_route
from clamp.sandbox.gcp_instances import instance_routes
from clamp.sandbox.gcp_policies import policy_routes
from clamp.sandbox.gcs import gcs_routes
from clamp.sandbox.scc import scc_routes
from clamp.sandbox.state import SandboxState


def build_gcp_app(state: SandboxState) -> Starlette:
    """The ASGI app serving the Google APIs on the sandbox's HTTP listener."""
    api = ComputeApi(state)
    base = "/compute/v1/projects/{project}"
    return Starlette(
        exception_handlers={404: unknown_route, 405: unknown_route},
        routes=[
            # First: snapshots are global, and must not fall to global/{collection}.
            *instance_routes(api),
            *disk_routes(api),
            *policy_routes(api),
            Route(base + "/global/operations/{name}", api.operation, methods=["GET"]),
            Route(base + "/global/operations/{name}/wait", api.operation, methods=["POST"]),
            Route(base + "/zones/{zone}/operations/{name}", api.operation, methods=["GET"]),
            Route(base + "/zones/{zone}/operations/{name}/wait", api.operation, methods=["POST"]),
            Route(base + "/regions/{region}/operations/{name}", api.operation, methods=["GET"]),
            Route(
                base + "/regions/{region}/operations/{name}/wait", api.operation, methods=["POST"]
            ),
            Route(base + "/global/{collection}", api.global_collection, methods=["GET", "POST"]),
            Route(
                base + "/global/{collection}/{name}",
                api.global_item,
                methods=["GET", "PUT", "PATCH", "DELETE"],
            ),
            Route(base + "/aggregated/instances", api.instances, methods=["GET"]),
            Route(base + "/zones/{zone}/instances", api.instances, methods=["GET"]),
            Route(base + "/zones/{zone}/instances/{name}", api.instances, methods=["GET"]),
            Route("/v3/projects:search", api.projects_search, methods=["GET"]),
            Route("/v1/projects", api.projects_list_v1, methods=["GET"]),
            *asset_routes(state),
            *cloudidentity_routes(state),
            *cloud_logging_routes(state),
            *cloudsql_routes(state),
            *gcs_routes(state),
            *scc_routes(state),
        ],
    )
