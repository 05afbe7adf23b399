"""At most one action in flight per resource: a second holder is refused, and a lease is
free again once its holder lets go (or dies: its connection closes)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from clamp.config import Settings, Workers
from clamp.errors import ActionInFlight, ConfigError
from clamp.workers.leases import resource_lease
from worker_cluster import SRC

NSG = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/web"
HOLD = """
import sys, time
from sqlalchemy import create_engine
from clamp.workers.leases import resource_lease
with resource_lease(create_engine(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def postgres() -> Iterator[Engine]:
    url = os.environ.get("CLAMP_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set CLAMP_TEST_POSTGRES_URL to run the PostgreSQL lease tests")
    engine = create_engine(url)
    yield engine
    engine.dispose()


def test_a_lease_held_in_one_process_refuses_another_until_that_process_dies(
    postgres: Engine,
) -> None:
    url = postgres.url.render_as_string(hide_password=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, url, NSG.upper()],
        env={"PYTHONPATH": str(SRC)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ActionInFlight, match="in flight"), resource_lease(postgres, NSG):
            pass  # the same resource, whatever the case of its id
        with resource_lease(postgres, NSG + "-other"):
            pass  # another resource is free
    finally:
        holder.kill()
        holder.wait()
    with resource_lease(postgres, NSG):  # freed with the dead holder's connection
        pass


def test_sqlite_leases_serve_one_process() -> None:
    engine = create_engine("sqlite://")
    with resource_lease(engine, NSG), pytest.raises(ActionInFlight), resource_lease(engine, NSG):
        pass
    with resource_lease(engine, NSG):
        pass


def test_workers_come_from_the_config_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "clamp.toml"
    config.write_text('[workers]\nbroker = "redis://127.0.0.1:6379/0"\nvisibility_timeout = "5m"\n')
    settings = Settings.from_env({"CLAMP_CONFIG": str(config)})
    assert settings.workers == Workers(
        "redis://127.0.0.1:6379/0", visibility_timeout=timedelta(minutes=5)
    )
    assert settings.workers.backend == settings.workers.broker  # Redis serves results too
    amqp = "amqp://guest:guest@127.0.0.1:5672//"
    overridden = Settings.from_env({"CLAMP_CONFIG": str(config), "CLAMP_BROKER_URL": amqp})
    assert overridden.workers is not None and overridden.workers.broker == amqp
    with pytest.raises(ConfigError, match="result_backend is required"):
        _ = overridden.workers.backend
    with pytest.raises(ConfigError, match=r"workers\.broker"):
        Workers.from_mapping({"broker": "http://x"}, "c", None)
    with pytest.raises(ConfigError, match="brokr"):
        Workers.from_mapping({"brokr": "redis://x"}, "c", None)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert Settings.from_env({"CLAMP_CONFIG": str(empty)}).workers is None  # in-process
