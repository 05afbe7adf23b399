"""The web console: server-rendered pages over the ``Service``, one CSS file and a few
lines of JavaScript (polling an action or job while it runs). No build step, no CDN."""

from __future__ import annotations

from fastapi import APIRouter

from clamp.web import actions, admin, findings, notifications, overview, response, session
from clamp.web.pages import STATIC

router = APIRouter(include_in_schema=False)
for _module in (session, overview, findings, actions, response, admin, notifications):
    router.include_router(_module.router)

__all__ = ["STATIC", "router"]
