"""Pull mode under a backlog: how fast ``clamp events pull`` drains a pull subscription.

``python benchmarks/bench_events_pull.py [--firewalls 100] [--max-messages 1000]`` runs
the sandbox in this process, makes a topic, a pull subscription and a log sink through
Google's discovery clients, writes ``--firewalls`` quiet firewall rules through
google-cloud-compute (each logs two audit entries: the first and last of its operation),
then runs ``clamp events pull --once`` until the subscription is empty and prints:

- drain: messages pulled, stored, acknowledged and processed (each re-reads its firewall
  on the sandbox), and messages a second end to end;
- duplicates: a second pull subscription on the same topic got the same audit entries
  (in other messages); drained after the first, they are all counted as duplicates and
  none is processed again — and messages a second.

Nothing here is timed by a test; the figures are for the README.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1
from googleapiclient.discovery import build
from typer.testing import CliRunner

from clamp.cli.main import app
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

PROJECT = "clamp-demo-dev"
TOPIC = f"projects/{PROJECT}/topics/bench"
SUBSCRIPTION = f"projects/{PROJECT}/subscriptions/bench-pull"
SECOND = f"projects/{PROJECT}/subscriptions/bench-pull-2"


def _setup(url: str) -> None:
    google: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "client_options": {"api_endpoint": url},
        "static_discovery": True,
        "cache_discovery": False,
    }
    pubsub, logging = build("pubsub", "v1", **google), build("logging", "v2", **google)
    pubsub.projects().topics().create(name=TOPIC, body={}).execute()
    for name in (SUBSCRIPTION, SECOND):
        pubsub.projects().subscriptions().create(name=name, body={"topic": TOPIC}).execute()
    sink = {"name": "bench", "destination": f"pubsub.googleapis.com/{TOPIC}"}
    logging.projects().sinks().create(parent=f"projects/{PROJECT}", body=sink).execute()


def _write_firewalls(url: str, n: int) -> None:
    options: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": url},
    }
    firewalls = compute_v1.FirewallsClient(**options)
    operations = compute_v1.GlobalOperationsClient(**options)
    network = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/default"
    for i in range(n):
        rule = compute_v1.Firewall(
            name=f"bench-quiet-{i}",
            network=network,
            source_ranges=["10.0.0.0/8"],
            allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["443"])],
        )
        op = firewalls.insert_unary(project=PROJECT, firewall_resource=rule)
        operations.wait(project=PROJECT, operation=op.name)


def _drain(
    env: dict[str, str], subscription: str, max_messages: int
) -> tuple[dict[str, int], float]:
    args = ["events", "pull", "--subscription", subscription, "--once", "--format", "json"]
    args += ["--max-messages", str(max_messages)]
    total: dict[str, int] = {}
    started = time.perf_counter()
    while True:
        result = CliRunner().invoke(app, args, env=env)
        if result.exit_code != 0:
            sys.exit(f"clamp events pull failed: {result.output}")
        counts = json.loads(result.stdout)
        for name, value in counts.items():
            total[name] = total.get(name, 0) + value
        if not counts["received"]:
            return total, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firewalls", type=int, default=100)
    parser.add_argument("--max-messages", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Sandbox(load_state(None)) as sandbox:
        (Path(tmp) / "clamp.toml").write_text("")
        env = {
            "CLAMP_SANDBOX_URL": sandbox.url,
            "CLAMP_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "CLAMP_CONFIG": str(Path(tmp) / "clamp.toml"),
            "CLAMP_RULES": str(Path(tmp) / "no-rules.yaml"),
        }
        _setup(sandbox.url)
        _write_firewalls(sandbox.url, options.firewalls)
        for label, subscription in (("drain", SUBSCRIPTION), ("duplicates", SECOND)):
            counts, seconds = _drain(env, subscription, options.max_messages)
            rate = counts["received"] / seconds
            print(f"{label}: {counts} in {seconds:.2f} s: {rate:.0f} messages/s")


if __name__ == "__main__":
    main()
