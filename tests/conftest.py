"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clamp.config import Settings
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from rig import Rig, make_rig


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The sandbox serving the demo estate, stopped after the test."""
    with Sandbox(load_state(None)) as running:
        yield running


@pytest.fixture
def demo_rig(sandbox: Sandbox, tmp_path: Path) -> Rig:
    """The demo estate in a fresh sandbox, scanned once into a fresh store."""
    return make_rig(sandbox, tmp_path)


@pytest.fixture
def sandbox_settings(sandbox: Sandbox) -> Settings:
    """Settings that point every driver at the sandbox."""
    return Settings(database_url="sqlite://", sandbox_url=sandbox.url, actor="tester")
