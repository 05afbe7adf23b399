"""Cloud Asset Inventory v1 ``assets.list`` in the sandbox, built from the live estate.

``GET /v1/{parent=*/*}/assets`` (cloudasset v1 discovery document, ``cloudasset.assets.list``)
with ``assetTypes`` (names or RE2 expressions; one that matches no supported type is
``INVALID_ARGUMENT``, as the parameter's description says), ``contentType`` (no content
type: names only; ``RESOURCE``; ``IAM_POLICY``: the assets that have a policy; the sandbox
holds no org, access or OS policies nor relationships, so those list nothing),
``pageSize`` (default 100, 1 to 1,000), ``pageToken``/``nextPageToken`` and ``readTime``
(refused outside "the current time and the current time minus 35 days"; inside it the
sandbox answers its present state, having no history). Assets are made on each call from
``state.gcp``, so a fix shows in the next listing. Firewall policies are
``compute.googleapis.com/FirewallPolicy`` assets named after their selfLink: a project's
network policies with the project's assets, the organization's hierarchical policies
(``state.gcp_organizations``, ancestors ``[organizations/…]``) when the organization is
listed. Parents: ``projects/<id or number>``,
``organizations/123456789012`` (the sandbox's organization) and ``folders/N`` — anything
else is 403, as for a resource the caller cannot see. A project sits in the organization,
or in the folder its ``{"kind": "cloudresourcemanager#project", "parent": "folders/N"}``
object names (Resource Manager v3's ``Project.parent``; the folder is in the organization).

A project that holds ``{"kind": "serviceusage#service", "name":
"projects/P/services/cloudasset.googleapis.com", "state": "DISABLED"}`` (Service Usage
v1's ``Service``) has the API disabled: calls it is the consumer of get Google's
``SERVICE_DISABLED`` 403 with its ``google.rpc.ErrorInfo``. The consumer is the project of
``x-goog-user-project`` when sent, else the project listed, else (an organization) any of
its projects that disabled it.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp_errors import platform_error
from clamp.sandbox.state import Json, SandboxState

ORGANIZATION = "123456789012"
FIRST_NUMBER = 100000000000
"""Project numbers are ``FIRST_NUMBER + i`` in scenario order, as ``projects:search``."""
API = "https://www.googleapis.com/compute/v1/"
SERVICE = "cloudasset.googleapis.com"
DEFAULT_PAGE, MAX_PAGE = 100, 1000
HISTORY = timedelta(days=35)
# Asset types CAI supports in the services the sandbox serves ("Supported asset types",
# cloud.google.com/asset-inventory/docs/supported-asset-types); a type or expression that
# matches none of them is refused. Types of other services are not known here.
SUPPORTED = (
    "compute.googleapis.com/Address",
    "compute.googleapis.com/Disk",
    "compute.googleapis.com/Firewall",
    "compute.googleapis.com/FirewallPolicy",
    "compute.googleapis.com/Image",
    "compute.googleapis.com/Instance",
    "compute.googleapis.com/Network",
    "compute.googleapis.com/Snapshot",
    "compute.googleapis.com/Subnetwork",
    "storage.googleapis.com/Bucket",
    "sqladmin.googleapis.com/Instance",
    "cloudresourcemanager.googleapis.com/Folder",
    "cloudresourcemanager.googleapis.com/Organization",
    "cloudresourcemanager.googleapis.com/Project",
)
COMPUTE = {
    "compute#firewall": "Firewall",
    "compute#instance": "Instance",
    "compute#network": "Network",
    "compute#disk": "Disk",
    "compute#snapshot": "Snapshot",
    "compute#firewallPolicy": "FirewallPolicy",  # a project's network firewall policies
}
# ``ContentType`` by name (the discovery document's enum) and by number (google.cloud.asset.v1
# ``ContentType``: the REST clients send ``$alt=json;enum-encoding=int``).
CONTENT_TYPES = {
    "0": "CONTENT_TYPE_UNSPECIFIED",
    "1": "RESOURCE",
    "2": "IAM_POLICY",
    "4": "ORG_POLICY",
    "5": "ACCESS_POLICY",
    "6": "OS_INVENTORY",
    "7": "RELATIONSHIP",
}


def _bad(message: str) -> JSONResponse:
    return platform_error(400, message)


def service_disabled(project: str) -> JSONResponse:
    """Google's 403 for a disabled API: ``PERMISSION_DENIED`` with an ``ErrorInfo`` of
    reason ``SERVICE_DISABLED`` (the shape in "Google APIs error model", cloud.google.com/
    apis/design/errors, and in google-api-core's ``test_exceptions`` fixtures)."""
    url = f"https://console.developers.google.com/apis/api/{SERVICE}/overview?project={project}"
    body = {
        "code": 403,
        "message": (
            f"Cloud Asset API has not been used in project {project} before or it is disabled. "
            f"Enable it by visiting {url} then retry. If you enabled this API recently, wait a "
            "few minutes for the action to propagate to our systems and retry."
        ),
        "status": "PERMISSION_DENIED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {"service": SERVICE, "consumer": f"projects/{project}"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Google developers console API activation", "url": url}],
            },
        ],
    }
    return JSONResponse({"error": body}, status_code=403)


