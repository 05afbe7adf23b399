"""Offline imports of parts of one estate merge, in any order and in one go: a bucket meets
its IAM policy exported apart, and an import never resolves what it did not cover."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clamp.cli.main import app

BUCKET = "//storage.googleapis.com/media-exports"
RESOURCES = [  # as `gcloud asset export --content-type=resource` writes them (NDJSON)
    {
        "name": BUCKET,
        "asset_type": "storage.googleapis.com/Bucket",
        "resource": {
            "parent": "//cloudresourcemanager.googleapis.com/projects/4711",
            "data": {
                "kind": "storage#bucket",
                "name": "media-exports",
                "id": "media-exports",
                "projectNumber": "4711",
                "versioning": {"enabled": False},
                "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
            },
        },
    },
    {
        "name": "//compute.googleapis.com/projects/media-prod/global/firewalls/allow-ssh",
        "asset_type": "compute.googleapis.com/Firewall",
        "resource": {
            "data": {
                "name": "allow-ssh",
                "network": "https://www.googleapis.com/compute/v1/projects/media-prod/global/networks/default",
                "direction": "INGRESS",
                "priority": 1000,
                "sourceRanges": ["0.0.0.0/0"],
                "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
            }
        },
    },
]
POLICIES = [  # `--content-type=iam-policy`: no parent, no data
    {
        "name": BUCKET,
        "asset_type": "storage.googleapis.com/Bucket",
        "iam_policy": {
            "bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]
        },
    }
]


def _write(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


@pytest.fixture
def exports(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "exports"
    folder.mkdir()
    return _write(folder / "resources.json", RESOURCES), _write(folder / "policies.json", POLICIES)


def _run(tmp_path: Path, *inputs: list[Path]) -> dict[str, str]:
    """Import each list of paths in turn; every finding's check and status afterwards."""
    env = {"CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'clamp.db'}", "CLAMP_CONFIG": ""}
    runner = CliRunner()
    for paths in inputs:
        args = [a for p in paths for a in ("--input", str(p))]
        result = runner.invoke(app, ["scan", *args], env=env)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
    listed = runner.invoke(app, ["findings", "--format", "json"], env=env)
    return {f"{f['check']} {f['resource']}": f["status"] for f in json.loads(listed.stdout)}


def test_every_order_and_one_go_give_the_same_open_findings(
    tmp_path: Path, exports: tuple[Path, Path]
) -> None:
    resources, policies = exports
    orders = {
        "iam first": _run(tmp_path / "a", [policies], [resources]),
        "resources first": _run(tmp_path / "b", [resources], [policies]),
        "two inputs": _run(tmp_path / "c", [resources, policies]),
        "a folder": _run(tmp_path / "d", [resources.parent]),
    }

    expected = orders["two inputs"]
    assert f"storage-public-access {BUCKET}" in expected  # the policy met its bucket
    assert f"storage-versioning-disabled {BUCKET}" in expected
    assert any(k.startswith("exposed-admin-port ") for k in expected)
    assert set(expected.values()) == {"open"}
    for name, found in orders.items():
        assert found == expected, name


def test_an_import_of_policies_alone_resolves_nothing_it_did_not_cover(
    tmp_path: Path, exports: tuple[Path, Path]
) -> None:
    resources, policies = exports
    before = _run(tmp_path, [resources])

    after = _run(tmp_path, [policies])

    assert {k: v for k, v in after.items() if k in before} == before  # nothing resolved
    assert after[f"storage-public-access {BUCKET}"] == "open"


PROJECT = {  # a project asset: CAI names it by number, its data gives the id too
    "name": "//cloudresourcemanager.googleapis.com/projects/4711",
    "asset_type": "cloudresourcemanager.googleapis.com/Project",
    "resource": {"data": {"projectNumber": "4711", "projectId": "media-prod"}},
    "iam_policy": {"bindings": [{"role": "roles/owner", "members": ["user:ana@example.com"]}]},
}


def test_importing_the_same_export_again_keeps_one_of_each_resource(tmp_path: Path) -> None:
    export = _write(tmp_path / "all.json", [*RESOURCES, PROJECT])
    env = {"CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'clamp.db'}", "CLAMP_CONFIG": ""}
    runner = CliRunner()

    first = runner.invoke(app, ["scan", "--input", str(export)], env=env)
    again = runner.invoke(app, ["scan", "--input", str(export)], env=env)

    assert first.exit_code == again.exit_code == 0, again.output
    # the project's policy, filed under the project's id, and the firewall are not doubled
    assert "3 resource(s)" in first.output
    assert "3 resource(s)" in again.output
