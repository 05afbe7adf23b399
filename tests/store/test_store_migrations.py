"""Migrations: idempotent, the schema matches the models, clear errors for bad URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from clamp.errors import ConfigError
from clamp.model import Finding, Provider, Severity
from clamp.store import Store
from clamp.store.database import MIGRATIONS, head_revision, writer
from clamp.store.schema import METADATA


def test_migrate_is_idempotent_and_keeps_data(store: Store) -> None:
    finding = Finding("exposed-admin-port", Provider.GCP, "//x/fw", "p", Severity.HIGH, "t", {})
    store.record_scan([(Provider.GCP, "p")], [finding], resources=1, source="cloud")
    store.audit.append("test", "alice", {})
    store.migrate()
    store.migrate()
    assert store.finding(finding.id).id == finding.id
    assert store.audit.verify() == 1
    with store.engine.connect() as connection:
        version = MigrationContext.configure(connection).get_current_revision()
    assert version == "0010_flow_resource_index"


def test_migrated_schema_matches_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, METADATA) == []
        assert set(METADATA.tables) <= set(inspect(connection).get_table_names())


def test_reopening_an_existing_database_sees_its_data(database_url: str) -> None:
    with Store.open(database_url) as first:
        first.audit.append("test", "alice", {"n": 1})
    with Store.open(database_url) as second:
        assert [e.payload for e in second.audit.entries()] == [{"n": 1}]


def test_sqlite_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "clamp.db"
    with Store.open(f"sqlite:///{path}") as store:
        assert store.audit.verify() == 0
    assert path.exists()


def test_default_url_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "env.db"
    monkeypatch.setenv("CLAMP_DATABASE_URL", f"sqlite:///{path}")
    with Store.open() as store:
        assert store.findings() == []
    assert path.exists()


def test_bad_database_urls_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a database URL"):
        Store("not a url")
    with pytest.raises(ConfigError, match="no database driver"):
        Store("nosuchdb://localhost/x")
    unreachable = Store("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match="cannot use the database") as caught:
        unreachable.migrate()
    assert "secret" not in str(caught.value)


def test_the_head_read_without_alembic_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_database_at_an_older_revision_is_migrated_when_it_opens(database_url: str) -> None:
    with Store.open(database_url) as store:
        store.audit.append("test", "alice", {"n": 1})
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        with writer(store.engine).begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
        assert "baseline" not in {c["name"] for c in inspect(store.engine).get_columns("actions")}
    with Store.open(database_url) as reopened:
        columns = {c["name"] for c in inspect(reopened.engine).get_columns("actions")}
        with reopened.engine.connect() as connection:
            version = MigrationContext.configure(connection).get_current_revision()
        assert "baseline" in columns and version == head_revision()
        assert [e.payload for e in reopened.audit.entries()] == [{"n": 1}]
