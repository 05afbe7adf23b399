"""The ASGI application: the REST API under ``/api/v1`` (OpenAPI at
``/api/v1/openapi.json``) and the console at ``/``, over one ``Service``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from clamp.api import actions, admin, events, findings, jobs, notify, oidc, problems, response
from clamp.api.auth import SignInLimiter
from clamp.api.service import Service
from clamp.web import STATIC
from clamp.web import router as console

SESSION_HOURS = 8


def create_app(service: Service, *, secure_cookies: bool = False) -> FastAPI:
    """The service's app; ``secure_cookies`` when it is served over HTTPS."""
    app = FastAPI(
        title="Clamp",
        version="1",
        summary="Find, fix, verify and undo dangerous cloud misconfigurations; contain incidents.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.service = service
    app.state.sign_ins = SignInLimiter()
    app.add_middleware(
        SessionMiddleware,
        secret_key=service.store.users.key("session"),
        session_cookie="clamp_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=secure_cookies,
    )
    problems.install(app)
    app.include_router(events.router)
    api = APIRouter(prefix="/api/v1")
    for module in (findings, actions, jobs, response, admin, notify):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(oidc.router)
    app.include_router(console)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
