"""Cloud Asset Inventory collection: ``ListAssets`` at a project, folder or organization,
fanned out to projects, completed from the per-API reads CAI does not replace.

Two listings per parent (google-cloud-asset ``AssetServiceClient.list_assets``, REST, 1,000
assets a page): ``RESOURCE`` for firewalls, instances, networks, disks, Cloud SQL instances
and projects, and ``IAM_POLICY`` for project and bucket policies. Each asset becomes the
object its own API returns (``assets``), filed under its project id (Compute and Cloud SQL
names carry it; projects and buckets name a number, which the project assets translate).

What comes from elsewhere (README "Google Cloud collection"): buckets themselves from
Cloud Storage's ``buckets.list`` (the soft-delete policy, public access prevention and
retention lock the checks read are not documented as part of CAI's bucket data), each
bucket's IAM policy from ``getIamPolicy`` when CAI gave none, and the firewall policies in
force on each network from ``getEffectiveFirewalls`` (CAI has no effective view).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from google.cloud import asset_v1

from clamp.providers.gcp.assets import (
    CAI_KINDS,
    IAM_POLICY_TYPES,
    asset_objects,
    project_ids,
)
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import call
from clamp.providers.interface import ProgressCallback

PAGE_SIZE = 1000
"""``ListAssets``' largest page (cloudasset v1 discovery document: "maximum is 1000")."""
RESOURCE_TYPES = tuple(t for t in CAI_KINDS if t != "storage.googleapis.com/Bucket")
LIST_RESOURCES = "cloudasset.assets.listResource"
LIST_POLICIES = "cloudasset.assets.listIamPolicy"
PERMISSIONS = (LIST_RESOURCES, LIST_POLICIES)

ByProject = dict[str, list[dict[str, Any]]]


def _numbers(value: Any) -> Any:
    """JSON numbers as the API wrote them: ``resource.data`` is a protobuf ``Struct``,
    which holds every number as a double (1000 comes back 1000.0)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


class AssetInventory:
    """``ListAssets`` for the asset types Clamp evaluates."""

    def __init__(self, clients: GcpClients) -> None:
        self.clients = clients

    def assets(
        self, parent: str, content: int, types: Iterable[str], permission: str
    ) -> list[dict[str, Any]]:
        """Every asset of ``types`` under ``parent``, as the API's JSON (camelCase); page by
        page, so a retried page (``errors.call``) does not list the earlier ones again."""
        out: list[dict[str, Any]] = []
        token = ""
        while True:
            request = asset_v1.ListAssetsRequest(
                parent=parent,
                content_type=content,
                asset_types=list(types),
                page_size=PAGE_SIZE,
                page_token=token,
            )
            page = call(
                f"list the Cloud Asset Inventory of {parent}",
                permission,
                partial(self.clients.assets.list_assets, request=request, retry=None),
            )
            out += [
                _numbers(type(a).to_dict(a, preserving_proto_field_name=False)) for a in page.assets
            ]
            token = page.next_page_token
            if not token:
                return out

    def objects(self, parent: str, progress: ProgressCallback | None = None) -> ByProject:
        """The API objects (buckets aside) of every project under ``parent``
        (``projects/P``, ``folders/N``, ``organizations/N``), by project id."""
        if progress:
            progress(f"gcp {parent}: Cloud Asset Inventory resources")
        resources = self.assets(
            parent, asset_v1.ContentType.RESOURCE, RESOURCE_TYPES, LIST_RESOURCES
        )
        if progress:
            progress(f"gcp {parent}: Cloud Asset Inventory IAM policies")
        policies = self.assets(
            parent, asset_v1.ContentType.IAM_POLICY, IAM_POLICY_TYPES, LIST_POLICIES
        )
        ids = project_ids(resources)
        found: ByProject = defaultdict(list)
        for project in ids.values():
            found[project] = []  # a project with nothing in it is still scanned
        for item in resources + policies:
            project, objects = asset_objects(f"asset {item.get('name', '')}", item)
            if not objects:
                continue
            project = ids.get(project, project)
            found[project].extend(_filed(project, o) for o in objects)
        return dict(found)


def _filed(project: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as the per-API read has it: a project policy names its project by id."""
    if obj.get("kind") == "cloudresourcemanager#policy":
        return {**obj, "resource": f"projects/{project}"}
    return dict(obj)


def bucket_policies(objects: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ``storage#policy`` objects among ``objects``, by bucket name."""
    return {
        str(o.get("resourceId", "")).rsplit("/", 1)[-1]: dict(o)
        for o in objects
        if o.get("kind") == "storage#policy"
    }
