"""Scenario files: the built-in demo estate, or the user's own."""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from clamp.sandbox.state import SandboxState

DEMO_SCENARIO = "demo.yaml"


def demo_scenario() -> dict[str, object]:
    """The built-in demo scenario: a small, realistic, partly vulnerable estate (a copy of
    its own for each caller, who may edit it)."""
    return copy.deepcopy(_parsed_demo())


@cache
def _parsed_demo() -> dict[str, object]:
    """The demo YAML parsed once per process (~0.1 s of CPU each time; copying takes ~1 ms)."""
    text = resources.files("clamp.sandbox.scenarios").joinpath(DEMO_SCENARIO).read_text()
    data: dict[str, object] = yaml.safe_load(text)
    return data


def load_state(path: Path | None) -> SandboxState:
    """Sandbox state seeded from ``path``, or from the demo scenario when None."""
    if path is None:
        return SandboxState.from_scenario(demo_scenario())
    return SandboxState.from_file(path)
