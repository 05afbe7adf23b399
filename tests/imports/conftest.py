"""The import tests' fixtures (helpers in ``import_rig``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from import_rig import Cli, start


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """``clamp`` against the demo estate."""
    yield from start(tmp_path, {})
