"""Offline import of managed databases: Cloud SQL instances from Cloud Asset Inventory
(real Forseti and policy-library exports, and one opened to the internet) and Azure SQL
servers with their firewall rules as the Azure CLI lists them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import InputError
from clamp.inventory.offline import load_offline
from clamp.model import ResourceType

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gcp-cai"
FORSETI = DATA / "forseti" / "mock_cai_resources.dump"
LABELS = DATA / "policy-library/validator/test/fixtures/enforce_labels/assets/cloudsql/data.json"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real-format data absent at {DATA}")
SETTINGS = Settings(database_url="sqlite://")
CHECK = "exposed-database-service"
SUB = "00000000-0000-4000-8000-00000000c0de"
SERVER = f"/subscriptions/{SUB}/resourceGroups/data/providers/Microsoft.Sql/servers/orders"


def _database_findings(*paths: Path) -> dict[str, str]:
    return {
        f.resource: f.details["kind"]
        for f in evaluate(load_offline(list(paths)), SETTINGS)
        if f.check == CHECK
    }


@needs_data
def test_real_cai_cloud_sql_instances_are_read_and_an_open_one_is_reported(tmp_path: Path) -> None:
    forseti = [line for line in FORSETI.read_text().splitlines() if "sqladmin" in line]
    opened = json.loads(forseti[0])
    opened["name"] = opened["name"].replace("/forseti", "/opened")
    data = opened["resource"]["data"]
    data["name"] = "opened"
    data["settings"]["ipConfiguration"]["authorizedNetworks"] = [
        {"kind": "sql#aclEntry", "value": "0.0.0.0/0", "name": "all"}
    ]
    export = tmp_path / "cai.ndjson"
    export.write_text("\n".join([*forseti, json.dumps(opened)]) + "\n")

    resources = load_offline([export, LABELS])
    instances = {r.id for r in resources if r.type == ResourceType.CLOUD_SQL_INSTANCE}
    assert "//cloudsql.googleapis.com/projects/project2/instances/forseti" in instances
    assert (
        "//cloudsql.googleapis.com/projects/my-test-project/instances/cloudsql-instance-1-valid"
        in instances
    )
    # The recorded instances have a public IP and no authorized network: nobody is admitted.
    assert _database_findings(export, LABELS) == {
        "//cloudsql.googleapis.com/projects/project2/instances/opened": "internet"
    }


def test_azure_cli_servers_and_firewall_rules_are_joined(tmp_path: Path) -> None:
    servers = tmp_path / "servers.json"  # az sql server list (flattened properties)
    servers.write_text(
        json.dumps(
            [
                {
                    "id": SERVER,
                    "name": "orders",
                    "type": "Microsoft.Sql/servers",
                    "location": "westeurope",
                    "publicNetworkAccess": "Enabled",
                    "minimalTlsVersion": "1.2",
                    "resourceGroup": "data",
                }
            ]
        )
    )
    rules = tmp_path / "rules.json"  # az sql server firewall-rule list --server orders
    rules.write_text(
        json.dumps(
            [
                {
                    "id": f"{SERVER}/firewallRules/AllowAllWindowsAzureIps",
                    "name": "AllowAllWindowsAzureIps",
                    "type": "Microsoft.Sql/servers/firewallRules",
                    "startIpAddress": "0.0.0.0",
                    "endIpAddress": "0.0.0.0",
                    "resourceGroup": "data",
                }
            ]
        )
    )

    assert _database_findings(servers, rules) == {SERVER: "azure-services"}
    # Without the rules export the server's rules are unknown: nothing is claimed.
    assert _database_findings(servers) == {}


def test_a_cloud_sql_asset_without_an_instance_name_is_refused(tmp_path: Path) -> None:
    export = tmp_path / "bad.json"
    export.write_text(
        json.dumps(
            [
                {
                    "name": "//cloudsql.googleapis.com/projects/p",
                    "asset_type": "sqladmin.googleapis.com/Instance",
                    "resource": {"data": {}},
                }
            ]
        )
    )
    with pytest.raises(InputError, match="no Cloud SQL instance name"):
        load_offline([export])
