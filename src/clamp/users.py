"""The service's users: who they are, their roles, and how they prove it.

A user signs in to the console with a password, and a script or SOAR tool calls the API
with a token (``Authorization: Bearer clamp_<id>_<secret>``). Both secrets are stored only
as argon2id hashes (``argon2-cffi``'s defaults, the RFC 9106 low-memory profile); a token's
``<id>`` is public and finds its hash, so each request checks one hash, not all of them.
A token that verified once is remembered in memory by its SHA-256, so later requests skip
the deliberately slow hash; the database is still asked every time whether the token is
revoked or expired and whether its user is disabled, so revocation takes effect at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from clamp.errors import InputError, Unauthenticated
from clamp.roles import Role, Roles
from clamp.store import AuditNote, Store
from clamp.store.users import TokenRecord, User

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
TOKEN = re.compile(r"clamp_([0-9a-f]{16})_([A-Za-z0-9_-]{20,})")
MIN_PASSWORD = 12
_hasher = PasswordHasher()


@cache
def _dummy() -> str:
    """Checked against when the user is unknown, so a wrong name costs what a wrong password
    does (no telling which names exist by the time it takes)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _now() -> datetime:
    return datetime.now(UTC)


def _verify(hashed: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(hashed or _dummy(), secret) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def parse_roles(names: Iterable[str]) -> tuple[Role, ...]:
    """Role names as roles; an unknown one is refused with the valid ones."""
    try:
        roles = tuple(dict.fromkeys(Role(n) for n in names))
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise InputError(f"unknown role in {sorted(names)}; valid: {valid}") from None
    if not roles:
        raise InputError("a user needs at least one role (--role)")
    return roles


class Accounts:
    """Add, change and authenticate the service's users."""

    def __init__(self, store: Store) -> None:
        self.book = store.users
        self._known: dict[str, str] = {}
        """SHA-256 of a token that verified → its id."""

    # -- administration -------------------------------------------------------------------
    def add(
        self,
        name: str,
        roles: Iterable[str],
        *,
        actor: str,
        password: str | None = None,
        expires: timedelta | None = None,
    ) -> str:
        """Add a user with ``roles`` (and a console password); return their first token."""
        if not NAME.fullmatch(name):
            raise InputError(
                f"user name {name!r}: letters, digits and . _ @ - (at most 128), "
                "starting with a letter or digit"
            )
        chosen = parse_roles(roles)
        user = User(name, tuple(r.value for r in chosen), _now(), False, _password_hash(password))
        payload = {"user": name, "roles": list(user.roles), "password": password is not None}
        self.book.add(user, AuditNote("user.added", actor, payload))
        return self.issue_token(name, actor=actor, expires=expires)

    def issue_token(self, name: str, *, actor: str, expires: timedelta | None = None) -> str:
        """A new token for ``name`` (earlier tokens stay valid); shown once, kept hashed."""
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        token = f"clamp_{token_id}_{secret}"
        until = _now() + expires if expires is not None else None
        record = TokenRecord(token_id, name, _hasher.hash(token), _now(), until)
        payload = {"user": name, "token": token_id, "expires": until}
        self.book.add_token(record, AuditNote("user.token_issued", actor, payload))
        return token

    def set_password(self, name: str, password: str, *, actor: str) -> User:
        """Set (or change) ``name``'s console password."""
        user = replace(self.book.get(name), password_hash=_password_hash(password))
        self.book.update(user, AuditNote("user.password_set", actor, {"user": name}))
        return user

    def set_disabled(self, name: str, disabled: bool, *, actor: str) -> User:
        """Disable a user (every token and session stops working at once), or enable them."""
        user = replace(self.book.get(name), disabled=disabled)
        event = "user.disabled" if disabled else "user.enabled"
        self.book.update(user, AuditNote(event, actor, {"user": name}))
        return user

    def set_roles(self, name: str, roles: Iterable[str], *, actor: str) -> User:
        """Replace ``name``'s roles."""
        chosen = tuple(r.value for r in parse_roles(roles))
        user = replace(self.book.get(name), roles=chosen)
        self.book.update(user, AuditNote("user.roles_set", actor, {"user": name, "roles": chosen}))
        return user

    def users(self) -> list[User]:
        """Every user, by name."""
        return self.book.all()

    def roles(self) -> Roles:
        """The roles of every enabled user, as the engine enforces them."""
        return Roles(
            {u.name: frozenset(Role(r) for r in u.roles) for u in self.users() if not u.disabled}
        )

    def vouched_for(self, name: str, roles: Iterable[str], *, by: str) -> User:
        """A person an OpenID Connect provider (``by``) signed in: added on first sign-in
        (no password, no token), their roles set from the mapping each time; a disabled
        user stays refused."""
        chosen = tuple(r.value for r in parse_roles(roles))
        known = self.book.find(name)
        payload = {"user": name, "roles": list(chosen), "provider": by}
        if known is None:
            if not NAME.fullmatch(name):
                raise Unauthenticated(f"the provider's user name {name!r} is not usable")
            user = User(name, chosen, _now())
            self.book.add(user, AuditNote("user.added", f"oidc:{by}", payload))
            return user
        if known.disabled:
            raise Unauthenticated(f"user {name!r} is disabled")
        if known.roles != chosen:
            known = replace(known, roles=chosen)
            self.book.update(known, AuditNote("user.roles_set", f"oidc:{by}", payload))
        return known

    # -- authentication -------------------------------------------------------------------
    def by_token(self, token: str) -> User:
        """The enabled user whose unexpired, unrevoked token this is."""
        found = TOKEN.fullmatch(token.strip())
        if found is None:
            raise Unauthenticated("not a Clamp API token")
        digest = hashlib.sha256(token.strip().encode()).hexdigest()
        record = self.book.token(found.group(1))
        if record is None or record.revoked:
            raise Unauthenticated("unknown or revoked token")
        if record.expires is not None and record.expires <= _now():
            raise Unauthenticated("the token has expired", hint="ask for a new one")
        if self._known.get(digest) != record.id:
            if not _verify(record.hash, token.strip()):
                raise Unauthenticated("unknown or revoked token")
            self._known[digest] = record.id
        return self.active(record.user)

    def by_password(self, name: str, password: str) -> User:
        """The enabled user ``name`` if ``password`` is theirs."""
        user = self.book.find(name)
        if not _verify(user.password_hash if user else None, password) or user is None:
            raise Unauthenticated("wrong user name or password")
        return self.active(name)

    def active(self, name: str) -> User:
        """``name`` as stored, refused when unknown (deleted) or disabled."""
        user = self.book.find(name)
        if user is None or user.disabled:
            raise Unauthenticated(f"user {name!r} is unknown or disabled")
        return user


def _password_hash(password: str | None) -> str | None:
    if password is None:
        return None
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)
