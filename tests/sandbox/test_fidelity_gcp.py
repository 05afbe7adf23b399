"""Every object the Google side of the sandbox returns, validated against the discovery
document of the method that returned it: no unknown fields, JSON types as declared
(int64/uint64 as strings), enums within their values, and the output fields a resource
always has (``kind``, ``id``, ``selfLink``, ``creationTimestamp``) present.

The responses are recorded at the sandbox's ASGI boundary while Clamp's real drivers
(google-cloud-compute, -storage, -resource-manager, google-api-python-client) scan the demo
estate, fix every Google finding, contain an instance and undo it all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from google.api_core.exceptions import BadRequest
from google.auth.credentials import AnonymousCredentials
from google.cloud import asset_v1, compute_v1
from googleapiclient.discovery import build
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clamp.config import Settings
from clamp.errors import ClampError
from clamp.model import FindingStatus, Provider
from clamp.providers.gcp.driver import GcpDriver
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from rig import Rig, make_rig
from sandbox.discovery import document, method_for, problems

ZONE = "europe-west1-b"
GCE = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"
# The output fields a resource of a method's response always carries, where its schema
# declares them; Compute operations carry no creationTimestamp (the recorded ``patch``
# operation in custodian gcp-flights has none), nor do list wrappers.
ALWAYS = ("kind", "id", "selfLink", "creationTimestamp")
NO_TIMESTAMP = frozenset({"Operation", "Bucket", "Buckets", "Policy"})

Seen = tuple[str, str, int, bytes]


class RecordingSandbox(Sandbox):
    """The sandbox, keeping every Google response it sends: (verb, path, status, body)."""

    seen: list[Seen]

    def _control_app(self) -> ASGIApp:
        app = super()._control_app()
        self.seen = []

        async def record(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
                await app(scope, receive, send)
                return
            status, chunks = [0], []

            async def keep(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                await send(message)

            await app(scope, receive, keep)
            self.seen.append((scope["method"], scope["path"], status[0], b"".join(chunks)))

        return record


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[RecordingSandbox, Rig]]:
    with RecordingSandbox(load_state(None)) as sandbox:
        yield sandbox, make_rig(sandbox, tmp_path)


def _required(api: str, schema_name: str, obj: Any, where: str) -> list[str]:
    """The output fields ``obj`` (a ``schema_name`` of ``api``) lacks, and a wrong kind."""
    schema = document(api)["schemas"][schema_name]
    props = schema.get("properties") or {}
    if not isinstance(obj, dict):
        return []
    out = []
    for field in ALWAYS:
        if field in props and field not in obj:
            if field == "creationTimestamp" and (
                schema_name in NO_TIMESTAMP or schema_name.endswith(("List", "AggregatedList"))
            ):
                continue
            out.append(f"{where}: {schema_name} without {field}")
    default = (props.get("kind") or {}).get("default")
    if default and obj.get("kind") not in (None, default):
        out.append(f"{where}.kind: {obj.get('kind')!r}, not {default!r}")
    return out


def _resources(api: str, schema_name: str, body: Any) -> Iterator[tuple[str, Any, str]]:
    """The response and the resources it wraps (``items``, aggregated ``items.*.X``)."""
    yield schema_name, body, "$"
    props = document(api)["schemas"][schema_name].get("properties") or {}
    items = props.get("items") or {}
    listed = body.get("items") if isinstance(body, dict) else None
    if "$ref" in (items.get("items") or {}) and isinstance(listed, list):
        ref = items["items"]["$ref"]
        yield from ((ref, item, f"$.items[{i}]") for i, item in enumerate(listed))
    scoped = (items.get("additionalProperties") or {}).get("$ref")
    if scoped and isinstance(listed, dict):
        for key, value in listed.items():
            for field, sub in (document(api)["schemas"][scoped].get("properties") or {}).items():
                ref = (sub.get("items") or {}).get("$ref")
                if ref and isinstance(value.get(field), list):
                    yield from (
                        (ref, item, f"$.items.{key}.{field}[{i}]")
                        for i, item in enumerate(value[field])
                    )


def _error_problems(api: str, raw: bytes) -> list[str]:
    """How an error body departs from Google's shape: Compute and Cloud Storage answer
    ``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}`` (the
    recorded ``firewall-delete`` 404) and so does the Cloud SQL Admin API (its reasons such as
    ``instanceDoesNotExist``), the newer APIs ``{"error": {"code", "message", "status"}}``
    (google.rpc.Status)."""
    error = json.loads(raw).get("error")
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return [f"error body {raw[:120]!r} is not Google's"]
    expected = (
        {"code", "message", "errors"}
        if api in ("compute.v1", "storage.v1", "sqladmin.v1")
        else {"code", "message", "status"}
    )
    if set(error) != expected:
        return [f"error fields {sorted(error)}, not {sorted(expected)}"]
    for item in error.get("errors") or []:
        if set(item) != {"message", "domain", "reason"}:
            return [f"error item {item}"]
    return []


def _check(seen: list[Seen]) -> tuple[set[str], list[str]]:
    """The methods the responses came from, and every problem found in them."""
    called: set[str] = set()
    out: list[str] = []
    for verb, path, status, raw in seen:
        method = method_for(verb, path.lstrip("/"))
        if method is None:
            out.append(f"{verb} {path}: no documented method serves this route")
            continue
        if status >= 400:
            out += [f"{method.id} ({verb} {path}) {p}" for p in _error_problems(method.api, raw)]
            continue
        if status >= 300 or not raw:
            continue
        called.add(method.id)
        if method.response is None:
            out.append(f"{verb} {path}: {method.id} documents no response body")
            continue
        body = json.loads(raw)
        found = problems(method.api, {"$ref": method.response}, body)
        for schema_name, obj, where in _resources(method.api, method.response, body):
            found += _required(method.api, schema_name, obj, where)
        out += [f"{method.id} ({verb} {path}) {p}" for p in found]
    return called, out


def _fix_everything(rig: Rig) -> None:
    """Apply every Google finding's default fix, then contain web-1; undo it all."""
    done = []
    for record in rig.store.findings(status=FindingStatus.OPEN):
        if record.finding.provider != Provider.GCP:
            continue
        try:
            plan = rig.engine.plan(record.id)
        except ClampError:
            continue  # no automatic fix for this finding
        applied = rig.engine.apply(plan, actor="tester", confirm_irreversible=True)
        if not plan.irreversible:
            done.append(applied.id)
    for intent in ("snapshot_disks", "isolate_instance", "detach_identity", "stop_instance"):
        params = {"incident": "INC-7"} if intent == "snapshot_disks" else {}
        plan = rig.engine.plan_containment(intent, GCE, params)
        applied = rig.engine.apply(plan, actor="responder", confirm_irreversible=True)
        if not plan.irreversible and intent != "snapshot_disks":
            done.append(applied.id)
    for action in reversed(done):
        try:
            rig.engine.undo(action, actor="tester")
        except ClampError:
            continue  # a later fix of the same bucket moved its metageneration: refused
    rig.scan()


