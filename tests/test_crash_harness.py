"""The process dies at every persistence point of a fix, an undo, a bundle, a playbook run
and a rule run; after the next start (which settles what was in flight, as every command
does) the audit log tells exactly what the journal says, and its chain verifies."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clamp.automation.rules import parse_rules
from clamp.automation.runner import RuleRunner
from clamp.model import Provider
from clamp.response import Responder, load_playbook
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.store import Store
from clamp.store.incidents import IncidentBook
from rig import Rig, make_rig

GCE = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"
RULES = {
    "rules": [
        {
            "name": "close-admin-ports",
            "match": {"check": ["exposed-admin-port"]},
            "action": "restrict_ingress",
            "params": {"allow": ["10.0.0.0/8"]},
            "mode": "auto",
            "backlog": True,
            "limits": {"max_actions_per_run": 2},
        }
    ]
}


class Crash(BaseException):
    """The process dying: nothing in Clamp catches it."""


def fix(rig: Rig) -> None:
    finding = rig.finding(Provider.AZURE, "exposed-admin-port", "web-nsg").id
    rig.engine.apply(rig.engine.plan(finding, params={"allow": ["10.0.0.0/8"]}), actor="t")


def undo(rig: Rig) -> None:
    rig.engine.undo(rig.store.actions()[0].id, actor="t")


def bundle(rig: Rig) -> None:
    finding = rig.finding(Provider.AZURE, "storage-public-access", "clampdemodata").id
    rig.engine.apply(rig.engine.plan(finding, bundle="data-protection"), actor="t")


def playbook(rig: Rig) -> None:
    responder = Responder(rig.store, rig.engine, rig.settings)
    incident = responder.open_incident("web-1 miner", GCE, actor="t")
    responder.respond(load_playbook("quarantine-network-only"), incident.id, actor="t")


def rule_run(rig: Rig) -> None:
    RuleRunner(rig.store, rig.engine, rig.settings).run(parse_rules(RULES, "rules", {}), actor="t")


# What each scenario needs done (uncrashed) first, and then what it crashes in.
SCENARIOS: dict[str, tuple[Callable[[Rig], None] | None, Callable[[Rig], None]]] = {
    "fix": (None, fix),
    "undo": (fix, undo),
    "bundle": (None, bundle),
    "playbook run": (None, playbook),
    "rule run": (None, rule_run),
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(load_state(None)) as running:
        yield running


def _restore(sandbox: Sandbox, estate: dict[str, Any]) -> None:
    """Put the sandbox's estate back as ``estate`` says."""
    with sandbox.state.lock:
        for name in ("azure", "gcp", "entra", "cloudidentity"):
            part = getattr(sandbox.state, name)
            part.clear()
            part.update(copy.deepcopy(estate[name]))


def _estate(sandbox: Sandbox) -> dict[str, Any]:
    """The sandbox's whole estate, as ``_restore`` takes it."""
    return {"entra": {}, "cloudidentity": {}, **sandbox.state.to_scenario()}


def _reopened(sandbox: Sandbox, saved: Path, tmp: Path, estate: dict[str, Any]) -> Rig:
    """The moment ``saved`` was closed, again: the estate as it was then and a copy of the
    store file, so each crash starts from the same place without scanning again."""
    _restore(sandbox, estate)
    tmp.mkdir()
    shutil.copy(saved, tmp / "clamp.db")
    return make_rig(sandbox, tmp, scan=False)


def _dying_at(monkeypatch: pytest.MonkeyPatch, n: int | None, *, after: bool = False) -> list[int]:
    """Count the persistence points (journal writes); raise ``Crash`` just before the nth
    is written, or just after it is (``after``)."""
    calls = [0]
    for owner, name in ((Store, "save_action"), (IncidentBook, "save_run")):
        original = getattr(owner, name)

        def dying(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] == n and not after:
                raise Crash
            result = _original(self, *args, **kwargs)
            if calls[0] == n:
                raise Crash
            return result

        monkeypatch.setattr(owner, name, dying)
    return calls


def _journal_and_log_agree(rig: Rig) -> None:
    last: dict[str, str] = {}
    for entry in rig.store.audit.entries():
        for key in ("action", "run"):
            if entry.payload.get(key):
                last[f"{key}:{entry.payload[key]}"] = str(entry.payload.get("status"))
    for action in rig.store.actions():
        assert not action.in_flight, action.id
        assert last[f"action:{action.id}"] == str(action.status), action.id
    for run in rig.store.incidents.runs():
        assert last[f"run:{run.id}"] == str(run.status), run.id
    assert rig.store.audit.verify() == len(rig.store.audit.entries())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_crash_at_any_persistence_point_leaves_journal_and_audit_log_agreeing(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    before, crashing = SCENARIOS[scenario]
    _restore(sandbox, {"entra": {}, "cloudidentity": {}, **load_state(None).to_scenario()})
    start = make_rig(sandbox, tmp_path / "start")
    if before:
        before(start)
    start.store.close()  # the whole store in one file, to copy for every crash
    saved, estate = tmp_path / "start" / "clamp.db", _estate(sandbox)

    rig = _reopened(sandbox, saved, tmp_path / "count", estate)
    with monkeypatch.context() as counting:
        calls = _dying_at(counting, None)
        crashing(rig)
    points = calls[0]
    assert points >= 3, f"{scenario}: only {points} persistence points"

    for n, after in [(n, after) for n in range(1, points + 1) for after in (False, True)]:
        rig = _reopened(sandbox, saved, tmp_path / f"crash-{n}-{after}", estate)
        with monkeypatch.context() as dying, pytest.raises(Crash):
            _dying_at(dying, n, after=after)
            crashing(rig)
        restarted = Responder(rig.store, rig.engine_with(), rig.settings)
        restarted.engine.reconcile()
        restarted.reconcile()  # what every command does first
        _journal_and_log_agree(rig)
