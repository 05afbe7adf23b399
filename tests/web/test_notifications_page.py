"""The console's dead letters of outbound notifications: listed for everyone signed in,
retried by remediators and responders only; the same through the API."""

from __future__ import annotations

from datetime import UTC, datetime

from clamp.api.app import create_app
from clamp.api.service import Service
from clamp.store.notice_records import DeliveryStatus, Outcome
from service_client import Api
from web.client import Console


def dead_letter(service: Service) -> int:
    """Route the outbox to a sink called soc and fail one delivery for good."""
    book = service.store.notices
    now = datetime.now(UTC)
    book.route(lambda _notice: ["soc"], now)
    pending = book.deliveries(DeliveryStatus.PENDING)
    book.record([Outcome(pending[0].id, "soc: HTTP 410 Gone: no_service")], now)
    return pending[0].id


def test_a_viewer_sees_the_dead_letters_but_cannot_retry_them(
    console: Console, service: Service
) -> None:
    delivery = dead_letter(service)
    console.sign_in("view")

    listed = console.page("/notifications")
    forged = console.submit(f"/notifications/{delivery}/retry")

    assert listed.status_code == 200 and f'data-delivery="{delivery}"' in listed.text
    assert "HTTP 410 Gone: no_service" in listed.text
    assert 'data-action="retry"' not in listed.text
    assert forged.status_code == 403
    assert delivery in [d.id for d in service.store.notices.deliveries(DeliveryStatus.DEAD)]


def test_a_remediator_retries_one_from_the_page(console: Console, service: Service) -> None:
    delivery = dead_letter(service)
    console.sign_in("rem")
    assert 'data-action="retry"' in console.page("/notifications").text

    retried = console.submit(f"/notifications/{delivery}/retry")

    assert retried.status_code == 303 and retried.headers["location"] == "/notifications"
    assert delivery in [d.id for d in service.store.notices.deliveries(DeliveryStatus.PENDING)]
    assert f'data-delivery="{delivery}"' not in console.page("/notifications").text


def test_the_api_lists_and_retries_the_dead_letters(service: Service) -> None:
    delivery = dead_letter(service)
    api = Api(create_app(service))
    viewer = service.accounts.issue_token("view", actor="operator")
    responder = service.accounts.issue_token("resp", actor="operator")
    try:
        listed = api.get("/api/v1/notifications/failed", viewer).json()
        refused = api.post("/api/v1/notifications/failed/retry", viewer)
        unknown = api.post("/api/v1/notifications/failed/999999/retry", responder)
        retried = api.post(f"/api/v1/notifications/failed/{delivery}/retry", responder)
    finally:
        api.close()

    assert [d["error"] for d in listed if d["id"] == delivery] == ["soc: HTTP 410 Gone: no_service"]
    assert refused.status_code == 403
    assert unknown.status_code == 404
    assert retried.status_code == 200 and retried.json() == {"retried": 1}
