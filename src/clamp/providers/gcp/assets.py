"""Cloud Asset Inventory assets → the API objects Clamp normalizes (pure, no SDK).

One mapping for both roads: offline import (``gcloud asset export`` / ``list`` files,
``clamp.inventory.offline``) and live collection (``ListAssets``, ``asset_inventory``).
An asset (``name``, ``asset_type``/``assetType``, ``resource.data``, ``iam_policy``/
``iamPolicy``, ``ancestors``) gives the object its API returns: ``resource.data`` is in
the Compute, Cloud Storage JSON and Cloud SQL Admin APIs' shapes (CAI's ``Resource.data``:
"the content of the resource, in which some sensitive fields are removed", cloudasset v1
discovery document), so the per-API normalizers read it unchanged.

CAI names a project by number (``//cloudresourcemanager.googleapis.com/projects/1043``,
buckets' ``resource.parent``) and Compute and Cloud SQL resources by project id; a
project asset's ``resource.data`` gives both (``project_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clamp.errors import InputError
from clamp.providers.gcp.policy_assets import (
    HIERARCHY_ASSET,
    HIERARCHY_SCOPE,
    POLICY_KIND,
    is_hierarchical,
)

CAI_KINDS = {
    "compute.googleapis.com/Firewall": "compute#firewall",
    "compute.googleapis.com/Instance": "compute#instance",
    "compute.googleapis.com/Network": "compute#network",
    "compute.googleapis.com/Disk": "compute#disk",
    "storage.googleapis.com/Bucket": "storage#bucket",
    "cloudresourcemanager.googleapis.com/Project": "cloudresourcemanager#policy",
    "sqladmin.googleapis.com/Instance": "sql#instance",
}
"""Asset types Clamp reads, and the ``kind`` of the API object each gives."""
POLICY_TYPE = "compute.googleapis.com/FirewallPolicy"
"""Hierarchical, global and regional network firewall policies (offline import only: a live
scan asks Compute which are in force, ``firewall_policies``; see ``policy_assets``)."""
PROJECT_TYPE = "cloudresourcemanager.googleapis.com/Project"
IAM_POLICY_TYPES = (PROJECT_TYPE, "storage.googleapis.com/Bucket")
"""Asset types whose IAM policies Clamp reads (``content_type=IAM_POLICY``)."""
COMPUTE_ASSET = "//compute.googleapis.com/projects/"
COMPUTE_API = "https://www.googleapis.com/compute/v1/"
CLOUD_SQL = "//cloudsql.googleapis.com/projects/"
PROJECT_ASSET = "//cloudresourcemanager.googleapis.com/projects/"
STORAGE = "//storage.googleapis.com/"
UNKNOWN_PROJECT = "unknown-project"

Objects = list[Mapping[str, Any]]


def asset_type(item: Mapping[str, Any]) -> str:
    """The asset's type, as an export (``asset_type``) or the API (``assetType``) names it."""
    return str(item.get("asset_type") or item.get("assetType") or "")


def asset_objects(where: str, item: Mapping[str, Any]) -> tuple[str, Objects]:
    """The project (id, or number for buckets and project policies) and the API objects
    of one asset; ``("", [])`` for a type Clamp does not read. ``where`` names the asset
    in errors (``file: item 3``)."""
    name = str(item.get("name", ""))
    if asset_type(item) == POLICY_TYPE:
        return _firewall_policy(where, item, name)
    kind = CAI_KINDS.get(asset_type(item))
    if kind is None:
        return "", []
    if kind == "storage#bucket":
        return _bucket(where, item, name)
    if kind == "cloudresourcemanager#policy":
        return _project(item, name)
    if kind == "sql#instance":
        return _cloud_sql(where, item, name)
    parts = name.split("/")
    if not name.startswith(COMPUTE_ASSET) or len(parts) < 5:
        raise InputError(f"{where} has no Compute resource name: {name!r}")
    return parts[4], [{"kind": kind, **_data(where, item, name)}]


