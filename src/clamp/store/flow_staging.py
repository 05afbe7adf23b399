"""Aggregate rows staged where they are folded, merged by the database in one statement.

A worker process that folds a file on SQLite binds its rows into an in-memory SQLite
database of one unindexed table (``stage_sqlite``) and returns that database's bytes
(``serialize``): the writing process pickles no rows and binds no parameters, it loads the
bytes into a schema attached to its connection (``deserialize``, inside the open
transaction) and merges them with one ``INSERT … SELECT … ON CONFLICT (key) DO UPDATE``
(``SqliteMerge``). A fold's keys are unique, so no ``GROUP BY`` is needed. On PostgreSQL,
or where this SQLite cannot serialize, rows travel as a list and are upserted by
``executemany`` as before; either way the stored rows are the same.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
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
_COLUMNS = ", ".join(AGGREGATE_COLUMNS)
_VALUES = ", ".join("?" for _ in AGGREGATE_COLUMNS)


def as_list(rows: list[tuple[Any, ...]]) -> Staged:
    """Rows staged as they are (PostgreSQL's writer upserts them)."""
    return rows


def stage_sqlite(rows: Iterable[tuple[Any, ...]]) -> Staged:
    """Rows (``AGGREGATE_COLUMNS`` order, SQLite's times) as the bytes of an in-memory
    SQLite database holding them in table ``rows``, in order."""
    database = sqlite3.connect(":memory:", isolation_level=None)
    try:
        database.execute("PRAGMA journal_mode = OFF")
        database.execute(f"CREATE TABLE {TABLE} ({_COLUMNS})")
        database.execute("BEGIN")
        database.executemany(f"INSERT INTO {TABLE} VALUES ({_VALUES})", rows)
        database.execute("COMMIT")
        return database.serialize()
    finally:
        database.close()


def stager(dialect: str) -> Callable[[list[tuple[Any, ...]]], Staged]:
    """How a fold on ``dialect`` stages its rows for the writer (picklable)."""
    return stage_sqlite if dialect == "sqlite" and CAN_SERIALIZE else as_list


class SqliteMerge:
    """Merges staged SQLite databases into ``flow_aggregates`` within the open
    transaction of ``connection``, with the upsert's own ``SET`` clause."""

    def __init__(self, connection: Connection, upsert: str) -> None:
        self._connection = connection
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection), "a pysqlite connection"
        self._raw: sqlite3.Connection = raw
        attached = {row[1] for row in connection.exec_driver_sql("PRAGMA database_list")}
        if SCHEMA not in attached:  # it stays attached to the pooled connection
            connection.exec_driver_sql(f"ATTACH DATABASE ':memory:' AS {SCHEMA}")
        values = f"VALUES ({_VALUES})"
        assert values in upsert, "the upsert inserts one row of values"
        # ``WHERE true``: SQLite would read ``ON CONFLICT`` as a join's constraint
        self._merge: str = upsert.replace(
            values, f"SELECT {_COLUMNS} FROM {SCHEMA}.{TABLE} WHERE true"
        )

    def merge(self, staged: bytes) -> None:
        """Add the rows of one staged database: counts add up per key."""
        self._raw.deserialize(staged, name=SCHEMA)
        self._connection.exec_driver_sql(self._merge)
