"""``clamp fix`` on a network plan with flow history: the dry run lists the observed flows
the change would cut, and ``--allow-observed`` keeps exactly the clients seen (minus
threat-listed ones), applied through the real drivers against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clamp.cli.context import Context
from clamp.cli.main import app
from clamp.events.flows.model import FlowAggregate
from clamp.events.flows.verdict import admits
from clamp.model import Provider, Resource, ResourceType
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from events.flows.history import ListHistory, flow

CLIENT, THREAT, SCANNER = "81.2.69.10", "185.220.101.7", "45.9.1.1"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(load_state(None)) as running:
        yield running


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    threats = tmp_path / "threats.txt"
    threats.write_text("# a threat list\n185.220.101.0/24\n")
    config = tmp_path / "clamp.toml"
    config.write_text(f'[flows]\nthreat_lists = ["{threats}"]\n')
    return {
        "CLAMP_SANDBOX_URL": sandbox.url,
        "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "CLAMP_ACTOR": "cli-tester",
        "CLAMP_CONFIG": str(config),
    }


def clamp(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def finding(env: dict[str, str], check: str, suffix: str) -> dict[str, Any]:
    assert clamp(env, "scan").exit_code == 0
    found = json.loads(clamp(env, "findings", "--format", "json").stdout)
    return next(f for f in found if f["check"] == check and f["resource"].endswith(suffix))


def with_history(monkeypatch: pytest.MonkeyPatch, flows: list[FlowAggregate]) -> None:
    """The seam ``clamp fix`` reads flow history through (the store's, once merged)."""
    monkeypatch.setattr(Context, "flow_history", property(lambda _self: ListHistory(flows)))


def traffic(to: dict[str, Any], port: int) -> list[FlowAggregate]:
    """A client, a threat-listed source and one internal host using the exposed port."""
    reach = to["details"]["reaches"][0]
    resource = reach.get("nic") or reach.get("instance")
    return [
        flow(CLIENT, reach["addresses"][0], port, resource=resource, flows=12),
        flow(THREAT, reach["addresses"][0], port, resource=resource, flows=400),
        flow("10.1.0.5", reach["addresses"][0], port, resource=resource),
    ]


def nsg(sandbox: Sandbox, name: str) -> Resource:
    state = sandbox.state.to_scenario()["azure"]
    objects = [o for objs in state.values() for o in objs]
    return next(
        r
        for r in resources_from_arm(objects)
        if r.type == ResourceType.AZURE_NSG and r.name == name
    )


def test_dry_run_json_lists_the_flows_the_fix_would_cut_by_class(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = finding(env, "exposed-admin-port", "/frontend-subnet-nsg")
    with_history(monkeypatch, traffic(target, 22))

    result = clamp(env, "fix", target["id"], "--dry-run", "--format", "json")

    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    cut = {f["source"]: f for f in plan["observed_flows"]}
    # the rule turns Deny at its priority (nothing but the internet was in it), which also
    # cuts the internal host that reached SSH through it before AllowVnetInBound
    assert set(cut) == {CLIENT, THREAT, "10.1.0.5"}
    assert cut["10.1.0.5"]["class"] == "organization"
    assert set(cut[CLIENT]) == {
        "source",
        "port",
        "protocol",
        "decision",
        "class",
        "flows",
        "last_seen",
    }
    assert (cut[CLIENT]["class"], cut[CLIENT]["flows"]) == ("internet", 12)
    assert cut[THREAT]["class"] == "threat"
    assert plan["observed_by_class"]["threat"]["flows"] == 400
    assert plan["coverage"]["since"] < plan["coverage"]["until"]
    assert any("not proof" in c for c in plan["observed_caveats"])


def test_without_flow_logs_the_preview_says_so(env: dict[str, str]) -> None:
    target = finding(env, "exposed-admin-port", "/frontend-subnet-nsg")

    table = clamp(env, "fix", target["id"], "--dry-run")
    plan = json.loads(clamp(env, "fix", target["id"], "--dry-run", "--format", "json").stdout)

    assert "no flow logs ingested" in table.stdout
    assert plan["observed_flows"] == [] and plan["observed_note"].startswith("no flow logs")


def test_allow_observed_keeps_the_clients_seen_and_cuts_threats_on_azure(
    env: dict[str, str], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = finding(env, "exposed-admin-port", "/frontend-subnet-nsg")
    with_history(monkeypatch, traffic(target, 22))

    fixed = clamp(env, "fix", target["id"], "--allow-observed", "--yes")

    assert fixed.exit_code == 0, fixed.output
    assert "1 threat-listed source(s) are cut" in fixed.stdout
    rules = nsg(sandbox, "frontend-subnet-nsg").facets["rules"]
    assert admits(rules, Provider.AZURE, CLIENT, 22, "tcp")
    assert admits(rules, Provider.AZURE, "10.1.0.5", 22, "tcp")
    assert not admits(rules, Provider.AZURE, THREAT, 22, "tcp")
    assert not admits(rules, Provider.AZURE, SCANNER, 22, "tcp")


def test_allow_observed_keeps_the_clients_seen_on_a_gcp_firewall(
    env: dict[str, str], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = finding(env, "exposed-admin-port", "/allow-ssh-web")
    with_history(monkeypatch, traffic(target, 22))

    fixed = clamp(env, "fix", target["id"], "--allow-observed", "--yes", "--format", "json")

    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.stdout)["status"] == "verified"
    state = sandbox.state.to_scenario()["gcp"]
    firewalls = [o for objs in state.values() for o in objs if o.get("kind") == "compute#firewall"]
    rules = [
        rule
        for r in resources_from_compute("clamp-demo-prod", firewalls)
        if r.name.startswith("allow-ssh-web")
        for rule in r.facets["rules"]
    ]
    assert admits(rules, Provider.GCP, CLIENT, 22, "tcp")
    assert not admits(rules, Provider.GCP, THREAT, 22, "tcp")
    assert not admits(rules, Provider.GCP, SCANNER, 22, "tcp")


def test_allow_observed_without_flow_logs_is_one_line_and_changes_nothing(
    env: dict[str, str],
) -> None:
    target = finding(env, "exposed-admin-port", "/frontend-subnet-nsg")

    result = clamp(env, "fix", target["id"], "--allow-observed", "--yes")

    assert result.exit_code != 0
    assert "no flow logs ingested" in result.stderr and result.stderr.strip().count("\n") == 0
    assert json.loads(clamp(env, "actions", "--format", "json").stdout) == []
