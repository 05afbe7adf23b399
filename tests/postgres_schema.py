"""A throw-away PostgreSQL schema for a test (``CLAMP_TEST_POSTGRES_URL``), dropped after."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "CLAMP_TEST_POSTGRES_URL"


@contextmanager
def throwaway_schema(prefix: str, skip_reason: str) -> Iterator[str]:
    """A URL whose search path is a new schema named ``prefix_<random>``; the test is
    skipped with ``skip_reason`` when no PostgreSQL URL is set."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(skip_reason)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
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
