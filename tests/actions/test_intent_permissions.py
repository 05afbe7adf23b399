"""Every call a plan makes — and every call its undo makes — is covered by the permissions
its intent declares, so the least-privilege role Clamp prints is enough.

Each intent is planned for real against the demo estate (every finding it fixes, every VM
it can act on); the driver says which SDK call each change is and what it needs
(``clamp.providers.*.calls``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import clamp.actions  # noqa: F401  (registers the intents)
from clamp.actions.interface import INTENTS, VM_TARGETS
from clamp.errors import PlanRefused
from clamp.model import FindingStatus, Plan, Provider
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from rig import Rig, make_rig

# Parameters an intent needs before it can plan at all.
PARAMS: dict[str, dict[str, Any]] = {
    "lock_retention_policy": {"days": 30},
    "disable_firewall_rule": {"reason": "INC-1"},
    "tag_instance": {"incident": "inc-1"},
    "snapshot_disks": {"incident": "inc-1"},
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with Sandbox(load_state(None)) as sandbox:
        yield make_rig(sandbox, Path(tmp_path_factory.mktemp("permissions")))


def _vms(rig: Rig, provider: Provider) -> list[str]:
    driver = rig.engine.drivers(provider)
    return [
        r.id
        for scope in driver.discover_scopes()
        for r in driver.collect(scope)
        if r.type in VM_TARGETS
    ]


def _plans(rig: Rig, intent: str, provider: Provider) -> list[Plan]:
    chosen = INTENTS.get(intent)
    params = PARAMS.get(intent, {})
    plans: list[Plan] = []
    for record in rig.store.findings(status=FindingStatus.OPEN):
        finding = record.finding
        if finding.provider == provider and finding.check in chosen.fixes:
            try:
                plans.append(rig.engine.plan(finding.id, intent=intent, params=params))
            except PlanRefused:
                continue
    if chosen.targets:
        for vm in _vms(rig, provider):
            try:
                plans.append(rig.engine.plan_containment(intent, vm, params))
            except PlanRefused:
                continue
    return plans


CASES = [
    (name, provider)
    for name in INTENTS.names()
    for provider in Provider
    if provider in INTENTS.get(name).permissions
]


@pytest.mark.parametrize(("intent", "provider"), CASES)
def test_declared_permissions_cover_every_call_of_the_plan_and_its_undo(
    demo: Rig, intent: str, provider: Provider
) -> None:
    declared = set(INTENTS.get(intent).permissions[provider])
    driver = demo.engine.drivers(provider)
    plans = _plans(demo, intent, provider)
    assert plans, f"{intent} found nothing to plan on the demo estate ({provider})"
    for plan in plans:
        changes = list(plan.changes)
        if plan.reversible:
            changes += [c.inverse() for c in plan.changes]
        for change in changes:
            call = driver.describe(change)
            missing = set(call.permissions) - declared
            assert not missing, f"{intent} ({provider}): {call.api} also needs {sorted(missing)}"
        assert set(plan.permissions) <= declared, sorted(set(plan.permissions) - declared)
