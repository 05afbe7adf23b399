"""How a store takes aggregate rows (``RowForm``), and rows staged where they are folded,
merged by the database in one statement.

A worker process that folds a file on SQLite binds its rows into an in-memory SQLite
database of one unindexed table (``stage_sqlite``) and returns that database's bytes
(``serialize``): the writing process pickles no rows and binds no parameters, it loads the
bytes into a schema attached to its connection (``deserialize``, inside the open
transaction) and merges them with one ``INSERT … SELECT … ON CONFLICT (key) DO UPDATE``
(``SqliteMerge``). A fold's keys are unique, so no ``GROUP BY`` is needed. On PostgreSQL,
or where this SQLite cannot serialize, rows travel as a list and are upserted by
``executemany`` as before; either way the stored rows are the same.

On SQLite a missing resource, port or rule is bound as ``MISSING`` (-1) and stored as NULL
by ``NULLIF``: Python's sqlite3 binds ``None`` through its adapter lookup, which raises
and discards an ``AttributeError`` per value (about a third of binding a row).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from clamp.events.flows.aggregate import AGGREGATE_COLUMNS

Staged = list[tuple[Any, ...]] | bytes
"""Aggregate rows as a worker returns them: a list, or a serialized SQLite database."""
SCHEMA = "clamp_flow_staged"
"""The schema the writer attaches staged databases under (an in-memory one)."""
TABLE = "rows"
CAN_SERIALIZE = hasattr(sqlite3.Connection, "serialize") and hasattr(
    sqlite3.Connection, "deserialize"
)
MISSING = -1
"""A missing resource, port or rule as SQLite's rows carry it (no port is negative, no
text is a number)."""
NULLABLE = frozenset(("resource_id", "port", "rule"))
_COLUMNS = ", ".join(AGGREGATE_COLUMNS)
_PLAIN = ", ".join("?" for _ in AGGREGATE_COLUMNS)
SQLITE_VALUES = "VALUES ({})".format(
    ", ".join(f"NULLIF(?, {MISSING})" if c in NULLABLE else "?" for c in AGGREGATE_COLUMNS)
)
"""One row of placeholders, ``MISSING`` stored as NULL."""
SQLITE_SELECT = "SELECT {} FROM {}.{} WHERE true".format(
    ", ".join(f"NULLIF({c}, {MISSING})" if c in NULLABLE else c for c in AGGREGATE_COLUMNS),
    SCHEMA,
    TABLE,
)
"""The staged rows, ``MISSING`` as NULL (``WHERE true``: SQLite would read an upsert's
``ON CONFLICT`` after a bare ``FROM`` as a join's constraint)."""


def as_list(rows: list[tuple[Any, ...]]) -> Staged:
    """Rows staged as they are (PostgreSQL's writer upserts them)."""
    return rows


def stage_sqlite(rows: Iterable[tuple[Any, ...]]) -> Staged:
    """Rows (``AGGREGATE_COLUMNS`` order, SQLite's form) as the bytes of an in-memory
    SQLite database holding them in table ``rows``, in order."""
    database = sqlite3.connect(":memory:", isolation_level=None)
    try:
        database.execute("PRAGMA journal_mode = OFF")
        database.execute(f"CREATE TABLE {TABLE} ({_COLUMNS})")
        database.execute("BEGIN")
        database.executemany(f"INSERT INTO {TABLE} VALUES ({_PLAIN})", rows)
        database.execute("COMMIT")
        return database.serialize()
    finally:
        database.close()


@dataclass(frozen=True)
class RowForm:
    """How a store takes aggregate rows: their times as ``time`` makes them of epoch ms,
    a missing resource, port or rule as ``missing``, and handed from a worker process to
    the writer by ``stage`` (all picklable)."""

    time: Callable[[int], Any] = int
    missing: Any = None
    stage: Callable[[list[tuple[Any, ...]]], Staged] = as_list


def sqlite_form(time: Callable[[int], Any]) -> RowForm:
    """SQLite's form: ``MISSING`` for a missing value, staged rows where it can."""
    return RowForm(time, MISSING, stage_sqlite if CAN_SERIALIZE else as_list)


class SqliteMerge:
    """Merges staged SQLite databases into ``flow_aggregates`` within the open
    transaction of ``connection`` with ``merge`` (the upsert of ``SQLITE_SELECT``)."""

    def __init__(self, connection: Connection, merge: str) -> None:
        self._connection: Connection = connection
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection), "a pysqlite connection"
        self._raw: sqlite3.Connection = raw
        attached = {row[1] for row in connection.exec_driver_sql("PRAGMA database_list")}
        if SCHEMA not in attached:  # it stays attached to the pooled connection
            connection.exec_driver_sql(f"ATTACH DATABASE ':memory:' AS {SCHEMA}")
        self._statement: str = merge

    def merge(self, staged: bytes) -> None:
        """Add the rows of one staged database: counts add up per key."""
        self._raw.deserialize(staged, name=SCHEMA)
        self._connection.exec_driver_sql(self._statement)