def project_parent(state: SandboxState, project: str) -> str:
    """The project's parent: the folder its ``cloudresourcemanager#project`` object names,
    else the organization."""
    for obj in state.gcp.get(project, []):
        if obj.get("kind") == "cloudresourcemanager#project" and str(
            obj.get("parent", "")
        ).startswith("folders/"):
            return str(obj["parent"])
    return f"organizations/{ORGANIZATION}"


def ancestry(state: SandboxState, project: str, number: str) -> list[str]:
    """CAI's ``ancestors``: the project, its folder if any, the organization."""
    parent = project_parent(state, project)
    folder = [parent] if parent.startswith("folders/") else []
    return [f"projects/{number}", *folder, f"organizations/{ORGANIZATION}"]


class AssetApi:
    """``assets.list`` over one ``SandboxState``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def _numbers(self) -> dict[str, str]:
        """Project id → number."""
        return {p: str(FIRST_NUMBER + i) for i, p in enumerate(self.state.gcp)}

    def _projects(self, parent: str) -> list[str] | None:
        """The project ids under ``parent``; None when the caller cannot see it."""
        kind, _, key = parent.partition("/")
        numbers = self._numbers()
        if kind == "organizations" and key == ORGANIZATION:
            return list(numbers)
        if kind == "folders":
            inside = [p for p in numbers if parent in ancestry(self.state, p, numbers[p])]
            return inside or None
        if kind == "projects":
            found = [p for p, n in numbers.items() if key in (p, n)]
            return found or None
        return None

    def _disabled(self, request: Request, projects: list[str]) -> str | None:
        """The consumer project's number if it has the Cloud Asset API disabled."""
        consumer = request.headers.get("x-goog-user-project")
        candidates = [consumer] if consumer else projects
        for project in candidates:
            for obj in self.state.gcp.get(project, []):
                if (
                    obj.get("kind") == "serviceusage#service"
                    and str(obj.get("name", "")).endswith(f"/services/{SERVICE}")
                    and obj.get("state") == "DISABLED"
                ):
                    return self._numbers()[project]
        return None

    async def list_assets(self, request: Request) -> Response:
        """``cloudasset.assets.list``."""
        parent = f"{request.path_params['kind']}/{request.path_params['key']}"
        query = request.query_params
        types = query.getlist("assetTypes")
        matchers = []
        for pattern in types:
            try:
                regex = re.compile(pattern)
            except re.error:
                return _bad(f"Invalid asset type regular expression: {pattern}")
            if not any(regex.fullmatch(t) for t in SUPPORTED):
                return _bad(f"{pattern} does not match any supported asset type.")
            matchers.append(regex)
        given = query.get("contentType", "0")
        content = CONTENT_TYPES.get(given, given)
        if content not in CONTENT_TYPES.values():
            return _bad(
                f"Invalid value at 'content_type' (type.googleapis.com/google.cloud.asset.v1.ContentType), \"{given}\""
            )
        try:
            size = int(query.get("pageSize") or DEFAULT_PAGE)
            start = _start(query.get("pageToken"))
        except ValueError:
            return _bad("Invalid page token or page size.")
        if not 0 <= size <= MAX_PAGE:
            return _bad(f"page_size must be between 1 and {MAX_PAGE}.")
        if problem := _read_time(query.get("readTime")):
            return _bad(problem)
        with self.state.lock:
            projects = self._projects(parent)
            if projects is None:
                return platform_error(403, f"The caller does not have permission on {parent}")
            if number := self._disabled(request, projects):
                return service_disabled(number)
            entries = [
                e
                for e in self._entries(parent, projects, content)
                if not matchers or any(m.fullmatch(e.type) for m in matchers)
            ]
            # Only the page's assets are built (their objects copied), under the lock.
            page = [e.asset(content) for e in entries[start : start + (size or DEFAULT_PAGE)]]
        body: Json = {"readTime": _now(), "assets": page}
        if start + len(page) < len(entries):
            token = str(start + len(page)).encode()
            body["nextPageToken"] = base64.urlsafe_b64encode(token).decode()
        return JSONResponse(body)

    def _entries(self, parent: str, projects: list[str], content: str) -> Iterator[Entry]:
        """The assets under ``parent`` (the organization's hierarchical firewall policies
        when it is the organization, then ``projects``') that have ``content``, in a
        stable order."""
        numbers = self._numbers()
        found = _organization_entries(self.state) if parent.startswith("organizations/") else []
        for entry in [
            *found,
            *(e for p in projects for e in _project_entries(self.state, p, numbers[p])),
        ]:
            if content == "IAM_POLICY" and entry.policy is None:
                continue
            if content not in ("RESOURCE", "IAM_POLICY", "CONTENT_TYPE_UNSPECIFIED"):
                continue  # no org, access or OS policies, nor relationships here
            yield entry


