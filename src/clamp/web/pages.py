"""What every console page shares: the templates, the signed-in user, what they may do,
and errors as a page with the one-line message (never a traceback).

Page handlers are thin: they call the ``Service`` (or the API's route functions, which are
plain functions over it) and render a template. Role checks are the service's and the
engine's; the buttons a template shows follow ``Abilities`` so a viewer sees none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from clamp.api.auth import SAFE_METHODS, csrf_token
from clamp.api.deps import ADMINISTER, DECIDE, OPERATE, REMEDIATE, RESPOND
from clamp.api.problems import status_of
from clamp.api.service import Service
from clamp.errors import ClampError, Forbidden, Unauthenticated
from clamp.model import Plan
from clamp.roles import Role
from clamp.store.users import User
from clamp.web import filters

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
filters.install(templates.env)
log = logging.getLogger("clamp.console")


@dataclass(frozen=True)
class Abilities:
    """Which buttons a user sees; the service refuses the same things on a forged POST."""

    remediate: bool
    respond: bool
    operate: bool
    decide: bool
    administer: bool

    @classmethod
    def of(cls, user: User) -> Abilities:
        """What ``user``'s roles allow, as ``Service.require`` judges it."""
        return cls(
            remediate=holds(user, REMEDIATE),
            respond=holds(user, RESPOND),
            operate=holds(user, OPERATE),
            decide=holds(user, DECIDE),
            administer=holds(user, ADMINISTER),
        )

    def may_apply(self, plan: Plan) -> bool:
        """Whether the user may apply (or undo) ``plan``: remediation or containment."""
        return self.remediate if plan.findings else self.respond


def holds(user: User, roles: tuple[Role, ...]) -> bool:
    """Whether ``Service.require`` lets ``user`` act with ``roles``."""
    try:
        Service.require(user, roles, "act")
    except Forbidden:
        return False
    return True


def page(
    request: Request, user: User | None, name: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render template ``name`` for ``user`` (every form gets the session's CSRF token)."""
    values = {
        "user": user,
        "can": Abilities.of(user) if user else None,
        "csrf": csrf_token(request) if "session" in request.scope else "",
        "sso": _sso(request),
        **context,
    }
    return templates.TemplateResponse(request, name, values, status_code=status)


def _sso(request: Request) -> str | None:
    """The name of the OpenID Connect provider the sign-in page offers, if one is set."""
    config = service(request).settings.oidc
    return config.name if config is not None else None


def error_page(request: Request, status: int, message: str, hint: str | None = None) -> Response:
    """The one-line error as a page."""
    return page(request, None, "error.html", status, status_code=status, message=message, hint=hint)


def back_to(url: str) -> RedirectResponse:
    """After a POST: see the result at ``url`` (303, so a reload does not post again)."""
    return RedirectResponse(url, status_code=303)


def service(request: Request) -> Service:
    """The service the app serves."""
    running: Service = request.app.state.service
    return running


def _invalid(exc: RequestValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'form'}: {e.get('msg')}"
        for e in exc.errors()
    ]
    return "; ".join(parts) or "the form is incomplete"


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """A console route: a request without a session goes to the sign-in page, a Clamp
    error or an invalid form renders as a page with its one-line message."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthenticated as exc:
                if request.method in SAFE_METHODS:
                    query = f"?{request.url.query}" if request.url.query else ""
                    target = quote(request.url.path + query, safe="")
                    return RedirectResponse(f"/login?next={target}", status_code=303)
                return error_page(request, 401, exc.message, exc.hint)
            except ClampError as exc:
                return error_page(request, status_of(exc), exc.message, exc.hint)
            except RequestValidationError as exc:
                return error_page(request, 400, _invalid(exc))
            except ValidationError as exc:  # a form's values, checked by an API body model
                fields = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
                )
                return error_page(request, 400, fields or "the form is incomplete")

        return handle


def form_params(form: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """An intent's parameters from ``param.NAME`` form fields, typed by its JSON schema
    (arrays: comma- or line-separated; empty fields: not given). The engine validates."""
    out: dict[str, Any] = {}
    for name, spec in (schema.get("properties") or {}).items():
        raw = form.get(f"param.{name}")
        kind = spec.get("type")
        if kind == "boolean":
            if raw is not None:
                out[name] = str(raw).lower() in ("on", "true", "1", "yes")
            continue
        text = str(raw).strip() if raw is not None else ""
        if not text:
            continue
        if kind == "array":
            out[name] = [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]
        elif kind == "integer":
            out[name] = int(text) if text.lstrip("-").isdigit() else text
        else:
            out[name] = text
    return out
