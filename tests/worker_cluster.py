"""What the worker tests share: the running cluster (``tests/workers/conftest.py``)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from clamp.config import Settings
from clamp.model import Finding, Provider
from clamp.providers.factory import driver_factory
from clamp.sandbox.server import Sandbox
from clamp.scanning import ScanResult, scan_clouds
from clamp.store import Store
from clamp.store.codec import finding_to_json

REDIS_URL = os.environ.get("CLAMP_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
SRC = Path(__file__).resolve().parents[1] / "src"


def redis_or_skip() -> str:
    """The test Redis, or skip the test (other test runs may share it: keys are unique)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@dataclass
class Cluster:
    """The sandbox, the shared store and two running workers."""

    sandbox: Sandbox
    settings: Settings
    """The coordinator's settings (the workers read theirs from the same environment)."""
    store: Store
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]]


def canonical(findings: Sequence[Finding]) -> list[str]:
    """Findings as comparable text (every field, details included)."""
    return sorted(json.dumps(finding_to_json(f), sort_keys=True) for f in findings)


def in_process(cluster: Cluster) -> ScanResult:
    """The estate scanned the default way: one process, its own fresh store."""
    settings = cluster.settings
    with Store.open("sqlite://") as store:
        return scan_clouds(settings, store, driver_factory(settings), list(Provider), {})
