"""One estate for the output tests: the demo sandbox scanned, an SSH fix applied and
undone, a bucket's versioning turned on, scanned again, and a VM quarantined for an
incident — the tests only read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from report_cli import Cli

GCE = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The scanned demo estate with a fix, its undo, a storage fix and a playbook run."""
    home = tmp_path_factory.mktemp("outputs")
    db: Path = home / "clamp.db"
    (home / "clamp.toml").write_text("")
    with Sandbox(load_state(None)) as sandbox:
        cli = Cli(
            {
                "CLAMP_SANDBOX_URL": sandbox.url,
                "CLAMP_DATABASE_URL": f"sqlite:///{db}",
                "CLAMP_ACTOR": "outputs-tester",
                "CLAMP_CONFIG": str(home / "clamp.toml"),
            }
        )
        assert cli("scan").exit_code == 0
        findings = cli.json("findings", "--format", "json")
        ssh = next(
            f
            for f in findings
            if f["check"] == "exposed-admin-port"
            and f["provider"] == "azure"
            and "22" in f["details"]["ports"]
        )
        bucket = next(
            f
            for f in findings
            if f["check"] == "storage-versioning-disabled" and f["provider"] == "gcp"
        )
        fixed = cli.json("fix", ssh["id"], "--yes", "--format", "json")
        assert cli("undo", fixed["id"], "--yes").exit_code == 0
        assert cli("fix", bucket["id"], "--yes").exit_code == 0
        assert cli("scan").exit_code == 0  # the bucket's finding is resolved
        incident = cli.json(
            "incident", "open", "--title", "miner", "--resource", GCE, "--format", "json"
        )["id"]
        contain = ("respond", "quarantine-network-only", "--incident", incident, "--target", GCE)
        params = ("--param", "forensics_cidr=10.99.0.0/24", "--yes")
        assert cli(*contain, *params).exit_code == 0
        yield cli
