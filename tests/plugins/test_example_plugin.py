"""The example plugin (examples/clamp-example-plugin): discovered through the
``clamp.intents`` entry point group, then planned, applied, verified and undone through the
real Google Cloud SDK against the sandbox.

The plugin must be installed (``make`` does it; or ``pip install -e
examples/clamp-example-plugin``)."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pytest

import clamp.actions  # noqa: F401  (loads the plugins)
from clamp.actions.interface import INTENTS
from clamp.actions.plugins import _load, load_plugins
from clamp.errors import ConfigError, InputError, PlanRefused
from clamp.model import ActionStatus, ChangeOp, FindingStatus, Provider
from rig import Rig

INTENT = "disable_firewall_rule"
PROJECT = "clamp-demo-prod"


@pytest.fixture
def rig(demo_rig: Rig) -> Rig:
    return demo_rig


def _firewall(rig: Rig, name: str) -> dict[str, Any]:
    return dict(
        next(
            o
            for o in rig.state()["gcp"][PROJECT]
            if o.get("kind") == "compute#firewall" and o["name"] == name
        )
    )


def test_the_plugin_intent_is_discovered_through_its_entry_point() -> None:
    points = {p.name: p.value for p in entry_points(group="clamp.intents")}

    assert points.get(INTENT) == "clamp_example_plugin:DisableFirewallRule", (
        "pip install -e examples/clamp-example-plugin"
    )
    assert INTENT in INTENTS
    assert INTENTS.get(INTENT).__module__ == "clamp_example_plugin"
    assert load_plugins() == [], "loading the plugins again registers nothing twice"


def test_a_gcp_exposed_port_plans_one_update_that_only_disables_the_rule(rig: Rig) -> None:
    record = rig.finding(Provider.GCP, "exposed-admin-port", "allow-ssh-web")

    plan = rig.engine.plan(record.finding.id, intent=INTENT, params={"reason": "INC-42"})

    [change] = plan.changes
    assert change.op == ChangeOp.UPDATE
    assert change.target == record.finding.resource
    assert change.type == "compute.googleapis.com/Firewall"
    assert change.api_call == "FirewallsClient.update_unary"
    assert change.before == _firewall(rig, "allow-ssh-web")
    assert change.after == {**change.before, "disabled": True}
    assert change.after["description"] == "SSH for ops, HTTPS for users"
    assert "INC-42" in plan.summary
    assert plan.reversible
    assert "every source and port" in plan.blast_radius
    assert "tcp:22,443 from 0.0.0.0/0" in plan.blast_radius
    assert plan.alternatives == ("restrict_ingress",)


def test_apply_disables_the_firewall_and_undo_restores_it_exactly(rig: Rig) -> None:
    record = rig.finding(Provider.GCP, "exposed-admin-port", "allow-ssh-web")
    before = _firewall(rig, "allow-ssh-web")
    estate = rig.state()

    action = rig.engine.apply(rig.engine.plan(record.finding.id, intent=INTENT), actor="tester")

    assert action.status == ActionStatus.VERIFIED, action.result
    assert _firewall(rig, "allow-ssh-web") == {**before, "disabled": True}
    rig.scan()
    assert rig.store.finding(record.finding.id).status == FindingStatus.RESOLVED

    rig.engine.undo(action.id, actor="tester")

    assert _firewall(rig, "allow-ssh-web") == before
    assert rig.state() == estate, "nothing else in either cloud changed"


def test_an_azure_finding_is_refused_and_nothing_changes(rig: Rig) -> None:
    record = rig.finding(Provider.AZURE, "exposed-admin-port", "web-nsg")
    before = rig.state()

    with pytest.raises(PlanRefused, match="Google Cloud VPC firewall") as refused:
        rig.engine.plan(record.finding.id, intent=INTENT)

    assert "--intent restrict_ingress" in str(refused.value)
    assert rig.state() == before
    assert rig.store.actions() == []


def test_an_already_disabled_rule_is_refused(rig: Rig) -> None:
    record = rig.finding(Provider.GCP, "exposed-admin-port", "allow-ssh-web")
    with rig.sandbox.state.lock:  # someone disabled it by hand since the scan
        found = next(o for o in rig.sandbox.state.gcp[PROJECT] if o.get("name") == "allow-ssh-web")
        found["disabled"] = True

    with pytest.raises(PlanRefused, match="already disabled") as refused:
        rig.engine.plan(record.finding.id, intent=INTENT)

    assert "restrict_ingress" in str(refused.value)


@pytest.mark.parametrize(
    ("params", "error"),
    [({"reson": "typo"}, "unknown parameter"), ({"reason": 42}, "reason must be a string")],
)
def test_bad_parameters_are_an_input_error_and_change_nothing(
    rig: Rig, params: dict[str, Any], error: str
) -> None:
    record = rig.finding(Provider.GCP, "exposed-database-port", "allow-mysql")
    before = rig.state()

    with pytest.raises(InputError, match=error):
        rig.engine.plan(record.finding.id, intent=INTENT, params=params)

    assert rig.state() == before


def test_a_broken_plugin_entry_point_is_a_clear_config_error() -> None:
    missing = EntryPoint(name="x", value="nonexistent_mod:X", group="clamp.intents")
    with pytest.raises(ConfigError, match=r"cannot load plugin intent x \(nonexistent_mod:X\)"):
        _load(missing)

    not_an_intent = EntryPoint(name="y", value="clamp.model:Plan", group="clamp.intents")
    with pytest.raises(ConfigError, match="not a clamp Intent subclass"):
        _load(not_an_intent)
