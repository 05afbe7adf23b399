"""Fixtures shared by every test directory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from clamp.config import Settings
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.store import Store
from rig import Rig, make_rig

POSTGRES_ENV = "CLAMP_TEST_POSTGRES_URL"


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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL nobody else uses: a SQLite file, or a throw-away PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'clamp.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"set {POSTGRES_ENV} to run PostgreSQL tests")
    schema = f"clamp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on a fresh database."""
    opened = Store.open(database_url)
    try:
        yield opened
    finally:
        opened.close()
