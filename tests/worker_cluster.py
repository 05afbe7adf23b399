"""What the worker tests share: the running cluster (``tests/workers/conftest.py``)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from clamp.config import Settings
from clamp.sandbox.server import Sandbox
from clamp.store import Store

REDIS_URL = os.environ.get("CLAMP_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SRC = Path(__file__).resolve().parents[1] / "src"


def redis_or_skip() -> str:
    """The test Redis (emptied), or skip the test."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    client.flushdb()
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
