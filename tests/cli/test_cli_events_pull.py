"""``clamp events pull`` end to end: a Pub/Sub topic, a pull subscription and a log sink
made on the sandbox with Google's discovery clients, a firewall opened to 0.0.0.0/0 with
google-cloud-compute; the command pulls the audit entries through the pubsub v1 discovery
client, stores them before acknowledging them, and processes them like a push (the
finding opens, the event rule closes the port). An unacknowledged message comes back
after its ack deadline, is counted as a duplicate, and acts no more."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1
from googleapiclient.discovery import build
from typer.testing import CliRunner

from clamp.cli.main import app
from clamp.model import ActionStatus, FindingStatus
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.store import Store

DEV = "clamp-demo-dev"
TOPIC = f"projects/{DEV}/topics/clamp-events"
SUBSCRIPTION = f"projects/{DEV}/subscriptions/clamp-pull"
RULES = {
    "rules": [
        {
            "name": "close-ssh-dev",
            "match": {"check": ["exposed-admin-port"], "scope": {"projects": [DEV]}},
            "action": "restrict_ingress",
            "mode": "auto",
            "trigger": "event",
        }
    ]
}


@pytest.fixture
def estate(tmp_path: Path) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    """A sandbox whose dev project routes its admin activity to a pull subscription, and
    the environment of a ``clamp`` using it."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(RULES))
    (tmp_path / "clamp.toml").write_text("")
    with Sandbox(load_state(None)) as sandbox:
        google: dict[str, Any] = {
            "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
            "client_options": {"api_endpoint": sandbox.url},
            "static_discovery": True,
            "cache_discovery": False,
        }
        pubsub, logging = build("pubsub", "v1", **google), build("logging", "v2", **google)
        pubsub.projects().topics().create(name=TOPIC, body={}).execute()
        made = (
            pubsub.projects()
            .subscriptions()
            .create(name=SUBSCRIPTION, body={"topic": TOPIC, "ackDeadlineSeconds": 10})
            .execute()
        )
        assert made["pushConfig"] == {} and made["ackDeadlineSeconds"] == 10
        sink = {
            "name": "clamp-audit",
            "destination": f"pubsub.googleapis.com/{TOPIC}",
            "filter": 'logName:"cloudaudit.googleapis.com%2Factivity"',
        }
        logging.projects().sinks().create(parent=f"projects/{DEV}", body=sink).execute()
        yield (
            sandbox,
            {
                "CLAMP_SANDBOX_URL": sandbox.url,
                "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
                "CLAMP_RULES": str(tmp_path / "rules.yaml"),
                "CLAMP_CONFIG": str(tmp_path / "clamp.toml"),
            },
        )


def _firewalls(sandbox: Sandbox) -> compute_v1.FirewallsClient:
    options: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": sandbox.url},
    }
    return compute_v1.FirewallsClient(**options)


def _open_ssh(sandbox: Sandbox, name: str) -> None:
    firewall = compute_v1.Firewall(
        name=name,
        network=f"https://www.googleapis.com/compute/v1/projects/{DEV}/global/networks/default",
        source_ranges=["0.0.0.0/0"],
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])],
    )
    firewalls = _firewalls(sandbox)
    op = firewalls.insert_unary(project=DEV, firewall_resource=firewall)
    options = {"credentials": AnonymousCredentials(), "transport": "rest"}  # type: ignore[no-untyped-call]
    compute_v1.GlobalOperationsClient(**options, client_options={"api_endpoint": sandbox.url}).wait(
        project=DEV, operation=op.name
    )


def _pull(env: dict[str, str]) -> Any:
    args = ["events", "pull", "--subscription", SUBSCRIPTION, "--once", "--format", "json"]
    return CliRunner().invoke(app, args, env=env)


def _counts(env: dict[str, str]) -> dict[str, int]:
    result = _pull(env)
    assert result.exit_code == 0, result.output
    counts: dict[str, int] = json.loads(result.stdout)
    return counts


