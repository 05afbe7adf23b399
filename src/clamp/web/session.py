"""Signing in and out of the console.

The sign-in form carries the CSRF token of the (anonymous) session it was served in, so
another site cannot sign a browser in as someone else; failures count against the user
name and the client address in ``app.state.sign_ins`` (429 once they are used up)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from clamp.api.auth import SignInLimiter, sign_in, sign_out
from clamp.api.deps import UserDep
from clamp.errors import TooManyAttempts, Unauthenticated
from clamp.web.pages import ConsoleRoute, back_to, page, service

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _local(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in page."""
    return page(request, None, "login.html", next=_local(next), message=None)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password, start a session, go where the user was headed."""
    limiter: SignInLimiter = request.app.state.sign_ins
    client = f"client:{request.client.host}" if request.client else "client:?"
    name = username.strip()
    try:
        limiter.check(name, client)
    except TooManyAttempts as exc:
        return page(request, None, "login.html", 429, next=_local(next), message=exc.message)
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, csrf_token):
        message = "the sign-in form expired; try again"
        return page(request, None, "login.html", 400, next=_local(next), message=message)
    try:
        user = service(request).accounts.by_password(name, password)
    except Unauthenticated as exc:
        limiter.failed(name, client)
        return page(request, None, "login.html", 401, next=_local(next), message=exc.message)
    limiter.succeeded(name)
    sign_in(request, user)
    return back_to(_local(next))


@router.post("/logout")
def logout(request: Request, _user: UserDep) -> Response:
    """End the session (the CSRF token is checked: no other site can sign you out)."""
    sign_out(request)
    return back_to("/login")
