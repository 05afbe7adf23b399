"""A store's ORM session makers, made when a writer (or a book read through the ORM) first
asks for them: ``sqlalchemy.orm`` loads then, so the commands that only read run on
SQLAlchemy Core alone (``Sessions.engine``)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from clamp.store.database import writer

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker


class Sessions:
    """The engine, and sessions that read (deferred ``BEGIN``) or write (``BEGIN
    IMMEDIATE`` on SQLite) over it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Two threads making one at once would make two equal ones: a session maker holds no
    # state of its own.
    @cached_property
    def reads(self) -> sessionmaker[Session]:
        """Sessions for reads."""
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def writes(self) -> sessionmaker[Session]:
        """Sessions for writes."""
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(writer(self.engine), expire_on_commit=False)
