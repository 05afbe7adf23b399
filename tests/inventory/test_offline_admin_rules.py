"""Virtual Network Manager in an Azure export: a VNet meets the security admin rules of
the collections applying to its network groups, as deployed to its region when the export
holds the deployment status (``az network manager list-deploy-status``); without it an
admin Deny is not counted (it could hide an exposure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.inventory.offline import load_offline
from clamp.sandbox.scenario import demo_scenario

SETTINGS = Settings(database_url="sqlite://")
SUB = "00000000-0000-4000-8000-000000000001"
MANAGER = (
    f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Network/"
    "networkManagers/demo-avnm"
)
CONFIG = f"{MANAGER}/securityAdminConfigurations/platform-baseline"


def _objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = demo_scenario()["azure"][SUB]
    return objects


def _named(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(o for o in objects if o.get("name") == name)


def _deny_ssh(objects: list[dict[str, Any]]) -> None:
    """The demo's admin rule made a Deny of SSH (any protocol: the NSG opens UDP 22 too)."""
    rule = _named(objects, "always-allow-winrm")["properties"]
    rule.update(access="Deny", protocol="Any", destinationPortRanges=["22"])


def _status(region: str, deployed: str = "Deployed") -> dict[str, Any]:
    """One ``NetworkManagerDeploymentStatus`` as ``list-deploy-status`` prints it."""
    return {
        "commitTime": "2026-11-30T10:00:00Z",
        "region": region,
        "deploymentStatus": deployed,
        "configurationIds": [CONFIG],
        "deploymentType": "SecurityAdmin",
        "errorMessage": "",
    }


def _admin_findings(tmp_path: Path, objects: list[Any], statuses: list[Any] = ()) -> set[str]:
    (tmp_path / "arm.json").write_text(json.dumps(objects))
    paths = [tmp_path / "arm.json"]
    if statuses:
        (tmp_path / "deploy-status.json").write_text(json.dumps({"value": list(statuses)}))
        paths.append(tmp_path / "deploy-status.json")
    return {
        f.resource.rsplit("/", 1)[-1]
        for f in evaluate(load_offline(paths), SETTINGS)
        if f.check == "exposed-admin-port"
    }


def _region(objects: list[dict[str, Any]]) -> str:
    return str(_named(objects, "demo-vnet")["location"])


def test_the_always_allow_rule_of_an_export_is_reported_on_its_vnet(tmp_path: Path) -> None:
    assert "demo-vnet" in _admin_findings(tmp_path, _objects())


def test_an_admin_deny_counts_only_where_the_export_says_it_is_deployed(
    tmp_path: Path,
) -> None:
    objects = _objects()
    _deny_ssh(objects)
    region = _region(objects)

    unknown = _admin_findings(tmp_path, objects)
    deployed = _admin_findings(tmp_path, objects, [_status(region)])

    assert "frontend-subnet-nsg" in unknown  # the deny may not be deployed: not counted
    assert "frontend-subnet-nsg" not in deployed  # it opened only 22, which the deny drops


def test_a_configuration_not_deployed_to_the_vnets_region_is_not_in_effect(
    tmp_path: Path,
) -> None:
    objects = _objects()
    region = _region(objects)

    elsewhere = _admin_findings(tmp_path, objects, [_status("eastus")])
    failed = _admin_findings(tmp_path, objects, [_status(region, "Failed")])

    assert "demo-vnet" in elsewhere  # nothing said about its own region: counted
    assert "demo-vnet" not in failed


def test_a_vnet_outside_the_network_group_has_no_admin_rules(tmp_path: Path) -> None:
    objects = [o for o in _objects() if o.get("name") != "demo-vnet-member"]

    assert "demo-vnet" not in _admin_findings(tmp_path, objects)
