"""Alembic environment for Clamp's store.

``clamp.store.database.upgrade`` passes an open connection in ``config.attributes``;
run from the ``alembic`` command line, ``sqlalchemy.url`` (or ``CLAMP_DATABASE_URL``)
names the database instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from clamp.config import Settings
from clamp.store.database import open_engine, parse_url
from clamp.store.schema import METADATA

config = context.config
target_metadata = METADATA


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    engine = open_engine(parse_url(_url()))
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()