def _resource(name: str) -> str:
    return f"//compute.googleapis.com/projects/{DEV}/global/firewalls/{name}"


def _actions_on(env: dict[str, str], name: str) -> list[tuple[str, ActionStatus]]:
    store = Store.open(env["CLAMP_DATABASE_URL"])
    return [(a.actor, a.status) for a in store.actions() if a.plan.resource == _resource(name)]


def _exposed(env: dict[str, str]) -> list[FindingStatus]:
    store = Store.open(env["CLAMP_DATABASE_URL"])
    return [
        f.status
        for f in store.findings()
        if f.finding.resource == _resource("pulled-ssh") and f.finding.check == "exposed-admin-port"
    ]


def test_pulled_audit_entries_open_the_finding_and_the_event_rule_closes_the_port(
    estate: tuple[Sandbox, dict[str, str]],
) -> None:
    sandbox, env = estate
    _open_ssh(sandbox, "pulled-ssh")

    first = _counts(env)

    assert first["received"] >= 1 and first["stored"] == first["received"]
    assert first["duplicates"] == 0 and first["acknowledged"] == first["received"]
    assert first["processed"] == 1  # the insert's two entries are one event
    # the pulled event opened the finding, the rule fixed it, verification resolved it
    assert _exposed(env) == [FindingStatus.RESOLVED], "the pulled event opened no finding"
    assert _actions_on(env, "pulled-ssh") == [("rule:close-ssh-dev", ActionStatus.VERIFIED)]
    assert _firewalls(sandbox).get(project=DEV, firewall="pulled-ssh").disabled
    # the fix's own write was logged too: pulled, re-read (still resolved), no action
    fix = _counts(env)
    assert fix["stored"] >= 1 and fix["acknowledged"] == fix["received"]
    assert _exposed(env) == [FindingStatus.RESOLVED]
    assert _actions_on(env, "pulled-ssh") == [("rule:close-ssh-dev", ActionStatus.VERIFIED)]
    assert _counts(env)["received"] == 0


def test_an_unacknowledged_message_comes_back_after_its_deadline_and_acts_once(
    estate: tuple[Sandbox, dict[str, str]],
) -> None:
    sandbox, env = estate
    fault = {"provider": "gcp", "method": "POST", "path": ":acknowledge", "status": 503}
    assert httpx.post(f"{sandbox.url}/_sandbox/faults", json=fault).status_code == 201
    _open_ssh(sandbox, "unacked-ssh")

    lost = _pull(env)

    assert lost.exit_code == 1
    assert len(lost.stderr.strip().splitlines()) == 1 and lost.stderr.startswith("error: ")
    assert _actions_on(env, "unacked-ssh") == [("rule:close-ssh-dev", ActionStatus.VERIFIED)]
    # before the deadline only the fix's own entries come: the lost ones are outstanding
    fix = _counts(env)
    assert fix["duplicates"] == 0 and fix["stored"] == fix["received"] >= 1
    real = time.monotonic
    sandbox.pubsub.pulls.clock = lambda: real() + 11  # past the 10 s ack deadline
    again = _counts(env)
    # the insert's entries again (the first and last of its operation), already stored
    assert again["received"] == again["duplicates"] >= 1 and again["stored"] == 0
    assert again["acknowledged"] == again["received"] and again["processed"] == 0
    assert _actions_on(env, "unacked-ssh") == [("rule:close-ssh-dev", ActionStatus.VERIFIED)]
    assert _counts(env)["received"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--subscription", "clamp-pull"],
        ["--subscription", f"projects/{DEV}/topics/clamp-events"],
        ["--subscription", SUBSCRIPTION, "--max-messages", "0"],
    ],
)
def test_bad_input_is_one_line_and_pulls_nothing(
    estate: tuple[Sandbox, dict[str, str]], args: list[str]
) -> None:
    sandbox, env = estate
    _open_ssh(sandbox, "kept-ssh")

    result = CliRunner().invoke(app, ["events", "pull", *args, "--once"], env=env)

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    assert _counts(env)["stored"] >= 1  # the messages were left for a good pull
