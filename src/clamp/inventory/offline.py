"""Offline import: Cloud Asset Inventory exports and Azure resource JSON → ``Resource``.

Accepted files:
- Google Cloud Asset Inventory: ``gcloud asset export`` (NDJSON) or ``gcloud asset list
  --format=json`` (a JSON array); objects with ``name``, ``asset_type`` (or ``assetType``)
  and ``resource.data`` in the Compute API's shape; Cloud Storage buckets with their
  ``resource.data`` and/or ``iam_policy`` (resource and IAM exports may come as separate
  assets: they are joined by bucket name). A bucket's project is the one in its
  ``resource.parent``/``ancestors`` (a project number, as CAI records it).
- Azure: a JSON array of ARM objects (``az network nsg list``, Resource Graph) or
  ``{"value": [...]}`` as the REST API returns it. The Azure CLI's flattened shape
  (properties lifted to the top level) is accepted too. Database servers and their
  firewall rules come as separate objects (``az sql server list`` and ``az sql server
  firewall-rule list``, the ``postgres``/``mysql flexible-server`` equivalents); when the
  export holds no firewall rules at all, its servers are not judged (rules unknown).

Each file is read a block at a time (``clamp.json_blocks``: a JSON array of one element per
line or pretty-printed, NDJSON) and each object that stands alone (an NSG, a NIC, a VM, a
firewall, an instance…) is normalized as it is parsed, keeping its raw object as a
reference to where it lies in the file (``clamp.inventory.exported``); the objects joined
with others (a VNet and its admin rules, a storage account and its parts, a bucket and its
IAM policy…) are normalized together once every file is read.

The layers that decide before the NSGs and VPC firewall rules are resolved from the
export as a live scan has Azure and Compute resolve them: Virtual Network Manager's parts
(and its deployment status, ``az network manager list-deploy-status``) give each VNet its
security admin rules (``admin_assets``); ``compute.googleapis.com/FirewallPolicy`` assets
give each network its hierarchical policies (by the project's ``ancestors``) and its global
and regional network policies (``policy_assets``). An export without them is judged on the
NSGs and VPC rules alone, or, merged with stored networks and VNets, on the layers those
were judged with before (an import of IAM policies alone keeps them).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clamp.bulk import paused_gc
from clamp.errors import InputError, NotJson
from clamp.files import LARGE, json_value, read_utf8
from clamp.inventory.exported import ExportedObject, ExportFile
from clamp.json_blocks import Span, json_array_spans, json_lines, ndjson_first_line, utf8_blocks
from clamp.model import Provider, Resource
from clamp.providers.azure.admin_assets import (
    effective_admin_envelopes,
    is_admin_part,
    is_deployment_status,
)
from clamp.providers.azure.normalize import ARM_TOP_LEVEL, resources_from_arm
from clamp.providers.azure.normalize import resource_alone as azure_resource_alone
from clamp.providers.gcp.assets import (
    POLICY_TYPE,
    PROJECT_ASSET,
    UNKNOWN_PROJECT,
    asset_objects,
    asset_type,
    project_ids,
)
from clamp.providers.gcp.normalize import resource_alone as gcp_resource_alone
from clamp.providers.gcp.normalize import resources_from_compute
from clamp.providers.gcp.normalize_layers import resource_regions
from clamp.providers.gcp.policy_assets import (
    HIERARCHY_SCOPE,
    effective_envelopes,
    has_policies,
    hierarchical_for,
)
from clamp.providers.objects import object_key

AZ_CLI_CHILDREN = ("securityRules", "defaultSecurityRules", "subnets", "ipConfigurations")


EXPORT_SUFFIXES = (".json", ".ndjson", ".jsonl", ".dump")
_ARRAY = re.compile(rb"[ \t\r\n]*\[")


@dataclass
class OfflineObjects:
    """What export files gave: the resources of the objects that stand alone (an NSG, a
    NIC, a firewall, an instance…), normalized as they were read and keeping their raw
    object by where it lies in its file (``ExportedObject``), and the API objects that are
    normalized together (a VNet and its admin rules, a storage account and its parts, a
    bucket and its IAM policy…): Google's by project, Azure's in one list (ARM ids carry
    their subscription)."""

    gcp: dict[str, list[Mapping[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    azure: list[Mapping[str, Any]] = field(default_factory=list)
    where: str = ""
    gcp_policies: bool = False
    """The files held firewall policies: each network's layers are resolved from them."""
    azure_admin: bool = False
    """The files held Virtual Network Manager parts: each VNet's admin rules come from them."""
    gcp_layers: dict[str, list[Mapping[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    azure_layers: list[Mapping[str, Any]] = field(default_factory=list)
    """The layers earlier imports or scans judged their networks and VNets with (Google's
    by project): in force where the files give no layers of their own."""
    azure_alone: list[Resource] = field(default_factory=list)
    gcp_alone: dict[str, list[Resource]] = field(default_factory=lambda: defaultdict(list))
    """The resources normalized as read (Google's by project)."""
    azure_types: set[str] = field(default_factory=set)
    """The (lower-cased) types of every Azure object given: the parts of storage accounts
    and database servers of a type the files lack are unknown, not missing."""
    keys: dict[tuple[Provider, str], set[str]] | None = None
    """Per provider and scope (empty for Azure), the ``object_key`` of every object
    normalized as read, when kept (``keep`` needs them: the objects that are not are kept
    themselves)."""
    count: int = 0
    """How many objects were given."""
    known: dict[tuple[Provider, str], set[str]] = field(default_factory=dict)
    """Per provider and scope, the ``object_key`` of every object given (made by ``keep``
    once the files are read)."""

    def add(
        self,
        provider: Provider,
        scope: str,
        obj: Mapping[str, Any],
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        """Take one API object (``scope`` is the project for Google's, empty for Azure's):
        normalized now when it stands alone, keeping ``raw`` (the object when None)."""
        self.count += 1
        if provider == Provider.AZURE:
            self.azure_types.add(str(obj.get("type", "")).lower())
            resource = azure_resource_alone(obj, raw)
            if resource is None:
                self.azure.append(obj)
                return
            self.azure_alone.append(resource)
        else:
            held = self.gcp[scope]  # the project is known (in the files' order) if empty
            resource = gcp_resource_alone(scope, obj, raw)
            if resource is None:
                held.append(obj)
                return
            self.gcp_alone[scope].append(resource)
        if self.keys is not None:
            self.keys.setdefault((provider, scope), set()).add(object_key(obj))

    def keep(
        self,
        provider: Provider,
        scope: str,
        objects: Iterable[Mapping[str, Any]],
        layers: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Add the objects an earlier import or scan saw, unless the files give them anew
        (what the files say wins), and the layers it judged them with."""
        if self.keys is None:
            raise ValueError("keep() needs the objects read with read_offline(known=...)")
        scope = "" if provider == Provider.AZURE else scope
        known = self.known.get((provider, scope))
        if known is None:  # the objects held where they were filed (moved since read)
            held = self.azure if provider == Provider.AZURE else self.gcp.get(scope, [])
            known = {*self.keys.get((provider, scope), ()), *(object_key(o) for o in held)}
            self.known[(provider, scope)] = known
        for obj in [o for o in objects if object_key(o) not in known]:
            self.add(provider, scope, obj)
            known.add(object_key(obj))
        (self.azure_layers if provider == Provider.AZURE else self.gcp_layers[scope]).extend(layers)

    def resources(self) -> list[Resource]:
        """The objects normalized into resources (joined across files: a bucket and its
        IAM policy, a VNet and its admin rules)."""
        try:
            admin = self.azure_layers
            if self.azure_admin or not admin:
                admin = effective_admin_envelopes(self.azure)
            resources = [
                *self.azure_alone,
                *resources_from_arm([*self.azure, *admin], listed=self.azure_types),
            ]
            for project, objects in self.gcp.items():
                kept = self.gcp_layers.get(project, [])
                if self.gcp_policies and (not kept or has_policies(objects)):
                    alone = self.gcp_alone.get(project, ())
                    kept = effective_envelopes(project, objects, resource_regions(project, alone))
                resources.extend(self.gcp_alone.get(project, ()))
                resources.extend(resources_from_compute(project, [*objects, *kept]))
        except InputError as exc:
            raise InputError(f"{self.where}: {exc.message}") from None
        return resources


def export_files(paths: Sequence[Path]) -> list[Path]:
    """The files to read: each file given, and every export file in each folder given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in EXPORT_SUFFIXES)
            if not found:
                raise InputError(f"{path}: no export files in it ({', '.join(EXPORT_SUFFIXES)})")
            files.extend(found)
        else:
            files.append(path)
    return files


def read_offline(paths: Sequence[Path], known: Mapping[str, str] | None = None) -> OfflineObjects:
    """Every object Clamp understands in the export files (or folders) ``paths``; unknown
    asset types are skipped. Parts of one resource may come in different files.

    ``known`` maps resource ids to the scope an earlier import or scan filed them under:
    a bucket's IAM policy exported without its bucket names no project, and goes there."""
    with paused_gc():  # parsing builds millions of acyclic dicts and lists
        return _read_offline(paths, known)


def _read_offline(paths: Sequence[Path], known: Mapping[str, str] | None) -> OfflineObjects:
    files = export_files(paths)
    out = OfflineObjects(where=", ".join(str(p) for p in paths), keys={} if known else None)
    projects: list[Any] = []  # project assets only: the rest is dropped once read
    ancestry: dict[str, list[str]] = {}  # project (id or number) → CAI ancestors
    for path in files:
        items = _read_items(path)
        source = ExportFile(path)
        for number, (item, span) in enumerate(items, start=1):
            if type(item) is not dict and not isinstance(item, Mapping):
                raise InputError(f"{path}: item {number} is not a JSON object")
            if "asset_type" in item or "assetType" in item:
                if str(item.get("name", "")).startswith(PROJECT_ASSET):
                    projects.append(item)
                project, data = asset_objects(f"{path}: item {number}", item)
                if project == UNKNOWN_PROJECT:
                    project = (known or {}).get(str(item.get("name", "")), project)
                raw = None
                if span is not None and len(data) == 1:
                    raw = ExportedObject(source, *span, _api_object)
                for obj in data:
                    _add(out, Provider.GCP, project, obj, raw)
                if not data:
                    out.gcp.setdefault(project, [])  # known, in the files' order, if empty
                if asset_type(item) == POLICY_TYPE:
                    out.gcp_policies = True
                if project not in ancestry and _in_project(item):
                    ancestry[project] = [str(a) for a in item["ancestors"]]
            elif str(item.get("id", ""))[:15].lower() == "/subscriptions/":
                obj = _unflatten_az(item)
                raw = None if span is None else ExportedObject(source, *span, _unflatten_az)
                _add(out, Provider.AZURE, "", obj, raw)
                out.azure_admin = out.azure_admin or is_admin_part(obj)
            elif is_deployment_status(item):  # az network manager list-deploy-status
                _add(out, Provider.AZURE, "", item, None)
            else:
                raise InputError(
                    f"{path}: item {number} is neither a Cloud Asset Inventory asset "
                    "(name, asset_type, resource.data) nor an Azure resource (id, type)"
                )
    _name_projects_by_id(projects, out.gcp)
    _file_policies_with_their_buckets(out.gcp)
    for numbered, project in project_ids(projects).items():  # assets without ancestors
        if numbered in ancestry:
            ancestry.setdefault(project, ancestry[numbered])
    out.gcp_policies = _file_firewall_policies(out.gcp, ancestry) or out.gcp_policies
    out.gcp = defaultdict(
        list, {p: o for p, o in out.gcp.items() if p and (o or out.gcp_alone.get(p))}
    )
    return out


def _add(
    out: OfflineObjects,
    provider: Provider,
    scope: str,
    obj: Mapping[str, Any],
    raw: Mapping[str, Any] | None,
) -> None:
    try:
        out.add(provider, scope, obj, raw)
    except InputError as exc:
        raise InputError(f"{out.where}: {exc.message}") from None


def _api_object(item: Any) -> Mapping[str, Any]:
    """The one API object of a Cloud Asset Inventory asset (read again from its file)."""
    return asset_objects("asset", item)[1][0]


def _file_policies_with_their_buckets(gcp: dict[str, list[Mapping[str, Any]]]) -> None:
    """A bucket's IAM policy exported apart names no project: file it with its bucket."""
    homes = {
        str(o.get("name")): project
        for project, objects in gcp.items()
        for o in objects
        if o.get("kind") == "storage#bucket" and project != UNKNOWN_PROJECT
    }
    stray = gcp.get(UNKNOWN_PROJECT, [])
    for policy in [o for o in stray if o.get("kind") == "storage#policy"]:
        home = homes.get(str(policy.get("resourceId", "")).rsplit("/", 1)[-1])
        if home is not None:
            stray.remove(policy)
            gcp[home].append(policy)


def _in_project(item: Mapping[str, Any]) -> bool:
    ancestors = item.get("ancestors")
    return isinstance(ancestors, list) and str(next(iter(ancestors), "")).startswith("projects/")


def _file_firewall_policies(
    gcp: dict[str, list[Mapping[str, Any]]], ancestry: Mapping[str, list[str]]
) -> bool:
    """Give each project the hierarchical firewall policies of its ancestry (in order);
    whether there were any."""
    hierarchy = gcp.pop(HIERARCHY_SCOPE, [])
    for project, objects in gcp.items():
        ancestors = ancestry.get(project, [])
        objects.extend(hierarchical_for(ancestors, hierarchy))
    return bool(hierarchy)


def load_offline(paths: Sequence[Path]) -> list[Resource]:
    """Every resource Clamp understands in the export files (or folders) ``paths``."""
    return read_offline(paths).resources()


def _read_items(path: Path) -> Iterator[tuple[Any, Span]]:
    """The file's items as they are parsed, with where each lies in the file when it was
    parsed on its own: a JSON array's elements one by one and NDJSON's lines, both read a
    block at a time; a JSON array of another layout, or a JSON object's list, whole."""
    blocks = utf8_blocks(path, "export", limit=LARGE)
    first = next(blocks, b"")
    items = json_array_spans(
        first, blocks, lambda: read_utf8(path, "export", limit=LARGE), str(path)
    )
    if items is not None:
        return items
    if ndjson_first_line(first):
        return ((item, span) for _, item, span in json_lines(first, blocks, str(path)))
    data = first + b"".join(blocks)
    try:
        whole = json_value(data, str(path))
    except NotJson:
        if _ARRAY.match(data):
            raise  # a JSON array, not NDJSON: its own error is the clear one
        return ((item, span) for _, item, span in json_lines(data, iter(()), str(path)))
    if isinstance(whole, list):
        return ((item, None) for item in whole)
    if isinstance(whole, dict):
        for key in ("assets", "value", "data"):
            if isinstance(whole.get(key), list):
                return ((item, None) for item in whole[key])
        return iter([(whole, None)])
    raise InputError(f"{path}: expected a JSON array or object, found {type(whole).__name__}")


def _name_projects_by_id(items: list[Any], gcp: dict[str, list[Mapping[str, Any]]]) -> None:
    """CAI names projects by number, instances by project id: where a project asset's data
    gives both, file the project's policy under its id so the two meet."""
    for number, project in project_ids(items).items():
        objects = gcp.get(number, [])
        moved = [o for o in objects if o.get("kind") == "cloudresourcemanager#policy"]
        gcp[number] = [o for o in objects if o.get("kind") != "cloudresourcemanager#policy"]
        gcp[project].extend({**o, "resource": f"projects/{project}"} for o in moved)


def _unflatten_az(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """ARM shape from the Azure CLI's flattened output (a no-op on ARM-shaped objects)."""
    if "properties" in item:
        return item
    top = {k: v for k, v in item.items() if k in ARM_TOP_LEVEL}
    props = {k: v for k, v in item.items() if k not in ARM_TOP_LEVEL}
    for child in AZ_CLI_CHILDREN:
        if isinstance(props.get(child), list):
            props[child] = [_unflatten_az(c) if isinstance(c, Mapping) else c for c in props[child]]
    return {**top, "properties": props}
