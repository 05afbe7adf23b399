"""The dead letters of outbound notifications, with a retry button each (and for all).
The handlers call the API's route functions over the same ``Service``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from clamp.api import notify as notify_api
from clamp.api.deps import UserDep
from clamp.web.pages import ConsoleRoute, back_to, page, service

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/notifications", response_class=HTMLResponse)
def notifications(request: Request, user: UserDep) -> Response:
    """The dead letters and the configured sinks."""
    running = service(request)
    dead = notify_api.list_failed(running, user)
    sinks = running.settings.notify.sinks
    return page(request, user, "notifications.html", dead=dead, sinks=sinks)


@router.post("/notifications/{delivery_id}/retry")
def retry_one(request: Request, user: UserDep, delivery_id: int) -> Response:
    """Retry one dead letter."""
    notify_api.retry_one(service(request), user, delivery_id)
    return back_to("/notifications")


@router.post("/notifications/retry")
def retry_all(request: Request, user: UserDep) -> Response:
    """Retry every dead letter."""
    notify_api.retry_all(service(request), user)
    return back_to("/notifications")
