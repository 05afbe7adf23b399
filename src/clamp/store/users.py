"""The service's users, their API tokens and its signing key, in the store's database.

Secrets never reach this module in the clear: it keeps the hashes ``clamp.users`` makes.
User administration is audited in the same transaction as the change it records.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clamp.errors import InputError, NotFoundError
from clamp.store.audit import AuditLog
from clamp.store.records import AuditNote
from clamp.store.service_tables import ServiceKeyRow, TokenRow, UserRow


@dataclass(frozen=True, slots=True)
class User:
    """One user: name, roles, whether they may sign in to the console, whether disabled."""

    name: str
    roles: tuple[str, ...]
    created: datetime
    disabled: bool = False
    password_hash: str | None = None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One API token as stored: its id (the public part), owner, hash and life."""

    id: str
    user: str
    hash: str
    created: datetime
    expires: datetime | None = None
    revoked: bool = False


def _user(row: UserRow) -> User:
    return User(row.name, tuple(row.roles), row.created, row.disabled, row.password_hash)


def _token(row: TokenRow) -> TokenRecord:
    return TokenRecord(row.id, row.user, row.hash, row.created, row.expires, row.revoked)


class UserBook:
    """Users, tokens and the service's keys."""

    def __init__(
        self, reads: sessionmaker[Session], writes: sessionmaker[Session], audit: AuditLog
    ) -> None:
        self._reads = reads
        self._writes = writes
        self._audit = audit

    # -- users ----------------------------------------------------------------------------
    def add(self, user: User, audit: AuditNote) -> None:
        """Insert a new user; refuse a name that is taken."""
        with self._writes.begin() as session:
            if session.get(UserRow, user.name) is not None:
                raise InputError(
                    f"user {user.name!r} exists already",
                    hint="use `clamp users token NAME` for a new token",
                )
            session.add(
                UserRow(
                    name=user.name,
                    roles=list(user.roles),
                    password_hash=user.password_hash,
                    disabled=user.disabled,
                    created=user.created,
                )
            )
            self._audit.append_in(session, audit.event, audit.actor, audit.payload)

    def update(self, user: User, audit: AuditNote) -> None:
        """Save a changed user (roles, password hash, disabled)."""
        with self._writes.begin() as session:
            row = session.get(UserRow, user.name)
            if row is None:
                raise _no_user(user.name)
            row.roles, row.password_hash = list(user.roles), user.password_hash
            row.disabled = user.disabled
            self._audit.append_in(session, audit.event, audit.actor, audit.payload)

    def get(self, name: str) -> User:
        """One user; ``NotFoundError`` if there is none."""
        with self._reads() as session:
            row = session.get(UserRow, name)
            if row is None:
                raise _no_user(name)
            return _user(row)

    def find(self, name: str) -> User | None:
        """One user, or None."""
        with self._reads() as session:
            row = session.get(UserRow, name)
            return None if row is None else _user(row)

    def all(self) -> list[User]:
        """Every user, by name."""
        with self._reads() as session:
            return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.name))]

    # -- tokens ---------------------------------------------------------------------------
    def add_token(self, token: TokenRecord, audit: AuditNote) -> None:
        """Store a new token's hash (the user must exist)."""
        with self._writes.begin() as session:
            if session.get(UserRow, token.user) is None:
                raise _no_user(token.user)
            session.add(
                TokenRow(
                    id=token.id,
                    user=token.user,
                    hash=token.hash,
                    created=token.created,
                    expires=token.expires,
                    revoked=token.revoked,
                )
            )
            self._audit.append_in(session, audit.event, audit.actor, audit.payload)

    def token(self, token_id: str) -> TokenRecord | None:
        """A token by its id, or None."""
        with self._reads() as session:
            row = session.get(TokenRow, token_id)
            return None if row is None else _token(row)

    def tokens(self, user: str) -> list[TokenRecord]:
        """A user's tokens, oldest first."""
        query = select(TokenRow).where(TokenRow.user == user).order_by(TokenRow.created)
        with self._reads() as session:
            return [_token(r) for r in session.scalars(query)]

    # -- keys -----------------------------------------------------------------------------
    def key(self, name: str) -> str:
        """The service key ``name``, made (random, 256 bits) on first use and kept."""
        with self._reads() as session:
            row = session.get(ServiceKeyRow, name)
            if row is not None:
                return row.value
        with self._writes.begin() as session:
            row = session.get(ServiceKeyRow, name)
            if row is None:
                row = ServiceKeyRow(name=name, value=secrets.token_urlsafe(32))
                session.add(row)
            return row.value


def _no_user(name: str) -> NotFoundError:
    return NotFoundError(f"no user {name!r}", hint="run `clamp users list` to list them")
