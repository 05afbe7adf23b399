"""Fixtures shared by every test directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles

# Rich reads COLUMNS once, when a Console is made: the CLI's console is made here, before
# any test passes COLUMNS for one command, and never from the developer's terminal, so
# every table and plan follows the width each test asks for.
os.environ.pop("COLUMNS", None)
import clamp.cli.render
import clamp.users
from clamp.config import Settings
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.store import Store
from postgres_schema import POSTGRES_ENV, throwaway_schema
from rig import Rig, make_rig

# argon2-cffi's profile for tests (``profiles.CHEAPEST``): the same argon2id hashes, checks
# and refusals, without the deliberately slow cost (~0.18 s CPU a hash or a check, with
# RFC 9106's low-memory profile) that a real password store needs and every test user paid.
# Processes the tests start (``clamp users add``, ``clamp serve``) keep the real profile.
clamp.users._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


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
    with throwaway_schema("clamp_test", f"set {POSTGRES_ENV} to run PostgreSQL tests") as url:
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on a fresh database."""
    opened = Store.open(database_url)
    try:
        yield opened
    finally:
        opened.close()
