"""At most one action in flight per resource, across every worker.

On PostgreSQL a lease is a session-level advisory lock (``pg_try_advisory_lock``) on a
connection held for the action's whole life: a worker that dies drops its connection and
PostgreSQL frees the lock at once, so a lease never outlives its holder and never needs a
timeout. SQLite serves one process: there a lease is a lock in that process.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine

from clamp.errors import ActionInFlight

_LOCAL: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


def lease_key(resource_id: str) -> int:
    """The advisory-lock key of a resource: a stable signed 64-bit hash of its id."""
    digest = hashlib.sha256(resource_id.lower().encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def resource_lease(engine: Engine, resource_id: str) -> Iterator[None]:
    """Hold ``resource_id``'s lease for the block; ``ActionInFlight`` if another holds it."""
    if engine.dialect.name != "postgresql":
        with _local_lease(resource_id):
            yield
        return
    key = lease_key(resource_id)
    with engine.connect() as connection:
        taken = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        connection.commit()
        if not taken:
            raise _busy(resource_id)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.commit()


@contextmanager
def _local_lease(resource_id: str) -> Iterator[None]:
    with _LOCAL_GUARD:
        lock = _LOCAL.setdefault(resource_id.lower(), threading.Lock())
    if not lock.acquire(blocking=False):
        raise _busy(resource_id)
    try:
        yield
    finally:
        lock.release()


def _busy(resource_id: str) -> ActionInFlight:
    return ActionInFlight(
        f"another action on {resource_id} is in flight; nothing was done",
        hint="wait for it to finish (`clamp actions`), then try again",
    )
