"""Every command, without credentials and without a sandbox, fails with one clear line.

The Typer app is walked, so a new command is covered without editing this test. Each runs
with minimal valid arguments in a child process whose environment has no AZURE_* or
GOOGLE_* variables, HOME and the XDG directories in a temporary directory, and either no
CLAMP_SANDBOX_URL or one pointing at a closed port. Credential lookups fail fast there:
azure-identity's IMDS probe has a 1 s connect timeout and no retries
(azure/identity/_credentials/imds.py), and google-auth's metadata server is pointed at the
closed port with GCE_METADATA_HOST / GCE_METADATA_IP and probed once, not three times with
backoff (GCE_METADATA_DETECT_RETRIES; google/auth/environment_vars.py).
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clamp.cli.main import app

WALK = Path(__file__).with_name("walk.py")
_spec = importlib.util.spec_from_file_location("clamp_cli_walk", WALK)
assert _spec is not None and _spec.loader is not None
walk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(walk)
command_paths = walk.command_paths
SRC = Path(__file__).parents[2] / "src"
NEEDS_NO_CLOUD = {
    ("actions",),
    ("approvals", "list"),
    ("audit", "verify"),
    ("checks",),
    ("compliance", "report"),
    ("events", "stats"),
    ("findings",),
    ("incident", "list"),
    ("incident", "open"),
    ("notify", "failed"),
    ("notify", "prune"),
    ("notify", "send"),
    ("permissions",),
    ("users", "list"),
}
"""Commands that legitimately succeed on an empty store with no cloud at all."""
NOT_WALKED = {
    ("demo",): "runs the built-in sandbox end to end (needs no cloud)",
    ("sandbox", "serve"): "serves until stopped (tests/cli/test_cli.py drives it)",
    ("serve",): "serves until stopped (tests/cli/test_cli_service.py drives it)",
}
PATHS = [p for p in command_paths(app) if p not in NOT_WALKED]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bare_env(home: Path, port: int, sandbox: bool) -> dict[str, str]:
    env = {
        "PATH": str(Path(sys.executable).parent),  # no `az`, `gcloud` or `azd` to ask
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PYTHONPATH": f"{SRC}{':'}{WALK.parent}",
        "GCE_METADATA_HOST": f"127.0.0.1:{port}",
        "GCE_METADATA_IP": f"127.0.0.1:{port}",
        "GCE_METADATA_DETECT_RETRIES": "1",
    }
    if sandbox:
        env["CLAMP_SANDBOX_URL"] = f"http://127.0.0.1:{port}"
    return env


@pytest.fixture(scope="module", params=["no sandbox", "sandbox on a closed port"])
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, ...], dict[str, Any]]]:
    home = tmp_path_factory.mktemp("home")
    env = bare_env(home, closed_port(), sandbox=request.param != "no sandbox")
    done = subprocess.run(
        [sys.executable, str(WALK)],
        input=json.dumps(PATHS),
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    yield {tuple(r["path"]): r for r in results}


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_every_command_without_cloud_is_one_clear_line(
    outcomes: dict[tuple[str, ...], dict[str, Any]], path: tuple[str, ...]
) -> None:
    result = outcomes[path]
    output = result["stdout"] + result["stderr"]

    assert result["exception"] is None, result
    assert "Traceback" not in output
    assert result["exit_code"] != 2, f"the walk's arguments are not valid: {result}"
    if path in NEEDS_NO_CLOUD:
        assert result["exit_code"] == 0, result
        return
    assert result["exit_code"] == 1, result
    lines = result["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result


def test_the_walk_covers_every_command_the_app_has() -> None:
    assert {("scan",), ("checks",), ("permissions",), ("rules", "run")} <= set(PATHS)
    assert set(NOT_WALKED) <= set(command_paths(app))


def test_verbose_shows_the_cause_chain_one_cause_per_line(tmp_path: Path) -> None:
    env = {
        "CLAMP_SANDBOX_URL": f"http://127.0.0.1:{closed_port()}",
        "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }

    quiet = CliRunner().invoke(app, ["scan", "--provider", "gcp"], env=env)
    verbose = CliRunner().invoke(app, ["--verbose", "scan", "--provider", "gcp"], env=env)

    assert quiet.exit_code == verbose.exit_code == 1
    assert quiet.stderr.strip().count("\n") == 0 and quiet.stderr.startswith("error: ")
    first, *causes = verbose.stderr.strip().splitlines()
    assert first == quiet.stderr.strip()
    assert causes and all(line.startswith("  caused by ") for line in causes)
    assert any("clamp.errors.CloudUnavailable" in line for line in causes)
    assert "Traceback" not in verbose.output
