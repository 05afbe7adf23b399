"""``clamp rules rehearse``: run rules against a sandbox copy of the last scan's estate.

The sandbox is seeded from the stored inventory (every resource's raw cloud objects, as
the last scan of its scope saw them), and the rules run for real — plans, writes,
verification — against that copy, with a scratch store that starts as a copy of the
findings, rule state and rule history. The report is what would change, including which
rules would hit their caps; the real clouds and the real store are never touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clamp.actions.engine import ActionEngine
from clamp.automation.rules import Rule
from clamp.automation.runner import Report, RuleRunner
from clamp.config import Settings
from clamp.errors import InputError
from clamp.model import Provider
from clamp.providers.factory import driver_factory
from clamp.providers.objects import (
    api_objects,
    directory_of,
    layer_envelopes,
    layer_parts,
    object_key,
)
from clamp.store.records import InventoryItem

if TYPE_CHECKING:
    from clamp.store import Store

COPIED = ("findings", "rule_state", "rule_actions", "inventory")


def scenario_from_inventory(items: Iterable[InventoryItem]) -> dict[str, Any]:
    """A sandbox scenario holding the raw objects of every inventoried resource, and the
    identity-plane directories (an Entra tenant's Graph objects, a Google customer's
    policies) so that password-policy rules rehearse as they would run."""
    from clamp.sandbox.gcp_policies import ORGANIZATION  # every sandbox project's parent

    clouds: dict[str, dict[str, dict[str, Any]]] = {"azure": {}, "gcp": {}}
    directories: dict[str, dict[str, Any]] = {"entra": {}, "cloudidentity": {}}
    layers: dict[tuple[Provider, str], list[dict[str, Any]]] = {}
    for item in items:
        directory = directory_of(item.id, item.type, item.raw)
        if directory is not None:
            section, key, content = directory
            directories[section][key] = content
            continue
        objects = clouds[item.provider.value].setdefault(item.scope, {})
        for obj in api_objects(item.type, item.raw):
            objects.setdefault(object_key(obj), obj)
        layers.setdefault((item.provider, item.scope), []).extend(
            layer_envelopes(item.type, item.raw)
        )
    # the layers the networks and VNets were judged with: the policies and admin rules
    # they came from, so that a fix on a layer rehearses as it runs
    hierarchy: dict[str, dict[str, Any]] = {}
    for (provider, scope), envelopes in layers.items():
        local, above = layer_parts(provider, envelopes, ORGANIZATION)
        objects = clouds[provider.value][scope]
        for obj in local:
            objects.setdefault(object_key(obj), obj)
        hierarchy.update((str(p["name"]), p) for p in above if str(p["name"]) not in hierarchy)
    organizations = {"gcp_organizations": {ORGANIZATION: list(hierarchy.values())}}
    return {
        **{c: {s: list(o.values()) for s, o in scopes.items()} for c, scopes in clouds.items()},
        **{section: found for section, found in directories.items() if found},
        **(organizations if hierarchy else {}),
    }


def rehearse(store: Store, settings: Settings, rules: Sequence[Rule], *, actor: str) -> Report:
    """Run ``rules`` against a sandbox seeded from ``store``'s inventory; the report."""
    items = store.rules.inventory()
    if not items:
        raise InputError("no inventory to rehearse on: run `clamp scan` first")
    # The sandbox (a web server) loads only when a rehearsal runs, not when a command starts.
    from clamp.sandbox.server import Sandbox
    from clamp.sandbox.state import SandboxState
    from clamp.store import Store

    state = SandboxState.from_scenario(scenario_from_inventory(items))
    with tempfile.TemporaryDirectory(prefix="clamp-rehearse-") as tmp, Sandbox(state) as sandbox:
        scratch_url = f"sqlite:///{Path(tmp) / 'rehearsal.db'}"
        copy = replace(settings, sandbox_url=sandbox.url, database_url=scratch_url)
        with Store.open(scratch_url) as scratch:
            store.copy_tables(scratch, COPIED)
            engine = ActionEngine(scratch, driver_factory(copy), copy)
            report = RuleRunner(scratch, engine, copy).run(rules, actor=actor)
    report.notes.insert(0, f"rehearsed on a sandbox copy of {len(items)} inventoried resources")
    return report