def _data(where: str, item: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    data = (item.get("resource") or {}).get("data")
    if not isinstance(data, Mapping):
        raise InputError(f"{where} ({name}) has no resource.data object")
    return data


def _firewall_policy(where: str, item: Mapping[str, Any], name: str) -> tuple[str, Objects]:
    """A firewall policy asset: its Compute ``FirewallPolicy``, filed under its project, or
    (an organization's or folder's) under ``HIERARCHY_SCOPE`` until the projects it
    applies to are known. A regional policy keeps its region."""
    data = {**_data(where, item, name), "kind": POLICY_KIND}
    if name.startswith(HIERARCHY_ASSET):
        data.setdefault("name", name.removeprefix(HIERARCHY_ASSET))
        if not is_hierarchical(data):  # CAI's ancestors name the organization or folder
            data["parent"] = next(iter(item.get("ancestors") or ()), "")
        return HIERARCHY_SCOPE, [data]
    parts = name.split("/")
    if (
        not name.startswith(COMPUTE_ASSET)
        or len(parts) not in (8, 9)
        or parts[-2] != "firewallPolicies"
    ):
        raise InputError(f"{where} has no firewall policy name: {name!r}")
    data.setdefault("name", parts[-1])
    if parts[5] == "regions":
        data.setdefault("region", f"{COMPUTE_API}projects/{parts[4]}/regions/{parts[6]}")
    return parts[4], [data]


def _cloud_sql(where: str, item: Mapping[str, Any], name: str) -> tuple[str, Objects]:
    """A Cloud SQL instance asset: its Cloud SQL Admin API ``DatabaseInstance``."""
    parts = name.removeprefix(CLOUD_SQL).split("/")
    if not name.startswith(CLOUD_SQL) or len(parts) != 3 or parts[1] != "instances":
        raise InputError(f"{where} has no Cloud SQL instance name: {name!r}")
    data = _data(where, item, name)
    return parts[0], [{**data, "kind": "sql#instance", "name": data.get("name", parts[2])}]


def _project(item: Mapping[str, Any], name: str) -> tuple[str, Objects]:
    """A project asset's IAM policy as ``cloudresourcemanager#policy`` (none: nothing)."""
    project = name.removeprefix(PROJECT_ASSET)
    policy = item.get("iam_policy") or item.get("iamPolicy")
    if not isinstance(policy, Mapping):
        return project, []
    return project, [
        {**policy, "kind": "cloudresourcemanager#policy", "resource": f"projects/{project}"}
    ]


def _bucket(where: str, item: Mapping[str, Any], name: str) -> tuple[str, Objects]:
    """A bucket asset: its JSON API object and/or its IAM policy as ``storage#policy``."""
    bucket = name.removeprefix(STORAGE)
    if not name.startswith(STORAGE) or not bucket or "/" in bucket:
        raise InputError(f"{where} has no bucket resource name: {name!r}")
    resource = item.get("resource") or {}
    data, policy = resource.get("data"), item.get("iam_policy") or item.get("iamPolicy")
    if not isinstance(data, Mapping) and not isinstance(policy, Mapping):
        raise InputError(f"{where} ({name}) has neither resource.data nor iam_policy")
    objects: Objects = []
    if isinstance(data, Mapping):
        objects.append({**data, "kind": "storage#bucket", "name": data.get("name", bucket)})
    if isinstance(policy, Mapping):
        objects.append(
            {**policy, "kind": "storage#policy", "resourceId": f"projects/_/buckets/{bucket}"}
        )
    project = _parent_project(item) or str((data or {}).get("projectNumber") or "")
    return project or UNKNOWN_PROJECT, objects


def _parent_project(item: Mapping[str, Any]) -> str:
    """The project (number) in ``resource.parent``, else the first ``projects/`` ancestor."""
    parent = str((item.get("resource") or {}).get("parent", "")).rsplit("/projects/", 1)
    if len(parent) == 2:
        return parent[1]
    ancestors = [str(a) for a in item.get("ancestors") or []]
    return next((a.split("/", 1)[1] for a in ancestors if a.startswith("projects/")), "")


def project_ids(items: Iterable[Any]) -> dict[str, str]:
    """Project number → project id, from the project assets' ``resource.data``."""
    ids = {}
    for item in items:
        if not isinstance(item, Mapping) or not str(item.get("name", "")).startswith(PROJECT_ASSET):
            continue
        data = (item.get("resource") or {}).get("data") or {}
        if data.get("projectId"):
            ids[str(data.get("projectNumber", ""))] = str(data["projectId"])
    return ids
