"""The service's tables: users, API tokens, jobs and its keys (``UserBook``, ``JobBook``);
loaded with the books, registered on ``Base``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clamp.store.rows import Base


class UserRow(Base):
    """One user of the service: roles, a password hash (argon2id) for console sign-in."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    password_hash: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[datetime]


class TokenRow(Base):
    """One API token of a user: its secret's hash (argon2id), expiry, revocation."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[str] = mapped_column(String(128), index=True)
    hash: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime]
    expires: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean)


class JobRow(Base):
    """One scan or rule run the service made (asked for, or on its schedule)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[dict[str, Any]]


class ServiceKeyRow(Base):
    """A secret the service keeps across restarts (the session-signing key)."""

    __tablename__ = "service_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
