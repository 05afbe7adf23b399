"""``/events/azure`` and ``/events/gcp``: where Event Grid and Pub/Sub push deliver cloud
change events, and ``/api/v1/events/stats``.

A delivery is verified first (``401``, counted, nothing stored, when it does not prove
where it comes from), parsed (``400`` when malformed), and its events are in the store
before the ``200``; their processing runs on the service's pool, never in the request.
The delivery endpoints are the clouds' webhooks, with their own proof of origin instead of
a user's token: they stay out of the OpenAPI document of the user API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from clamp.api.auth import current_user
from clamp.api.deps import ServiceDep, UserDep
from clamp.api.service import Service
from clamp.errors import InputError, PayloadTooLarge, Unauthenticated
from clamp.events.azure import parse_azure
from clamp.events.flows.intake import take_message
from clamp.events.gcp import parse_push
from clamp.events.metrics import CONTENT_TYPE

router = APIRouter(tags=["events"])
MAX_DELIVERY = 10 * 1024 * 1024
"""The largest delivery read: a Pub/Sub message holds at most 10 MB (Pub/Sub quotas), an
Event Grid event 1 MB and a delivered batch no more than that (Event Grid quotas)."""


async def delivery_body(request: Request) -> bytes:
    """The request body, refused (413) as soon as it grows past ``MAX_DELIVERY``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_DELIVERY:
        raise PayloadTooLarge(f"a delivery of {declared} bytes; at most {MAX_DELIVERY}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_DELIVERY:
            raise PayloadTooLarge(f"a delivery of more than {MAX_DELIVERY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _refusing(service: Service, check: Callable[[], None]) -> None:
    """Run a verifier's ``check``, counting a refusal."""
    try:
        check()
    except Unauthenticated:
        service.events.rejected()
        raise


@router.options("/events/azure", include_in_schema=False)
def azure_handshake(request: Request, service: ServiceDep, key: str | None = None) -> Response:
    """The CloudEvents abuse-protection handshake: allow the origin that asks."""
    authorization = request.headers.get("authorization")
    _refusing(service, lambda: service.events.azure.check(key, authorization, handshake=True))
    origin = request.headers.get("webhook-request-origin")
    if not origin:
        raise InputError("the abuse-protection handshake needs a WebHook-Request-Origin header")
    return Response(status_code=200, headers={"WebHook-Allowed-Origin": origin})


def _azure(service: Service, body: bytes, key: str | None, authorization: str | None) -> Any:
    _refusing(service, lambda: service.events.azure.check(key, authorization))
    delivery = parse_azure(body)
    if delivery.validation_code is not None:
        return {"validationResponse": delivery.validation_code}
    service.events.ignored(delivery.ignored)
    accepted = service.take_events(delivery.events)
    return {"accepted": accepted, "ignored": delivery.ignored}


@router.post("/events/azure", include_in_schema=False)
async def azure_delivery(request: Request, service: ServiceDep, key: str | None = None) -> Any:
    """An Event Grid delivery (its schema or CloudEvents 1.0), or its validation handshake."""
    body = await delivery_body(request)
    authorization = request.headers.get("authorization")
    return await run_in_threadpool(_azure, service, body, key, authorization)


def _gcp(service: Service, body: bytes, authorization: str | None) -> Any:
    _refusing(service, lambda: service.events.gcp.check(authorization))
    taken = take_message(service.store, service.settings.flows, body)
    if taken is not None:  # a VPC flow or firewall log entry: kept as aggregates
        return {"accepted": 0, "ignored": 0, "flows": 1 if taken else 0}
    event, message = parse_push(body)
    if event is None:
        service.events.ignored(1)
        return {"accepted": 0, "ignored": 1, "message": message}
    return {"accepted": service.take_events([event]), "ignored": 0, "message": message}


@router.post("/events/gcp", include_in_schema=False)
async def gcp_delivery(request: Request, service: ServiceDep) -> Any:
    """A Pub/Sub push delivery of an audit log entry or an asset change."""
    body = await delivery_body(request)
    authorization = request.headers.get("authorization")
    return await run_in_threadpool(_gcp, service, body, authorization)


@router.get("/api/v1/events/stats")
def event_stats(service: ServiceDep, _user: UserDep) -> dict[str, Any]:
    """Deliveries received, rejected, duplicated and processed, and the latencies."""
    return service.events.stats()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, service: ServiceDep) -> Response:
    """Prometheus metrics: a bearer token (any role) unless ``[metrics] public = true``."""
    if not service.settings.metrics_public:
        await current_user(request)
    body = await run_in_threadpool(service.events.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE)
