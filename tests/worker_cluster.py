"""What the worker tests share: the running cluster (``tests/workers/conftest.py``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from clamp.config import Settings
from clamp.sandbox.server import Sandbox
from clamp.store import Store


@dataclass
class Cluster:
    """The sandbox, the shared store and two running workers."""

    sandbox: Sandbox
    settings: Settings
    """The coordinator's settings (the workers read theirs from the same environment)."""
    store: Store
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]]
