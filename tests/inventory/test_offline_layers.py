"""An offline import of the estate a live scan sees reports the same exposures, the policy
layers included: the demo estate is scanned live, exported in the offline shapes (Cloud
Asset Inventory listed at the organization through the real google-cloud-asset client,
resources and IAM policies as two NDJSON files as ``gcloud asset export`` writes them;
the Azure subscription's ARM objects as one JSON array), imported with ``clamp scan
--input`` into a fresh store, and the findings compared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import asset_v1
from typer.testing import CliRunner

from clamp.cli.main import app
from clamp.config import Settings
from clamp.providers.gcp.asset_inventory import (
    LIST_POLICIES,
    LIST_RESOURCES,
    RESOURCE_TYPES,
    AssetInventory,
)
from clamp.providers.gcp.assets import IAM_POLICY_TYPES, POLICY_TYPE
from clamp.providers.gcp.driver import GcpDriver
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

ORG = "organizations/123456789012"
LAYERED = ("exposed-admin-port", "exposed-database-port", "exposed-database-service")
SUB = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/clamp-demo/providers"
VNET = f"{SUB}/Microsoft.Network/virtualNetworks/demo-vnet"
PROD = "//compute.googleapis.com/projects/clamp-demo-prod"
PROD_VPC = f"{PROD}/global/networks/prod-vpc"
TELNET = f"{PROD}/global/firewalls/allow-telnet-legacy"


def _clamp(env: dict[str, str], *args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code in (0, 1), result.output  # 1: findings were reported
    return result


def _findings(env: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The open findings of the layered checks (severity, title and every detail: the
    deciding layer and rule, the layers in order, the VMs reached and how), by (check,
    resource)."""
    result = _clamp(env, "findings", "--status", "open", "--format", "json")
    return {
        (f["check"], f["resource"]): {k: f[k] for k in ("severity", "title", "details")}
        for f in json.loads(result.stdout)
        if f["check"] in LAYERED
    }


def _export(sandbox: Sandbox, folder: Path, *, policies: bool = True) -> Path:
    """The estate in the offline shapes (see the module); without the firewall policy
    assets and the network manager's objects when ``policies`` is false."""
    folder.mkdir()
    inventory = AssetInventory(
        GcpDriver(Settings(database_url="sqlite://", sandbox_url=sandbox.url)).clients
    )
    types = [*RESOURCE_TYPES, "storage.googleapis.com/Bucket", *([POLICY_TYPE] * policies)]
    listings = {
        "resources.ndjson": inventory.assets(
            ORG, asset_v1.ContentType.RESOURCE, types, LIST_RESOURCES
        ),
        "iam.ndjson": inventory.assets(
            ORG, asset_v1.ContentType.IAM_POLICY, IAM_POLICY_TYPES, LIST_POLICIES
        ),
    }
    for name, assets in listings.items():
        (folder / name).write_text("".join(json.dumps(a) + "\n" for a in assets))
    # The ARM objects exactly as the sandbox serves them on GET (``az resource show``).
    azure = [
        o
        for objects in sandbox.state.to_scenario()["azure"].values()
        for o in objects
        if policies or "/networkManagers" not in o["id"]
    ]
    (folder / "azure.json").write_text(json.dumps(azure))
    return folder


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    with Sandbox(load_state(None)) as sandbox:
        yield sandbox, tmp_path_factory.mktemp("layers")


def _env(sandbox: Sandbox, database: Path) -> dict[str, str]:
    return {
        "CLAMP_SANDBOX_URL": sandbox.url,
        "CLAMP_DATABASE_URL": f"sqlite:///{database}",
        "CLAMP_ACTOR": "importer",
    }


def test_an_offline_import_reports_what_a_live_scan_does_through_every_layer(
    scanned: tuple[Sandbox, Path],
) -> None:
    sandbox, tmp = scanned
    live = _env(sandbox, tmp / "live.db")
    _clamp(live, "scan")
    offline = _env(sandbox, tmp / "offline.db")
    _clamp(offline, "scan", "--input", str(_export(sandbox, tmp / "export")))

    seen, imported = _findings(live), _findings(offline)

    assert imported == seen
    # the layered cases themselves: a port only a policy layer opens is reported on the
    # network / VNet, a VPC rule an organization policy denies first is not
    network = seen[("exposed-admin-port", PROD_VPC)]["details"]
    assert network["decided_by"]["layer"].startswith("network:projects/clamp-demo-prod/")
    assert network["layers"][0] == "hierarchical:firewallPolicies/9000000000000000001"
    vnet = seen[("exposed-admin-port", VNET)]["details"]
    assert vnet["decided_by"] == {
        "layer": f"admin:{VNET}",
        "rule": "always-allow-winrm",
        "rule_priority": 100,
        "action": "allow",
    }
    assert ("exposed-admin-port", TELNET) not in seen
    # and ``make demo``'s estate has an exposed managed database on each cloud
    databases = [r for check, r in seen if check == "exposed-database-service"]
    assert any(r.startswith("/subscriptions/") for r in databases)
    assert any(r.startswith("//cloudsql.googleapis.com/") for r in databases)


def test_without_the_policy_layers_the_nsgs_and_vpc_rules_decide_alone(
    scanned: tuple[Sandbox, Path],
) -> None:
    sandbox, tmp = scanned
    env = _env(sandbox, tmp / "no-policies.db")
    _clamp(env, "scan", "--input", str(_export(sandbox, tmp / "bare", policies=False)))

    found = _findings(env)

    assert ("exposed-admin-port", TELNET) in found  # the organization's deny is not known
    assert ("exposed-admin-port", PROD_VPC) not in found
    assert ("exposed-admin-port", VNET) not in found  # no admin rule known on the VNet


def _only(source: Path, target: Path, keep: Any) -> Path:
    """The items of an NDJSON or JSON-array export that ``keep`` accepts, in ``target``."""
    text = source.read_text()
    if source.suffix == ".ndjson":
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
        target.write_text("".join(json.dumps(i) + "\n" for i in items if keep(i)))
    else:
        target.write_text(json.dumps([i for i in json.loads(text) if keep(i)]))
    return target


def test_a_later_import_of_only_iam_policies_and_storage_keeps_the_layers(
    scanned: tuple[Sandbox, Path],
) -> None:
    sandbox, tmp = scanned
    env = _env(sandbox, tmp / "merged.db")
    export = _export(sandbox, tmp / "full")
    _clamp(env, "scan", "--input", str(export))
    before = _findings(env)
    later = tmp / "later"  # the same scopes, without a network, firewall or policy
    later.mkdir()
    stored = ("storage.googleapis.com/Bucket", "cloudresourcemanager.googleapis.com/Project")
    _only(export / "resources.ndjson", later / "buckets.ndjson", lambda a: a["assetType"] in stored)
    _only(export / "iam.ndjson", later / "iam.ndjson", lambda a: True)
    _only(export / "azure.json", later / "storage.json", lambda o: "/Microsoft.Storage/" in o["id"])

    _clamp(env, "scan", "--input", str(later))

    # the networks and VNets stored by the first import are judged with its layers again:
    # the organization's Telnet deny still holds, the network policy and the admin rule
    # still open their ports
    assert _findings(env) == before
    assert ("exposed-admin-port", TELNET) not in before
    assert ("exposed-admin-port", PROD_VPC) in before
    assert ("exposed-admin-port", VNET) in before
