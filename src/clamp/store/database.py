"""Engines and migrations: SQLite (default) and PostgreSQL, migrated with Alembic in code.

SQLite runs with foreign keys on, WAL journaling and a busy timeout. pysqlite's own
transaction handling is turned off so Clamp emits ``BEGIN`` itself: reads use a
deferred ``BEGIN``, writes ``BEGIN IMMEDIATE`` (taken from the ``clamp_begin``
execution option), which serializes writers across processes without upgrade deadlocks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from clamp.errors import ConfigError

BEGIN_OPTION = "clamp_begin"
MIGRATIONS = "clamp.store:migrations"
_MIGRATION_LOCK = 0x636C616D70  # "clamp": one migrator at a time on PostgreSQL
_BUSY_TIMEOUT_MS = 30_000


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL, or a ``ConfigError`` saying what is wrong with it."""
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"not a database URL: {url!r}",
            hint="set CLAMP_DATABASE_URL to e.g. sqlite:////path/clamp.db or "
            "postgresql+psycopg://user@host/db",
        ) from exc


def shown(url: URL) -> str:
    """The URL for messages, password hidden."""
    return url.render_as_string(hide_password=True)


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or str(url.database).startswith("file::memory:")


def open_engine(url: URL) -> Engine:
    """An engine for ``url``; SQLite gets its directory created and its pragmas set."""
    options: dict[str, Any] = {}
    is_sqlite = url.get_backend_name() == "sqlite"
    if is_sqlite and _is_memory(url):
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    elif is_sqlite and url.database and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, **options)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            f"no database driver for {shown(url)}: {exc}",
            hint="for PostgreSQL install clamp[postgres] and use postgresql+psycopg://",
        ) from exc
    if is_sqlite:
        _configure_sqlite(engine, wal=not _is_memory(url))
    return engine


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # Clamp issues BEGIN itself (see "begin")
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def writer(engine: Engine) -> Engine:
    """The same engine, beginning write transactions (``BEGIN IMMEDIATE`` on SQLite)."""
    return engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    # Alembic is imported here, when a store opens, not when a command starts.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("path_separator", "os")
    try:
        with writer(engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise ConfigError(
            f"cannot use the database at {shown(engine.url)}: {exc.orig}",
            hint="check CLAMP_DATABASE_URL and that the database is running and writable",
        ) from exc
