"""Fixtures of the notification tests: a store with notices in it, a local receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clamp.store import Store
from receivers import Receiver, receiver


@pytest.fixture
def hook() -> Iterator[Receiver]:
    """A local HTTP receiver."""
    with receiver() as box:
        yield box


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store."""
    with Store.open(f"sqlite:///{tmp_path / 'clamp.db'}") as opened:
        yield opened
