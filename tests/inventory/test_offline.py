"""Offline import on real-format exports: CAI (JSON and NDJSON) and Azure resource JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import InputError
from clamp.inventory.offline import load_offline
from clamp.model import ResourceType

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CAI = DATA / "gcp-cai" / "policy-library" / "validator" / "test" / "fixtures"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real-format data absent at {DATA}")
SETTINGS = Settings(database_url="sqlite://")


def flagged(path: Path, check: str) -> set[str]:
    findings = evaluate(load_offline([path]), SETTINGS)
    return {f.resource.rsplit("/", 1)[-1] for f in findings if f.check == check}


@needs_data
def test_cai_firewalls_open_to_admin_and_database_ports_are_found() -> None:
    path = CAI / "restricted_firewall_rules" / "assets" / "protocol_and_port" / "data.json"

    # rule-0 opens udp 1000-7000 (3389, 5900, 3306, 5432 ...), rule-5 all protocols,
    # rule-6 every tcp port; rules 1-4 and 7 are disabled, so they expose nothing.
    expected = {"cf-test-fw-rule-0", "cf-test-fw-rule-5", "cf-test-fw-rule-6"}
    assert flagged(path, "exposed-admin-port") == expected
    assert flagged(path, "exposed-database-port") == expected


@needs_data
def test_cai_rule_on_unrelated_ports_is_not_flagged() -> None:
    path = CAI / "restricted_firewall_rules" / "assets" / "protocol_and_all_ports" / "data.json"

    assert "cf-test-fw-rule-tcp-all-port-range-no-violation" not in flagged(
        path, "exposed-admin-port"
    )
    assert "cf-test-fw-rule-tcp-all" in flagged(path, "exposed-admin-port")


@needs_data
def test_cai_gcp_resource_names_are_full_compute_names() -> None:
    path = CAI / "restricted_firewall_rules" / "assets" / "sources" / "data.json"

    firewalls = [r for r in load_offline([path]) if r.type == ResourceType.GCP_FIREWALL]

    assert len(firewalls) == 12
    assert all(
        r.id.startswith("//compute.googleapis.com/projects/cf-gcp-challenge-dev/global/firewalls/")
        for r in firewalls
    )
    assert {r.scope for r in firewalls} == {"cf-gcp-challenge-dev"}


@needs_data
def test_cai_ndjson_dump_loads_compute_storage_and_cloud_sql_assets_and_skips_the_rest() -> None:
    resources = load_offline([DATA / "gcp-cai" / "forseti" / "mock_cai_resources.dump"])

    assert resources
    assert {r.type for r in resources} <= {
        ResourceType.GCP_FIREWALL,
        ResourceType.GCP_INSTANCE,
        ResourceType.GCP_NETWORK,
        ResourceType.GCS_BUCKET,
        ResourceType.GCP_PROJECT_POLICY,
        ResourceType.CLOUD_SQL_INSTANCE,
    }
    assert any(r.type == ResourceType.GCP_FIREWALL for r in resources)
    buckets = [r for r in resources if r.type == ResourceType.GCS_BUCKET]
    assert len(buckets) == 2
    assert all(r.id.startswith("//storage.googleapis.com/") for r in buckets)


def _recorded_nsgs() -> list[dict[str, Any]]:
    cassette = (
        DATA / "custodian" / "azure-cassettes" / "NetworkSecurityGroupTest.test_open_ports.json"
    )
    interactions = json.loads(cassette.read_text())["interactions"]
    nsgs: list[dict[str, Any]] = []
    for interaction in interactions:
        body = interaction["response"]["body"].get("data") or {}
        if isinstance(body, dict):
            nsgs.extend(
                v
                for v in body.get("value", [])
                if v.get("type") == "Microsoft.Network/networkSecurityGroups"
            )
    return nsgs


@needs_data
def test_recorded_azure_nsgs_load_and_evaluate(tmp_path: Path) -> None:
    nsgs = _recorded_nsgs()
    path = tmp_path / "nsgs.json"
    path.write_text(json.dumps({"value": nsgs}))

    resources = load_offline([path])

    assert len([r for r in resources if r.type == ResourceType.AZURE_NSG]) == len(nsgs) > 0
    findings = evaluate(resources, SETTINGS)
    assert all(f.resource.lower().startswith("/subscriptions/") for f in findings)


@needs_data
def test_azure_cli_flattened_output_gives_the_same_findings(tmp_path: Path) -> None:
    nsgs = _recorded_nsgs()

    def flatten(obj: dict[str, Any]) -> dict[str, Any]:
        props = dict(obj.get("properties", {}))
        for child in ("securityRules", "defaultSecurityRules"):
            if child in props:
                props[child] = [flatten(r) for r in props[child]]
        top = {k: v for k, v in obj.items() if k != "properties"}
        return {**top, **props}

    arm, cli = tmp_path / "arm.json", tmp_path / "cli.json"
    arm.write_text(json.dumps(nsgs))
    cli.write_text(json.dumps([flatten(n) for n in nsgs]))

    def ids(path: Path) -> set[str]:
        return {f.id for f in evaluate(load_offline([path]), SETTINGS)}

    assert ids(cli) == ids(arm)


def test_malformed_ndjson_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text('{"name": "x", "asset_type": "a"}\n{not json\n')

    with pytest.raises(InputError, match="line 2"):
        load_offline([path])


def test_unknown_objects_are_refused_with_the_item_number(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"hello": "world"}]))

    with pytest.raises(InputError, match="item 1"):
        load_offline([path])


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_offline([tmp_path / "nope.json"])


def test_comment_lines_in_ndjson_are_skipped(tmp_path: Path) -> None:
    asset = {
        "name": "//compute.googleapis.com/projects/p1/global/firewalls/ssh",
        "asset_type": "compute.googleapis.com/Firewall",
        "resource": {
            "data": {
                "name": "ssh",
                "network": "https://www.googleapis.com/compute/v1/projects/p1/global/networks/n",
                "sourceRanges": ["0.0.0.0/0"],
                "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
            }
        },
    }
    path = tmp_path / "export.dump"
    path.write_text(f"# exported by hand\n{json.dumps(asset)}\n\n{json.dumps(asset)}\n")

    assert flagged(path, "exposed-admin-port") == {"ssh"}


def test_cai_asset_without_kind_gets_it_from_the_asset_type(tmp_path: Path) -> None:
    asset = {
        "name": "//compute.googleapis.com/projects/p1/zones/us-east1-b/instances/vm1",
        "assetType": "compute.googleapis.com/Instance",
        "resource": {"data": {"name": "vm1", "zone": "projects/p1/zones/us-east1-b"}},
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"assets": [asset]}))

    [resource] = load_offline([path])

    assert resource.type == ResourceType.GCP_INSTANCE
    assert resource.id == asset["name"]


def test_malformed_rule_inside_an_export_names_the_file_and_the_resource(tmp_path: Path) -> None:
    nsg_id = (
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n"
    )
    nsg = {
        "id": nsg_id,
        "name": "n",
        "type": "Microsoft.Network/networkSecurityGroups",
        "properties": {
            "securityRules": [{"name": "r", "properties": {"destinationPortRange": "22-"}}]
        },
    }
    path = tmp_path / "nsgs.json"
    path.write_text(json.dumps([nsg]))

    with pytest.raises(InputError, match=rf"{path}: {nsg_id}: security rule 'r'"):
        load_offline([path])


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not present")
def test_recorded_azure_storage_accounts_and_blob_services_are_scanned_offline(
    tmp_path: Path,
) -> None:
    cassette = (
        DATA / "custodian" / "azure-cassettes" / "StorageTest.test_storage_blob_services.json"
    )
    objects = []
    for interaction in json.loads(cassette.read_text())["interactions"]:
        body = interaction["response"]["body"]["data"]
        objects += body.get("value") or [body]
    export = tmp_path / "storage.json"
    export.write_text(json.dumps(objects))

    resources = load_offline([export])
    findings = {
        (f.resource.rsplit("/", 1)[-1], f.check)
        for f in evaluate(resources, Settings(database_url="sqlite://"))
    }

    # The one account with a recorded blob service is judged on it; the others' blob
    # settings are unknown (not exported), so only their account settings are judged.
    assert ("cctstorageyenndgetjsvtg", "storage-versioning-disabled") in findings
    assert ("cctstorageyenndgetjsvtg", "storage-soft-delete-disabled") in findings
    assert ("bfsdevstorage", "storage-insecure-transport") in findings
    assert not any(
        check == "storage-versioning-disabled"
        for name, check in findings
        if name == "bfsdevstorage"
    )


def test_cai_project_policies_meet_instances_by_project_id(tmp_path: Path) -> None:
    default_sa = "1044-compute@developer.gserviceaccount.com"
    assets = [
        {
            "name": "//cloudresourcemanager.googleapis.com/projects/1044",
            "asset_type": "cloudresourcemanager.googleapis.com/Project",
            "resource": {"data": {"projectId": "shop-prod", "projectNumber": "1044"}},
            "iam_policy": {
                "bindings": [{"role": "roles/editor", "members": [f"serviceAccount:{default_sa}"]}]
            },
        },
        {
            "name": "//compute.googleapis.com/projects/shop-prod/zones/us-east1-b/instances/web",
            "asset_type": "compute.googleapis.com/Instance",
            "resource": {
                "data": {
                    "name": "web",
                    "zone": "https://www.googleapis.com/compute/v1/projects/shop-prod/zones/us-east1-b",
                    "serviceAccounts": [
                        {
                            "email": default_sa,
                            "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                        }
                    ],
                }
            },
        },
    ]
    export = tmp_path / "cai.json"
    export.write_text(json.dumps(assets))

    [finding] = [
        f
        for f in evaluate(load_offline([export]), Settings(database_url="sqlite://"))
        if f.check == "vm-identity-overprivileged"
    ]

    assert finding.scope == "shop-prod"
    assert finding.severity == "critical"
    assert finding.details["roles"] == [
        {"role": "roles/editor", "member": f"serviceAccount:{default_sa}"}
    ]
