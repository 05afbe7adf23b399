"""Flow rows carry their times as the store writes them: on SQLite the text SQLAlchemy's
``DATETIME`` stores (what SQLite's own ``strftime`` makes), on PostgreSQL aware datetimes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from clamp.store.flows import SqliteTime, stored_time

STRFTIME = "SELECT strftime('%Y-%m-%d %H:%M:%f', ? / 1000.0, 'unixepoch') || '000'"
MIDNIGHT = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()) * 1000


def test_sqlite_times_are_the_text_sqlite_itself_makes() -> None:
    edges = [0, 1, 999, 1000, 59_999, 60_000, 3_599_999, MIDNIGHT - 1, MIDNIGHT, MIDNIGHT + 61_234]
    spread = [MIDNIGHT + n * 7_777_777 for n in range(500)]  # years of minutes and seconds
    text, connection = SqliteTime(), sqlite3.connect(":memory:")
    for ms in edges + spread:
        assert text(ms) == connection.execute(STRFTIME, (ms,)).fetchone()[0], ms


def test_postgresql_times_are_aware_utc_datetimes() -> None:
    assert stored_time("postgresql")(MIDNIGHT + 5) == datetime(2026, 12, 1, 0, 0, 0, 5000, UTC)
    assert stored_time("sqlite")(MIDNIGHT + 5) == "2026-12-01 00:00:00.005000"