def _read_the_rest(sandbox: Sandbox) -> None:
    """What Clamp's flows above do not read on their own: disks, snapshots, networks and
    zone listings one by one, a failed write's operation, and Resource Manager v1."""
    options: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": sandbox.url},
    }
    for project in sandbox.state.gcp:
        for disk in compute_v1.DisksClient(**options).list(project=project, zone=ZONE):
            compute_v1.DisksClient(**options).get(project=project, zone=ZONE, disk=disk.name)
        for snap in compute_v1.SnapshotsClient(**options).list(project=project):
            compute_v1.SnapshotsClient(**options).get(project=project, snapshot=snap.name)
        for network in compute_v1.NetworksClient(**options).list(project=project):
            compute_v1.NetworksClient(**options).get(project=project, network=network.name)
        list(compute_v1.InstancesClient(**options).list(project=project, zone=ZONE))
    orphan = compute_v1.Firewall(
        name="orphan",
        network="global/networks/no-such-vpc",
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])],
    )
    op = compute_v1.FirewallsClient(**options).insert_unary(
        project="clamp-demo-prod", firewall_resource=orphan
    )
    compute_v1.GlobalOperationsClient(**options).get(project="clamp-demo-prod", operation=op.name)
    httpx.get(sandbox.url + "/v1/projects").raise_for_status()
    _read_the_policies(sandbox)
    _read_the_assets(sandbox, options)


