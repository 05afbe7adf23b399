"""``/api/v1/notifications``: the dead letters of outbound notifications, and retrying them
(the next pass of the outbox pump, or ``clamp notify send``, delivers them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from clamp.api.deps import OPERATE, ServiceDep, UserDep
from clamp.store.notice_records import DeliveryStatus

router = APIRouter(tags=["notifications"])


@router.get("/notifications/failed")
def list_failed(service: ServiceDep, user: UserDep) -> list[dict[str, Any]]:
    """Deliveries that ran out of attempts or were refused by their sink, oldest first."""
    return [d.to_json() for d in service.store.notices.deliveries(DeliveryStatus.DEAD)]


@router.post("/notifications/failed/{delivery_id}/retry")
def retry_one(service: ServiceDep, user: UserDep, delivery_id: int) -> dict[str, int]:
    """Make one dead letter due again (remediators and responders)."""
    service.require(user, OPERATE, "retry a notification")
    return {"retried": service.store.notices.retry(delivery_id, datetime.now(UTC))}


@router.post("/notifications/failed/retry")
def retry_all(service: ServiceDep, user: UserDep) -> dict[str, int]:
    """Make every dead letter due again (remediators and responders)."""
    service.require(user, OPERATE, "retry notifications")
    return {"retried": service.store.notices.retry(None, datetime.now(UTC))}
