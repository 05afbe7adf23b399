"""Scenario files: the built-in demo estate, or the user's own."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from clamp.sandbox.state import SandboxState

DEMO_SCENARIO = "demo.yaml"


def demo_scenario() -> dict[str, object]:
    """The built-in demo scenario: a small, realistic, partly vulnerable estate."""
    text = resources.files("clamp.sandbox.scenarios").joinpath(DEMO_SCENARIO).read_text()
    data: dict[str, object] = yaml.safe_load(text)
    return data


def load_state(path: Path | None) -> SandboxState:
    """Sandbox state seeded from ``path``, or from the demo scenario when None."""
    if path is None:
        return SandboxState.from_scenario(demo_scenario())
    return SandboxState.from_file(path)
