"""A fresh store per test on SQLite, and on PostgreSQL when CLAMP_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from clamp.model import Finding, Provider, Severity
from clamp.store import Store

POSTGRES_ENV = "CLAMP_TEST_POSTGRES_URL"


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


MakeFinding = Callable[..., Finding]


@pytest.fixture
def make_finding() -> MakeFinding:
    """Build a finding on an NSG (Azure) or firewall (GCP) named ``name`` in ``scope``."""

    def build(
        name: str,
        *,
        scope: str = "sub-1",
        provider: Provider = Provider.AZURE,
        check: str = "exposed-admin-port",
        severity: Severity = Severity.HIGH,
        ports: tuple[int, ...] = (22,),
    ) -> Finding:
        if provider is Provider.AZURE:
            resource = (
                f"/subscriptions/{scope}/resourceGroups/rg/providers/"
                f"Microsoft.Network/networkSecurityGroups/{name}"
            )
        else:
            resource = f"//compute.googleapis.com/projects/{scope}/global/firewalls/{name}"
        return Finding(
            check=check,
            provider=provider,
            resource=resource,
            scope=scope,
            severity=severity,
            title=f"{name} exposes {ports} to the internet",
            details={"ports": list(ports), "rules": [{"name": f"{name}-rule"}]},
        )

    return build
