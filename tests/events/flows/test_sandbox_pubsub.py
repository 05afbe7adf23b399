"""The sandbox's GCP flow-log story through a log sink and a pull subscription (made with
Google's discovery clients): ``clamp events pull`` folds the entries into the aggregates,
and a second pull finds nothing new."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from typer.testing import CliRunner

from clamp.cli.main import app
from clamp.sandbox.flow_traffic import publish_gcp
from clamp.sandbox.server import Sandbox
from clamp.store import Store

PROD = "clamp-demo-prod"
TOPIC = f"projects/{PROD}/topics/flows"
SUBSCRIPTION = f"projects/{PROD}/subscriptions/flows-pull"


def test_flow_entries_routed_by_a_sink_are_pulled_into_the_aggregates(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    google: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "client_options": {"api_endpoint": sandbox.url},
        "static_discovery": True,
        "cache_discovery": False,
    }
    pubsub, logging = build("pubsub", "v1", **google), build("logging", "v2", **google)
    pubsub.projects().topics().create(name=TOPIC, body={}).execute()
    pubsub.projects().subscriptions().create(name=SUBSCRIPTION, body={"topic": TOPIC}).execute()
    sink = {
        "name": "flows",
        "destination": f"pubsub.googleapis.com/{TOPIC}",
        "filter": 'logName:"compute.googleapis.com%2Fvpc_flows"',
    }
    logging.projects().sinks().create(parent=f"projects/{PROD}", body=sink).execute()
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    publish_gcp(sandbox.state, sandbox.audit_logs.route, start, 2)
    (tmp_path / "clamp.toml").write_text("")
    env = {
        "CLAMP_SANDBOX_URL": sandbox.url,
        "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'clamp.db'}",
        "CLAMP_CONFIG": str(tmp_path / "clamp.toml"),
    }
    args = ["events", "pull", "--subscription", SUBSCRIPTION, "--once", "--format", "json"]
    first = CliRunner().invoke(app, [*args, "--max-messages", "1000"], env=env)
    assert first.exit_code == 0, first.output
    counts = json.loads(first.output)
    assert counts["received"] == counts["stored"] > 0 and counts["ignored"] == 0
    with Store.open(env["CLAMP_DATABASE_URL"]) as store:
        kept = store.flows.observed(since=start, direction=None)
    assert sum(a.flows for a in kept) == counts["stored"]
    assert {a.rule for a in kept} == {
        None
    }  # VPC Flow Logs name no rule; the sink took no firewall log
    assert any(
        a.port == 22 and a.resource_id and a.resource_id.endswith("/instances/web-1") for a in kept
    )
    again = json.loads(CliRunner().invoke(app, args, env=env).output)
    assert again["received"] == 0
