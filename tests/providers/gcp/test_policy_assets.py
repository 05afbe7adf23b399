"""Firewall policies in a Cloud Asset Inventory export: each project meets the hierarchical
policies of its own ancestry (organization first, then folders), its networks their
global and regional network policies, as Compute's effective view would give them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import InputError
from clamp.inventory.offline import load_offline

SETTINGS = Settings(database_url="sqlite://")
API = "https://www.googleapis.com/compute/v1/"
ORG, FOLDER = "organizations/555", "folders/77"
IN_FOLDER = ["projects/1001", FOLDER, ORG]
UNDER_ORG = ["projects/1002", ORG]


def _asset(name: str, kind: str, data: dict[str, Any], ancestors: list[str]) -> dict[str, Any]:
    """An asset as ``gcloud asset export`` writes it (snake_case wrapper)."""
    return {
        "name": name,
        "asset_type": f"compute.googleapis.com/{kind}",
        "resource": {"version": "v1", "data": data},
        "ancestors": ancestors,
    }


def _rule(priority: int, action: str, port: str, **extra: Any) -> dict[str, Any]:
    return {
        "priority": priority,
        "action": action,
        "direction": "INGRESS",
        "ruleName": f"{action}-{port}",
        "match": {
            "srcIpRanges": ["0.0.0.0/0"],
            "layer4Configs": [{"ipProtocol": "tcp", "ports": [port]}],
        },
        **extra,
    }


def _hierarchical(number: str, parent: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    data = {
        "name": number,
        "shortName": f"policy-{number}",
        "parent": parent,
        "associations": [{"name": f"a-{number}", "attachmentTarget": parent}],
        "rules": rules,
    }
    ancestors = [parent] if parent == ORG else [parent, ORG]
    return _asset(
        f"//compute.googleapis.com/locations/global/firewallPolicies/{number}",
        "FirewallPolicy",
        data,
        ancestors,
    )


def _project(project: str, ancestors: list[str]) -> list[dict[str, Any]]:
    """A network, a VM on it in europe-west1 and a VPC rule opening SSH to everyone."""
    net = f"{API}projects/{project}/global/networks/net"
    return [
        _asset(
            f"//compute.googleapis.com/projects/{project}/global/networks/net",
            "Network",
            {"kind": "compute#network", "name": "net", "selfLink": net},
            ancestors,
        ),
        _asset(
            f"//compute.googleapis.com/projects/{project}/zones/europe-west1-b/instances/vm",
            "Instance",
            {
                "kind": "compute#instance",
                "name": "vm",
                "zone": f"{API}projects/{project}/zones/europe-west1-b",
                "status": "RUNNING",
                "networkInterfaces": [
                    {"network": net, "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "natIP": "1"}]}
                ],
            },
            ancestors,
        ),
        _asset(
            f"//compute.googleapis.com/projects/{project}/global/firewalls/ssh",
            "Firewall",
            {
                "kind": "compute#firewall",
                "name": "ssh",
                "network": net,
                "priority": 1000,
                "direction": "INGRESS",
                "sourceRanges": ["0.0.0.0/0"],
                "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
            },
            ancestors,
        ),
    ]


def _network_policy(project: str, name: str, region: str, rules: list[Any]) -> dict[str, Any]:
    scope = f"regions/{region}" if region else "global"
    data = {
        "name": name,
        "rules": rules,
        "associations": [
            {"name": "a", "attachmentTarget": f"{API}projects/{project}/global/networks/net"}
        ],
    }
    return _asset(
        f"//compute.googleapis.com/projects/{project}/{scope}/firewallPolicies/{name}",
        "FirewallPolicy",
        data,
        IN_FOLDER,
    )


def _findings(tmp_path: Path, assets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The port findings' details, by ``check:resource`` (the resource's name after
    ``projects/``)."""
    export = tmp_path / "export.ndjson"
    export.write_text("".join(json.dumps(a) + "\n" for a in assets))
    return {
        f.check.removeprefix("exposed-").removesuffix("-port")
        + ":"
        + f.resource.removeprefix("//compute.googleapis.com/projects/"): dict(f.details)
        for f in evaluate(load_offline([export]), SETTINGS)
        if f.check in ("exposed-admin-port", "exposed-database-port")
    }


def test_the_organization_decides_before_the_folder_and_the_folder_only_for_its_projects(
    tmp_path: Path,
) -> None:
    found = _findings(
        tmp_path,
        [
            # the folder's allow would open SSH, but the organization's deny comes first;
            # the folder's allow of RDP holds only in the folder's project
            _hierarchical("2", FOLDER, [_rule(10, "allow", "22"), _rule(20, "allow", "3389")]),
            _hierarchical("1", ORG, [_rule(500, "deny", "22")]),
            *_project("in-folder", IN_FOLDER),
            *_project("under-org", UNDER_ORG),
        ],
    )

    network = found.pop("admin:in-folder/global/networks/net")
    assert network["decided_by"] == {
        "layer": "hierarchical:firewallPolicies/2",
        "rule": "allow-3389",
        "rule_priority": 20,
        "action": "allow",
    }
    assert network["layers"][:2] == [
        "hierarchical:firewallPolicies/1",
        "hierarchical:firewallPolicies/2",
    ]
    assert found == {}  # SSH is denied everywhere; the RDP allow is not under-org's


def test_regional_policies_count_where_the_network_has_instances_and_targets_are_kept(
    tmp_path: Path,
) -> None:
    other = f"{API}projects/in-folder/global/networks/elsewhere"
    found = _findings(
        tmp_path,
        [
            *_project("in-folder", IN_FOLDER),
            _network_policy("in-folder", "west", "europe-west1", [_rule(10, "allow", "5900")]),
            _network_policy("in-folder", "east", "us-east1", [_rule(10, "allow", "5432")]),
            _network_policy(
                "in-folder",
                "global-one",
                "",
                [_rule(5, "deny", "22", targetResources=[other]), _rule(6, "allow", "3306")],
            ),
        ],
    )

    vnc = found["admin:in-folder/global/networks/net"]["decided_by"]
    assert vnc["layer"] == "regional:projects/in-folder/regions/europe-west1/firewallPolicies/west"
    mysql = found["database:in-folder/global/networks/net"]
    assert mysql["decided_by"]["rule"] == "allow-3306"
    assert mysql["ports"] == ["3306"]  # not 5432: us-east1 has no instance of the network
    assert "admin:in-folder/global/firewalls/ssh" in found  # the deny targets another network


def test_a_firewall_policy_asset_with_a_malformed_name_is_refused(tmp_path: Path) -> None:
    bad = _asset("//compute.googleapis.com/projects/p/global/things/x", "FirewallPolicy", {}, [])
    export = tmp_path / "bad.ndjson"
    export.write_text(json.dumps(bad) + "\n")

    with pytest.raises(InputError, match="no firewall policy name"):
        load_offline([export])


def test_assets_without_ancestors_take_their_project_assets(tmp_path: Path) -> None:
    bare = [{k: v for k, v in a.items() if k != "ancestors"} for a in _project("p", IN_FOLDER)]
    project = {
        "name": "//cloudresourcemanager.googleapis.com/projects/1001",
        "asset_type": "cloudresourcemanager.googleapis.com/Project",
        "resource": {"data": {"projectNumber": "1001", "projectId": "p"}},
        "ancestors": IN_FOLDER,
    }
    found = _findings(
        tmp_path, [_hierarchical("1", FOLDER, [_rule(5, "deny", "22")]), project, *bare]
    )

    assert found == {}  # the folder's deny reached project p through its project asset
