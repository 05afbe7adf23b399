"""Engines and migrations: SQLite (default) and PostgreSQL, migrated with Alembic in code.

SQLite runs with foreign keys on, WAL journaling and a busy timeout. pysqlite's own
transaction handling is turned off so Clamp emits ``BEGIN`` itself: reads use a
deferred ``BEGIN``, writes ``BEGIN IMMEDIATE`` (taken from the ``clamp_begin``
execution option), which serializes writers across processes without upgrade deadlocks.

Opening a store that is already at the newest revision does not import Alembic (a quarter
of a second): the revision stored in ``alembic_version`` is compared with the head read from
the migration files; anything else — an older, newer or missing revision, version files
not in the plain form — goes through Alembic as before.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from clamp.errors import ConfigError

BEGIN_OPTION = "clamp_begin"
_TURN = "clamp_write_turn"
"""Marks a connection whose transaction holds this process's turn to write (SQLite)."""
MIGRATIONS = "clamp.store:migrations"
_MIGRATION_LOCK = 0x636C616D70  # "clamp": one migrator at a time on PostgreSQL
_BUSY_TIMEOUT_MS = 30_000
_VERSIONS = Path(__file__).with_name("migrations") / "versions"
# The lines Alembic's script template writes: ``revision: str = "0004"`` and
# ``down_revision: str | None = "0003"`` (or ``None``); a merge's tuple does not match.
_REVISION = re.compile(r"^revision(?::[^=\n]*)?=\s*[\"']([\w-]+)[\"']\s*$", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?::[^=\n]*)?=\s*(?:[\"']([\w-]+)[\"']|None)\s*$", re.M)


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


POOL_SIZE, POOL_OVERFLOW = 10, 50
"""Connections kept open, and opened beyond them at a peak: the service serves requests on
up to 40 threads (anyio's default limit) beside its work pool and scheduler, and each may
hold a connection; SQLAlchemy's default (5 + 10) is smaller than that, and a request
waiting for a connection fails after 30 s."""


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or str(url.database).startswith("file::memory:")


def open_engine(url: URL) -> Engine:
    """An engine for ``url``; SQLite gets its directory created and its pragmas set."""
    options: dict[str, Any] = {}
    is_sqlite = url.get_backend_name() == "sqlite"
    if is_sqlite and _is_memory(url):
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        if is_sqlite and url.database and not url.database.startswith("file:"):
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        options.update(pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
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

    # Writers of this process take turns at a lock of their own before ``BEGIN IMMEDIATE``:
    # SQLite's busy handler sleeps 1, 2, 5 ... 100 ms between tries whatever happens
    # meanwhile, so under many writers a write waited up to 100 ms past the moment the
    # database was free. Other processes still meet at SQLite's lock (busy timeout).
    turns = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        if mode == "IMMEDIATE" and wal:
            if not turns.acquire(timeout=_BUSY_TIMEOUT_MS / 1000):
                raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
            connection.info[_TURN] = True
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            _end_turn(connection)
            raise

    def _end_turn(connection: Connection) -> None:
        _release(connection.info)

    def _release(info: dict[Any, Any]) -> None:
        if info.pop(_TURN, False):
            turns.release()

    # A connection returned to the pool or dropped with its transaction still open (an
    # error on the way out) gives the turn back too.
    @event.listens_for(engine.pool, "reset")
    def _on_reset(_dbapi: Any, record: Any, _state: Any) -> None:
        _release(record.info)

    @event.listens_for(engine.pool, "invalidate")
    def _on_invalidate(_dbapi: Any, record: Any, _exception: Any) -> None:
        _release(record.info)

    # Released as the transaction ends (just before its COMMIT or ROLLBACK, which take
    # well under a millisecond with WAL: the next writer's first busy retry comes after 1).
    event.listen(engine, "commit", _end_turn)
    event.listen(engine, "rollback", _end_turn)


def writer(engine: Engine) -> Engine:
    """The same engine, beginning write transactions (``BEGIN IMMEDIATE`` on SQLite)."""
    return engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})


@cache
def head_revision() -> str | None:
    """The newest migration's revision id, read from the version files without importing
    Alembic; ``None`` when a file is not in the plain form or there is not exactly one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in _VERSIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision[1])
        if down[1]:
            parents.add(down[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """Whether the database's schema is already at the newest revision (one plain read)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT version_num FROM alembic_version"))
            return list(stored.scalars()) == [head]
    except DBAPIError:  # no version table yet, or the database is unusable: Alembic decides
        return False


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    if at_head(engine):
        return
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
