"""``clamp users`` and ``clamp serve`` as an operator runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from clamp.cli.main import app


def test_users_add_prints_a_token_that_the_service_accepts(tmp_path: Path) -> None:
    env = {"CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "CLAMP_ACTOR": "ops"}
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["users", "add", "alice", "--role", "remediator", "--password-stdin"],
        input="a long enough password\n",
        env=env,
    )
    assert added.exit_code == 0, added.output
    [line] = [x for x in added.output.splitlines() if x.startswith("CLAMP_TOKEN=")]
    token = line.split("=", 1)[1]
    again = runner.invoke(app, ["users", "add", "alice", "--role", "viewer"], env=env)
    assert again.exit_code == 1 and "exists already" in again.output
    bad = runner.invoke(app, ["users", "add", "bob", "--role", "king"], env=env)
    assert bad.exit_code == 1 and "unknown role" in bad.output
    short = runner.invoke(
        app,
        ["users", "add", "carl", "--role", "viewer", "--password-stdin"],
        input="short\n",
        env=env,
    )
    assert short.exit_code == 1 and "12 characters" in short.output
    listed = runner.invoke(app, ["users", "list", "--format", "json"], env=env)
    assert '"console": true' in listed.output and token not in listed.output

    served = subprocess.Popen(
        [sys.executable, "-m", "clamp", "serve", "--port", "0"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert served.stdout is not None
        first = served.stdout.readline().strip()
        assert first.startswith("CLAMP_URL=http://127.0.0.1:"), first
        url = first.split("=", 1)[1]
        with httpx.Client(base_url=url, timeout=10) as client:
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["roles"] == ["remediator"]
            assert client.get("/api/v1/findings").status_code == 401
        disabled = runner.invoke(app, ["users", "disable", "alice"], env=env)
        assert disabled.exit_code == 0
        with httpx.Client(base_url=url, timeout=10) as client:
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 401  # at once, in the running service
    finally:
        served.send_signal(signal.SIGTERM)
        _out, err = served.communicate(timeout=15)
    assert "Traceback" not in err
