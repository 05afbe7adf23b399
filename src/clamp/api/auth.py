"""Who is asking: an API token (``Authorization: Bearer``) or the console's session cookie.

The session cookie is Starlette's: signed (itsdangerous, with a key the store keeps),
``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the service says it runs behind TLS. A
state-changing request that rests on the cookie must also carry the session's CSRF token
(the ``X-CSRF-Token`` header, or the ``csrf_token`` form field), so another site cannot
make a signed-in browser act. Bearer requests carry no cookie and need no CSRF token.
Every request re-reads the user: a disabled user's sessions and tokens stop at once.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque

from fastapi import Request

from clamp.api.service import Service
from clamp.errors import TooManyAttempts, Unauthenticated
from clamp.store.users import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def service_of(request: Request) -> Service:
    """The service the app serves."""
    service: Service = request.app.state.service
    return service


class SignInLimiter:
    """At most ``attempts`` failed sign-ins per user name and per client address in a
    sliding ``window`` of seconds; then every try is refused until it slides past."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        """Refuse when any key has used up its attempts."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                seen = self._failures.get(key)
                while seen and seen[0] <= now - self.window:
                    seen.popleft()
                if seen and len(seen) >= self.attempts:
                    wait = int(seen[0] + self.window - now) + 1
                    raise TooManyAttempts(
                        f"too many failed sign-ins; try again in {wait} s",
                        hint="an admin can set a new password with `clamp users password`",
                    )

    def failed(self, *keys: str) -> None:
        """Count a failed attempt against each key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, name: str) -> None:
        """Forget the user name's failures."""
        with self._lock:
            self._failures.pop(name, None)


def bearer_token(request: Request) -> str | None:
    """The request's bearer token, if it has one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def _check_csrf(request: Request) -> None:
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not given or not hmac.compare_digest(expected, given):
        raise Unauthenticated(
            "this request carries no valid CSRF token; nothing was changed",
            hint="reload the page and try again",
        )


async def current_user(request: Request) -> User:
    """The signed-in user of an API or console request (401 when there is none)."""
    service = service_of(request)
    token = bearer_token(request)
    if token is not None:
        return service.accounts.by_token(token)
    name = request.session.get("user") if "session" in request.scope else None
    if not isinstance(name, str):
        raise Unauthenticated(
            "sign in first: send Authorization: Bearer <token> (clamp users token NAME)"
        )
    if request.method not in SAFE_METHODS:
        await _check_csrf(request)
    try:
        return service.accounts.active(name)
    except Unauthenticated:
        request.session.clear()
        raise


def sign_in(request: Request, user: User) -> None:
    """Start a console session for ``user`` (a fresh session: new CSRF token)."""
    request.session.clear()
    request.session["user"] = user.name
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    """End the console session."""
    request.session.clear()