def _read_the_assets(sandbox: Sandbox, options: dict[str, Any]) -> None:
    """The per-API lists a scan through Cloud Asset Inventory does not make, and the
    inventory at organization scope (names only, IAM policies) and a refused asset type."""
    settings = Settings(database_url="sqlite://", sandbox_url=sandbox.url, gcp_inventory="api")
    for project in sandbox.state.gcp:
        list(GcpDriver(settings).collect(project))
    assets = asset_v1.AssetServiceClient(**options)
    for content in (asset_v1.ContentType.CONTENT_TYPE_UNSPECIFIED, asset_v1.ContentType.IAM_POLICY):
        list(
            assets.list_assets(
                request={
                    "parent": "organizations/123456789012",
                    "content_type": content,
                    "page_size": 2,
                }
            )
        )
    with pytest.raises(BadRequest):
        list(
            assets.list_assets(
                request={"parent": "projects/clamp-demo-dev", "asset_types": ["x/Y"]}
            )
        )


def _read_the_policies(sandbox: Sandbox) -> None:
    """Firewall policies through google-api-python-client: hierarchical, global and regional
    network policies, one rule of each, and a rule patched."""
    compute = build(
        "compute",
        "v1",
        developerKey="sandbox",
        client_options={"api_endpoint": sandbox.url + "/compute/v1/"},
        static_discovery=True,
        cache_discovery=False,
    )
    project = "clamp-demo-prod"
    org = compute.firewallPolicies().list(parentId="organizations/123456789012").execute()
    for policy in org["items"]:
        compute.firewallPolicies().get(firewallPolicy=policy["name"]).execute()
        compute.firewallPolicies().getRule(firewallPolicy=policy["name"], priority=1000).execute()
    network = compute.networkFirewallPolicies()
    for policy in network.list(project=project).execute()["items"]:
        network.get(project=project, firewallPolicy=policy["name"]).execute()
        rule = network.getRule(project=project, firewallPolicy=policy["name"], priority=1000)
        network.patchRule(
            project=project,
            firewallPolicy=policy["name"],
            priority=1000,
            body={"description": "checked"},
        ).execute()
        rule.execute()
    compute.regionNetworkFirewallPolicies().list(project=project, region="europe-west1").execute()


FLIGHTS = Path(__file__).parents[3] / "shared" / "data" / "custodian" / "gcp-flights"
HOSTS = frozenset({"compute.googleapis.com", "www.googleapis.com", "storage.googleapis.com"})


@pytest.mark.skipif(not FLIGHTS.is_dir(), reason="../shared/data/custodian is not present")
def test_the_walker_accepts_what_google_really_sent() -> None:
    """The oracle itself is right: Compute and Cloud Storage responses recorded from the
    real APIs (custodian gcp-flights) pass the same checks."""
    checked, found = 0, []
    for path in sorted(FLIGHTS.rglob("*.json")):
        recording = json.loads(path.read_text())
        headers = recording.get("headers") or {}
        where = urlparse(str(headers.get("content-location", "")))
        if where.hostname not in HOSTS or not str(headers.get("status")).startswith("2"):
            continue
        method = method_for(path.name.split("-")[0].upper(), where.path.lstrip("/"))
        if method is None or method.response is None:
            continue
        checked += 1
        body = recording["body"]
        found += problems(method.api, {"$ref": method.response}, body)
        for schema_name, obj, at in _resources(method.api, method.response, body):
            found += _required(method.api, schema_name, obj, at)

    assert checked > 50 and found == []


def test_the_walker_finds_unknown_fields_wrong_types_and_enums() -> None:
    bad = {
        "kind": "compute#firewall",
        "id": 5,
        "priority": "1000",
        "direction": "UP",
        "allowed": [{"IPProtocol": "tcp", "port": ["22"]}],
        "logConfig": {"enable": "no"},
    }

    assert problems("compute.v1", {"$ref": "Firewall"}, bad) == [
        "$.id: 5 is not a string (uint64)",
        "$.priority: '1000' is not an integer (int32)",
        "$.direction: 'UP' is not one of ['EGRESS', 'INGRESS']",
        "$.allowed[0].port: unknown field",
        "$.logConfig.enable: 'no' is not a boolean",
    ]
    assert _required("compute.v1", "Firewall", {"name": "x"}, "$") == [
        "$: Firewall without kind",
        "$: Firewall without id",
        "$: Firewall without selfLink",
        "$: Firewall without creationTimestamp",
    ]