@dataclass(frozen=True)
class Entry:
    """One asset before it is built: its name, type, ancestors and what it is made of."""

    name: str
    type: str
    ancestors: list[str]
    resource: Callable[[], Json]
    policy: Json | None = None

    def asset(self, content: str) -> Json:
        """The asset as ``assets.list`` returns it for ``content``."""
        out: Json = {
            "name": self.name,
            "assetType": self.type,
            "ancestors": list(self.ancestors),
            "updateTime": _now(),
        }
        if content == "RESOURCE":
            out["resource"] = self.resource()
        elif content == "IAM_POLICY" and self.policy is not None:
            out["iamPolicy"] = _iam_policy(self.policy)
        return out


def _organization_entries(state: SandboxState) -> list[Entry]:
    """The organization's hierarchical firewall policies (``gcp_organizations``), named
    ``//compute.googleapis.com/locations/global/firewallPolicies/ID`` (their selfLink)."""
    parent = f"//cloudresourcemanager.googleapis.com/organizations/{ORGANIZATION}"
    return [
        Entry(
            "//compute.googleapis.com/" + str(policy.get("selfLink")).removeprefix(API),
            "compute.googleapis.com/FirewallPolicy",
            [f"organizations/{ORGANIZATION}"],
            partial(_resource, policy, "compute", "v1", "FirewallPolicy", parent),
        )
        for policy in state.gcp_organizations.get(ORGANIZATION) or []
    ]


