"""Rules ``on: signal``: a brute force on an exposed VM opens an incident with the evidence
and contains the VM (pre-approved), or queues the run for a second person; caps, open
incidents and internal-only traffic leave VMs alone."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from clamp.actions.engine import ActionEngine
from clamp.automation.signal_rules import SignalRunner, parse_signal_rules
from clamp.errors import InputError
from clamp.events.flows.classify import Classifier
from clamp.events.flows.correlate import correlate
from clamp.events.flows.model import FlowAggregate
from clamp.events.flows.options import FlowOptions
from clamp.events.flows.signals import Signal
from clamp.model import Outcome, Provider, RunStatus
from clamp.response import Responder
from clamp.roles import Roles
from events.flows.history import NOW, ListHistory, flow
from rig import Rig

WEB1 = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"
TEAM = {"ross": "responder", "abe": "approver"}


@pytest.fixture
def rig(demo_rig: Rig) -> Rig:
    settings = replace(demo_rig.settings, roles=Roles.from_mapping(TEAM, "clamp.toml"))
    demo_rig.settings = settings
    demo_rig.engine = ActionEngine(demo_rig.store, demo_rig.engine.drivers, settings)
    return demo_rig


def brute_force(address: str = "10.128.0.11", resource: str = WEB1) -> list[FlowAggregate]:
    return [
        flow(
            "45.9.1.1",
            address,
            resource=resource,
            flows=300,
            provider=Provider.GCP,
            ago=timedelta(hours=3),
        ),
        flow("45.9.1.1", address, resource=resource, bytes_received=800_000, provider=Provider.GCP),
    ]


def signals_of(rig: Rig, flows: list[FlowAggregate]) -> list[Signal]:
    finding = rig.finding(Provider.GCP, "exposed-admin-port", "allow-ssh-web").finding
    options = FlowOptions()
    return correlate([finding], ListHistory(flows), Classifier(), options, NOW).signals


def rules(**fields: Any) -> list[Any]:
    rule = {
        "name": "contain-brute-force",
        "on": "signal",
        "match": {"signal": ["success-after-failures"], "check": "exposed-admin-port"},
        "playbook": "contain-compromised-vm",
        **fields,
    }
    return parse_signal_rules({"rules": [rule]}, "rules.yaml", {})


def test_a_pre_approved_rule_opens_an_incident_and_contains_the_vm(rig: Rig) -> None:
    fired = signals_of(rig, brute_force())
    runner = SignalRunner(Responder(rig.store, rig.engine, rig.settings))

    [done] = runner.run(rules(pre_approved=True), fired, actor="ross")

    assert done.outcome == Outcome.APPLIED, done.reason
    run = rig.store.incidents.run(str(done.run))
    assert run.status == RunStatus.SUCCEEDED and run.target == WEB1
    web1 = next(o for o in rig.state()["gcp"]["clamp-demo-prod"] if o.get("name") == "web-1")
    assert web1["status"] in ("TERMINATED", "STOPPING")
    entries = [
        e for e in rig.store.audit.entries() if e.event in ("incident.opened", "run.pre-approved")
    ]
    opened = next(e for e in entries if e.event == "incident.opened")
    assert opened.payload["rule"] == "contain-brute-force"
    assert {s["kind"] for s in opened.payload["evidence"]} >= {"success-after-failures"}
    assert any(
        e.event == "run.pre-approved" and e.payload["rule"] == "contain-brute-force"
        for e in entries
    )


def test_without_pre_approval_the_run_waits_for_a_second_person(rig: Rig) -> None:
    fired = signals_of(rig, brute_force())
    runner = SignalRunner(Responder(rig.store, rig.engine, rig.settings))

    [done] = runner.run(rules(), fired, actor="ross")

    assert done.outcome == Outcome.QUEUED
    assert rig.store.incidents.run(str(done.run)).status == RunStatus.AWAITING_APPROVAL
    assert [a.subject for a in rig.store.incidents.approvals()] == [done.run]
    # the incident stays open, so the next pass does not open a second one
    [again] = runner.run(rules(), fired, actor="ross")
    assert again.outcome == Outcome.SKIPPED and "still open" in again.reason


def test_the_per_run_cap_holds_across_vms(rig: Rig) -> None:
    fired = signals_of(rig, brute_force()) + signals_of(
        rig, brute_force("10.128.0.12", WEB1.replace("web-1", "web-2"))
    )
    runner = SignalRunner(Responder(rig.store, rig.engine, rig.settings))

    done = runner.run(rules(limits={"max_actions_per_run": 1}), fired, actor="ross")

    assert [d.outcome for d in done] == [Outcome.QUEUED, Outcome.SKIPPED]
    assert "1 per run" in done[1].reason


def test_internal_only_traffic_opens_nothing(rig: Rig) -> None:
    internal = [flow("10.128.0.40", "10.128.0.11", resource=WEB1, flows=500, provider=Provider.GCP)]
    assert signals_of(rig, internal) == []
    runner = SignalRunner(Responder(rig.store, rig.engine, rig.settings))
    assert runner.run(rules(), [], actor="ross") == []
    assert rig.store.incidents.incidents() == []


def test_a_bad_signal_rule_is_refused_at_load() -> None:
    with pytest.raises(InputError, match=r"match\.signal"):
        rules(match={"signal": ["port-knock"]})
    with pytest.raises(InputError, match="field playbook"):
        rules(playbook="no-such-playbook")


def test_the_readme_signal_rule_and_flows_table_are_valid() -> None:
    text = (Path(__file__).parents[2] / "README.md").read_text()
    section = text[text.index("## Flow signals") :].split("\n## ", 1)[0]
    blocks = dict(re.findall(r"```(yaml|toml)\n(.*?)```", section, re.S))

    [rule] = parse_signal_rules(yaml.safe_load(blocks["yaml"]), "README", {"non-prod": ()})
    options = FlowOptions.from_mapping(tomllib.loads(blocks["toml"])["flows"], "README")

    assert rule.pre_approved and rule.playbook.name == "contain-compromised-vm"
    assert rule.limits.per_run == 1 and rule.stage == "non-prod"
    assert options.preview_days == 14 and options.partners == {"acme": ("93.184.216.0/24",)}