def test_demo_estate_and_every_write_clamp_makes_match_the_discovery_documents(
    recorded: tuple[RecordingSandbox, Rig],
) -> None:
    sandbox, rig = recorded
    _fix_everything(rig)
    _read_the_rest(sandbox)

    called, found = _check(sandbox.seen)

    assert found == []
    assert any(status >= 400 for _, _, status, _ in sandbox.seen)  # refusals were checked too
    # The suite saw every type the sandbox serves to Clamp.
    assert {
        "compute.firewalls.list",
        "compute.firewalls.get",
        "compute.firewalls.update",
        "compute.firewalls.insert",
        "compute.networks.list",
        "compute.networks.getEffectiveFirewalls",
        "compute.regionNetworkFirewallPolicies.getEffectiveFirewalls",
        "compute.firewallPolicies.list",
        "compute.firewallPolicies.getRule",
        "compute.networkFirewallPolicies.get",
        "compute.networkFirewallPolicies.patchRule",
        "compute.regionNetworkFirewallPolicies.list",
        "compute.instances.aggregatedList",
        "compute.instances.get",
        "compute.instances.stop",
        "compute.instances.setServiceAccount",
        "compute.instances.setTags",
        "compute.disks.list",
        "compute.disks.get",
        "compute.disks.createSnapshot",
        "compute.snapshots.list",
        "compute.snapshots.get",
        "compute.networks.get",
        "compute.instances.list",
        "compute.globalOperations.get",
        "cloudresourcemanager.projects.list",
        "compute.globalOperations.wait",
        "compute.zoneOperations.wait",
        "cloudresourcemanager.projects.search",
        "cloudresourcemanager.projects.getIamPolicy",
        "cloudresourcemanager.organizations.get",
        "storage.buckets.list",
        "storage.buckets.get",
        "storage.buckets.patch",
        "storage.buckets.getIamPolicy",
        "storage.buckets.setIamPolicy",
        "cloudidentity.policies.list",
        "sql.instances.list",
        "cloudasset.assets.list",
        "sql.instances.get",
        "sql.instances.patch",
        "sql.operations.get",
    } <= called, sorted(called)


def test_a_regional_policy_rule_fix_and_undo_match_the_discovery_documents(
    tmp_path: Path,
) -> None:
    """restrict_ingress on a regional network firewall policy rule, narrowed and split:
    get, patchRule, addRule, removeRule and regionOperations.wait answer as compute.v1.json
    says."""
    from actions.test_restrict_policy_rule_gcp import SMALL, _mixed_state, _small_state

    called: set[str] = set()
    mixed = _mixed_state([{"ipProtocol": "tcp", "ports": ["3389", "443"]}])
    for number, state in enumerate((_small_state(), mixed)):
        (tmp_path / str(number)).mkdir()
        called |= _fix_and_undo_recorded(state, SMALL, tmp_path / str(number))
    assert {
        "compute.regionNetworkFirewallPolicies.get",
        "compute.regionNetworkFirewallPolicies.patchRule",
        "compute.regionNetworkFirewallPolicies.addRule",
        "compute.regionNetworkFirewallPolicies.removeRule",
        "compute.regionOperations.wait",
        "compute.regionNetworkFirewallPolicies.getEffectiveFirewalls",
    } <= called


def _fix_and_undo_recorded(state: Any, project: str, tmp_path: Path) -> set[str]:
    """restrict_ingress and its undo on ``state``'s admin finding in ``project``; the
    methods called, every answer checked against the discovery documents."""
    with RecordingSandbox(state) as sandbox:
        rig = make_rig(sandbox, tmp_path)
        finding = next(
            r.finding
            for r in rig.store.findings()
            if r.finding.check == "exposed-admin-port" and project in r.finding.resource
        )
        record = rig.engine.apply(rig.engine.plan(finding.id), actor="tester")
        rig.engine.undo(record.id, actor="tester")
        called, found = _check(sandbox.seen)

    assert found == []
    return set(called)
