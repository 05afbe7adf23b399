"""Custom intents from Python plugins: the ``clamp.intents`` entry point group.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."clamp.intents"]
    disable_firewall_rule = "clamp_example_plugin:DisableFirewallRule"

Each entry point names an ``Intent`` subclass with the same contract as Clamp's own
(``name``, ``category``, ``params_schema``, ``permissions``, ``fixes`` or ``targets``,
``plan``/``contain``); it is registered under its ``name`` so ``clamp fix --intent``,
rules and playbooks can use it. A plugin that fails to load is a clear error naming it.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from clamp.actions.interface import INTENTS, Intent
from clamp.errors import ConfigError

GROUP = "clamp.intents"


def load_plugins() -> list[str]:
    """Register every installed plugin intent (once); the names registered."""
    loaded = []
    for point in entry_points(group=GROUP):
        intent = _load(point)
        if intent.name in INTENTS:
            if INTENTS.get(intent.name) is intent:
                continue
            raise ConfigError(
                f"plugin {point.value} ({point.dist.name if point.dist else '?'}): intent "
                f"{intent.name!r} is already registered"
            )
        INTENTS.register(intent.name)(intent)
        loaded.append(intent.name)
    return loaded


def _load(point: EntryPoint) -> type[Intent]:
    try:
        intent = point.load()
    except Exception as exc:  # any import error of third-party code
        raise ConfigError(f"cannot load plugin intent {point.name} ({point.value}): {exc}") from exc
    if not (isinstance(intent, type) and issubclass(intent, Intent)):
        raise ConfigError(f"plugin {point.value} is not a clamp Intent subclass")
    missing = [
        a for a in ("name", "category", "params_schema", "permissions") if not hasattr(intent, a)
    ]
    if missing:
        raise ConfigError(f"plugin intent {point.value} lacks {', '.join(missing)}")
    return intent