def _project_entries(state: SandboxState, project: str, number: str) -> Iterator[Entry]:
    """The project's own asset, then one per Compute object, bucket and Cloud SQL instance."""
    objects = state.gcp.get(project, [])
    ancestors = ancestry(state, project, number)
    parent = f"//cloudresourcemanager.googleapis.com/projects/{number}"
    home = project_parent(state, project)
    policies = {
        str(o.get("resourceId", "")).rsplit("/", 1)[-1]: o
        for o in objects
        if o.get("kind") == "storage#policy"
    }
    yield Entry(
        parent,
        "cloudresourcemanager.googleapis.com/Project",
        ancestors,
        lambda: _project_resource(project, number, home),
        next((o for o in objects if o.get("kind") == "cloudresourcemanager#policy"), None),
    )
    for obj in objects:
        kind = str(obj.get("kind", ""))
        if kind in COMPUTE:
            yield Entry(
                "//compute.googleapis.com/" + str(obj.get("selfLink")).removeprefix(API),
                f"compute.googleapis.com/{COMPUTE[kind]}",
                ancestors,
                partial(_resource, obj, "compute", "v1", COMPUTE[kind], parent),
            )
        elif kind == "storage#bucket":
            yield Entry(
                f"//storage.googleapis.com/{obj.get('name')}",
                "storage.googleapis.com/Bucket",
                ancestors,
                partial(_resource, obj, "storage", "v1", "Bucket", parent),
                policies.get(str(obj.get("name"))),
            )
        elif kind == "sql#instance":
            yield Entry(
                f"//cloudsql.googleapis.com/projects/{project}/instances/{obj.get('name')}",
                "sqladmin.googleapis.com/Instance",
                ancestors,
                partial(_resource, obj, "sqladmin", "v1beta4", "DatabaseInstance", parent),
            )


def _resource(obj: Json, api: str, version: str, name: str, parent: str) -> Json:
    """CAI's ``Resource``: the API object as ``data``, where it came from, its location."""
    data = copy.deepcopy(obj)
    out: Json = {
        "version": version,
        "discoveryDocumentUri": f"https://www.googleapis.com/discovery/v1/apis/{api}/{version}/rest",
        "discoveryName": name,
        "parent": parent,
        "data": data,
    }
    if link := obj.get("selfLink"):
        out["resourceUrl"] = link
    zone, region = str(obj.get("zone", "")), str(obj.get("region", ""))
    location = obj.get("location") or zone.rsplit("/", 1)[-1] or region.rsplit("/", 1)[-1]
    out["location"] = str(location or "global").lower()
    return out


def _project_resource(project: str, number: str, parent: str) -> Json:
    """A project's Resource Manager v1 ``Project`` (what CAI's project assets carry)."""
    kind, _, key = parent.partition("/")
    return {
        "version": "v1",
        "discoveryDocumentUri": "https://cloudresourcemanager.googleapis.com/$discovery/rest",
        "discoveryName": "Project",
        "parent": f"//cloudresourcemanager.googleapis.com/{parent}",
        "data": {
            "projectNumber": number,
            "projectId": project,
            "lifecycleState": "ACTIVE",
            "name": project,
            "parent": {"type": kind.removesuffix("s"), "id": key},
        },
        "location": "global",
    }


def _iam_policy(policy: Json) -> Json:
    """The IAM ``Policy`` (version, etag, bindings) of a stored project or bucket policy."""
    return {
        k: copy.deepcopy(v)
        for k, v in policy.items()
        if k in ("version", "etag", "bindings", "auditConfigs")
    }


def _start(token: str | None) -> int:
    return int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _read_time(text: str | None) -> str | None:
    """Why ``readTime`` is refused (outside now - 35 days … now), or None."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return f"Invalid value at 'read_time' (type.googleapis.com/google.protobuf.Timestamp), \"{text}\""
    now = datetime.now(UTC)
    if when.tzinfo is None or when > now + timedelta(minutes=1) or when < now - HISTORY:
        return "read_time must be between the current time and the current time minus 35 days."
    return None


def asset_routes(state: SandboxState) -> list[Route]:
    """The Cloud Asset Inventory routes."""
    api = AssetApi(state)
    return [Route("/v1/{kind}/{key}/assets", api.list_assets, methods=["GET"])]
