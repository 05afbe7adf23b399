"""``clamp flows ingest``: a summary of what was ingested, one line and exit 1 on a bad
file, exit 2 on a bad invocation; and the ``[flows]`` config table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clamp.cli.main import app
from clamp.errors import ConfigError
from clamp.events.flows.config import FlowsConfig
from clamp.sandbox.flow_traffic import publish_azure
from clamp.sandbox.server import Sandbox

SAMPLE = (
    Path(__file__).resolve().parents[4]
    / "shared/data/flowlogs/azure-vnet-flowlog-v4.msdocs-sample.json"
)


def _env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "clamp.toml"
    config.write_text("[flows]\nretention_days = 100000\n")
    return {"CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'clamp.db'}", "CLAMP_CONFIG": str(config)}


@pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} (shared data) is absent")
def test_ingest_prints_a_summary_and_skips_what_it_saw(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(
        app, ["flows", "ingest", str(SAMPLE), "--format", "json"], env=_env(tmp_path)
    )
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert (summary["files"], summary["tuples"], summary["new_aggregates"]) == (1, 19, 12)
    assert summary["first"].startswith("2022-09-14T08:59") and summary["coverage"][0].endswith(
        "/myVNet"
    )
    again = runner.invoke(app, ["flows", "ingest", str(SAMPLE)], env=_env(tmp_path))
    assert again.exit_code == 0 and "skipped" in again.output


def test_a_bad_file_is_one_line_and_exit_1_and_no_input_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "PT1H.json"
    bad.write_text(
        '{"records": [{"flowRecords": {"flows": [{"flowGroups": [{"flowTuples": ["1,2"]}]}]}}]}'
    )
    runner = CliRunner()
    result = runner.invoke(app, ["flows", "ingest", str(bad)], env=_env(tmp_path))
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "PT1H.json: record 1" in result.output
    assert runner.invoke(app, ["flows", "ingest"], env=_env(tmp_path)).exit_code == 2
    both = runner.invoke(
        app, ["flows", "ingest", str(bad), "--azure-storage", "a"], env=_env(tmp_path)
    )
    assert both.exit_code == 2


def test_the_flows_table_is_checked() -> None:
    config = FlowsConfig.from_mapping(
        {"bucket": "5m", "retention_days": 7, "schedule": "15m", "storage_accounts": ["acct"]}, "c"
    )
    assert (config.bucket.total_seconds(), config.retention_days, config.storage_accounts) == (
        300,
        7,
        ("acct",),
    )
    assert FlowsConfig.from_mapping({"workers": 3}, "c").workers == 3
    bad_tables = (
        {"bucket": "2d"},
        {"retention_days": 0},
        {"storage_accounts": "acct"},
        {"nope": 1},
        {"workers": -1},
        {"workers": True},
    )
    for bad in bad_tables:
        with pytest.raises(ConfigError, match="flows"):
            FlowsConfig.from_mapping(bad, "c")


def test_ingest_from_a_storage_account_reads_new_blocks_only(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    publish_azure(sandbox.state, sandbox.blobs, "clampflowlogs", start, 2)
    env = {**_env(tmp_path), "CLAMP_SANDBOX_URL": sandbox.url}
    args = ["flows", "ingest", "--azure-storage", "clampflowlogs", "--format", "json"]
    first = CliRunner().invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary["account"] == "clampflowlogs" and summary["tuples"] > 0 and summary["files"] > 0
    again = json.loads(CliRunner().invoke(app, args, env=env).output)
    assert (again["tuples"], again["files"]) == (0, 0)
