"""Real workers for the tests: Redis as broker and result backend, PostgreSQL as the store,
two ``clamp worker`` processes (one pool process each), and the sandbox as the clouds.

Skipped with the reason when Redis is not reachable or ``CLAMP_TEST_POSTGRES_URL`` is unset.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from clamp.config import Settings
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.store import Store
from postgres_schema import POSTGRES_ENV, throwaway_schema
from worker_cluster import SRC, Cluster, redis_or_skip

RABBIT_URL = os.environ.get("CLAMP_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL schema's URL (dropped after the module)."""
    why = f"set {POSTGRES_ENV} to run the worker tests on PostgreSQL"
    with throwaway_schema("clamp_workers", why) as url:
        yield url


@pytest.fixture(scope="module")
def cluster(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two ``clamp worker`` processes over Redis and PostgreSQL, serving the demo estate."""
    broker = redis_or_skip()
    config = '[workers]\nvisibility_timeout = "30s"\n'
    yield from running(broker, config, 2, postgres_url, tmp_path_factory.mktemp("workers"))


@pytest.fixture(scope="module")
def rabbit_cluster(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One ``clamp worker`` on RabbitMQ (results in Redis) over PostgreSQL."""
    backend = redis_or_skip().rsplit("/", 1)[0] + "/14"
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"RabbitMQ is not reachable at 127.0.0.1:5672: {exc}")
    config = f'[workers]\nresult_backend = "{backend}"\n'
    folder = tmp_path_factory.mktemp("rabbit")
    yield from running(RABBIT_URL, config, 1, postgres_url, folder)


def running(
    broker: str, config_text: str, count: int, database: str, folder: Path
) -> Iterator[Cluster]:
    """``count`` workers on ``broker`` serving a fresh demo sandbox, stopped afterwards."""
    from clamp.workers.app import make_app

    config = folder / "clamp.toml"
    # a queue of its own: another test run on the same broker never takes these tasks
    config.write_text(config_text + f'queue = "clamp-test-{uuid.uuid4().hex[:8]}"\n')
    with Sandbox(load_state(None)) as sandbox:
        env = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "CLAMP_SANDBOX_URL": sandbox.url,
            "CLAMP_DATABASE_URL": database,
            "CLAMP_BROKER_URL": broker,
            "CLAMP_CONFIG": str(config),
            "CLAMP_ACTOR": "tester",
        }
        settings = Settings.from_env(env)
        assert settings.workers is not None and settings.workers.broker == broker
        make_app(settings).control.purge()  # nothing an earlier run left in the queue
        store = Store.open(database)  # migrated once, before the workers start
        names = [f"w{n}-{uuid.uuid4().hex[:6]}@clamp-test" for n in range(count)]
        command = [sys.executable, "-m", "clamp", "worker", "-c", "1", "--loglevel", "WARNING"]
        workers = [
            subprocess.Popen(
                [*command, "-n", name],
                env=env,
                cwd=folder,
                start_new_session=True,
                stdout=(folder / f"worker{n}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            for n, name in enumerate(names)
        ]
        try:
            _wait_ready(
                settings, [n.replace("%h", socket.gethostname()) for n in names], workers, folder
            )
            yield Cluster(sandbox, settings, store, env, workers)
        finally:
            for process in workers:
                _stop(process)
            store.close()


def _wait_ready(
    settings: Settings, names: list[str], workers: list[subprocess.Popen[bytes]], folder: Path
) -> None:
    from clamp.workers.app import make_app

    app = make_app(settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in workers):
            logs = "\n".join(p.read_text() for p in folder.glob("worker*.log"))
            raise AssertionError(f"a worker exited at start:\n{logs}")
        if len(app.control.ping(destination=names, timeout=0.5) or []) >= len(names):
            return
    raise AssertionError("the workers did not answer a ping in 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop one worker we started, its pool processes with it (its own session)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
