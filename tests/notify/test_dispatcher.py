"""Delivery: backoff (and Retry-After), dead letters, retry; a sink that is down never
touches the change that caused the notice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clamp.notify.dispatcher import Dispatcher
from clamp.notify.interface import Sink
from clamp.store import Store
from clamp.store.notice_records import DeliveryStatus
from notify_kit import Clock, finding, scan, settings, webhook
from receivers import Receiver


def dispatcher(store: Store, hook: Receiver, clock: Clock, **fields: object) -> Dispatcher:
    return Dispatcher(store, settings(store, webhook(hook.url, **fields)), clock=clock)


def pending(store: Store) -> list[tuple[int, timedelta]]:
    return [
        (d.attempts, d.due - d.updated) for d in store.notices.deliveries(DeliveryStatus.PENDING)
    ]


def test_a_delivered_notice_is_sent_once(store: Store, hook: Receiver) -> None:
    scan(store, finding("nsg-a"))
    clock = Clock()
    sender = dispatcher(store, hook, clock)

    first, second = sender.drain(), sender.drain()

    assert (first.routed, first.delivered, second.delivered) == (1, 1, 0)
    assert len(hook.requests) == 1
    assert [d.status for d in store.notices.deliveries()] == [DeliveryStatus.DELIVERED]


def test_a_failing_sink_is_retried_with_exponential_backoff(store: Store, hook: Receiver) -> None:
    scan(store, finding("nsg-a"))
    clock = Clock()
    sender = dispatcher(store, hook, clock)
    hook.answer(500, times=2)

    assert sender.drain().retrying == 1
    assert pending(store) == [(1, timedelta(seconds=30))]
    assert sender.drain().delivered == 0  # not due yet: nothing is sent
    assert len(hook.requests) == 1
    clock.advance(30)
    assert sender.drain().retrying == 1
    assert pending(store) == [(2, timedelta(seconds=60))]
    clock.advance(60)
    assert sender.drain().delivered == 1
    assert len(hook.requests) == 3
    # the webhook-id stays the same on every attempt, so the receiver can de-duplicate
    assert len({r.headers["webhook-id"] for r in hook.requests}) == 1


def test_429_and_503_wait_as_long_as_retry_after_says(store: Store, hook: Receiver) -> None:
    scan(store, finding("nsg-a"))
    clock = Clock()
    sender = dispatcher(store, hook, clock)
    hook.answer(429, {"Retry-After": "120"})
    hook.answer(503, {"Retry-After": "7"})

    sender.drain()
    assert pending(store) == [(1, timedelta(seconds=120))]
    clock.advance(120)
    sender.drain()
    assert pending(store) == [(2, timedelta(seconds=7))]


def test_after_max_attempts_a_delivery_is_a_dead_letter_and_retry_revives_it(
    store: Store, hook: Receiver
) -> None:
    scan(store, finding("nsg-a"))
    clock = Clock()
    sender = dispatcher(store, hook, clock, max_attempts=2)
    hook.answer(502, times=2)

    sender.drain()
    clock.advance(30)
    report = sender.drain()

    assert report.dead == 1
    [dead] = store.notices.deliveries(DeliveryStatus.DEAD)
    assert dead.attempts == 2 and "HTTP 502" in dead.error
    clock.advance(3600)
    assert sender.drain().delivered == 0  # a dead letter is not tried again on its own
    assert store.notices.retry(dead.id, clock.now) == 1
    assert sender.drain().delivered == 1
    assert store.notices.deliveries(DeliveryStatus.DEAD) == []


def test_a_refusal_is_dead_lettered_at_once(store: Store, hook: Receiver) -> None:
    scan(store, finding("nsg-a"))
    hook.answer(401)

    report = dispatcher(store, hook, Clock()).drain()

    assert report.dead == 1 and len(hook.requests) == 1
    assert "HTTP 401" in store.notices.deliveries(DeliveryStatus.DEAD)[0].error


def test_an_unreachable_sink_is_retried(store: Store, hook: Receiver) -> None:
    scan(store, finding("nsg-a"))
    clock = Clock()
    closed = webhook("http://127.0.0.1:9")  # discard port: nothing listens
    report = Dispatcher(store, settings(store, closed), clock=clock).drain()

    assert report.retrying == 1
    assert "ConnectError" in store.notices.deliveries(DeliveryStatus.PENDING)[0].error


def test_filters_pick_the_notices_a_sink_hears_of(store: Store, hook: Receiver) -> None:
    from clamp.model import Severity

    scan(store, finding("nsg-a", Severity.LOW), finding("nsg-b", Severity.CRITICAL))
    scan(store, finding("other", Severity.CRITICAL, scope="sub-2"), scope="sub-2")
    scan(store, finding("nsg-b", Severity.CRITICAL))  # nsg-a resolves
    sender = dispatcher(
        store,
        hook,
        Clock(),
        events=["finding.opened"],
        min_severity=Severity.HIGH,
        scopes=[finding("x").scope],
    )

    assert sender.drain().delivered == 1
    [sent] = hook.requests
    assert sent.json()["data"]["subject"] == finding("nsg-b").id


def test_with_no_sink_the_notices_wait_for_one(store: Store, hook: Receiver) -> None:
    scan(store, finding("nsg-a"))
    assert Dispatcher(store, settings(store)).drain().routed == 0
    assert store.notices.unrouted() == 1
    assert dispatcher(store, hook, Clock()).drain().delivered == 1


def test_a_claimed_delivery_is_not_sent_twice_and_a_dead_claimant_is_outlived(
    store: Store, hook: Receiver
) -> None:
    from clamp.notify.dispatcher import LEASE

    scan(store, finding("nsg-a"))
    clock = Clock()
    sender = dispatcher(store, hook, clock)
    store.notices.route(lambda _n: ["hook"], clock.now)
    [claimed] = store.notices.claim(clock.now, LEASE)  # a dispatcher that then dies

    assert sender.drain().delivered == 0  # a second one leaves it alone
    clock.advance(LEASE.total_seconds())
    assert sender.drain().delivered == 1
    assert [r.headers["webhook-id"] for r in hook.requests] == [claimed.notice.id]


def test_a_sink_slower_than_its_timeout_is_retried(store: Store, hook: Receiver) -> None:
    scan(store, finding("nsg-a"))
    hook.delay = 1.0

    report = dispatcher(store, hook, Clock(), timeout=0.2).drain()

    assert report.retrying == 1
    assert "ReadTimeout" in store.notices.deliveries(DeliveryStatus.PENDING)[0].error


def test_prune_deletes_only_what_was_delivered_everywhere_it_was_wanted(
    store: Store, hook: Receiver
) -> None:
    scan(store, finding("nsg-a"), finding("nsg-b"))
    scan(store, finding("nsg-c", scope="sub-2"), scope="sub-2")  # no sink wants sub-2
    clock = Clock()
    hook.answer(400)  # the first is refused: a dead letter
    dispatcher(store, hook, clock, scopes=[finding("x").scope]).drain()
    scan(store, finding("nsg-d"))  # not routed yet (nsg-a and nsg-b resolve: not routed either)

    pruned = store.notices.prune(clock.now + timedelta(seconds=60))

    left = {(n.kind, n.subject) for n in store.notices.notices()}
    assert pruned == 2  # the delivered one, and the one no sink wanted
    assert {(k, s) for k, s in left if k == "finding.opened"} == {
        ("finding.opened", finding("nsg-a").id),
        ("finding.opened", finding("nsg-d").id),
    }
    assert [d.status for d in store.notices.deliveries()] == [DeliveryStatus.DEAD]
    assert store.notices.prune(clock.now - timedelta(days=1)) == 0


def test_a_sink_that_cannot_be_set_up_only_delays_its_own_notices(
    store: Store, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clamp.errors import AuthenticationError
    from clamp.notify.config import SinkConfig, SinkKind
    from clamp.notify.sinks import BUILDERS

    def no_credentials(*_args: object) -> Sink:
        raise AuthenticationError("no usable credentials")

    monkeypatch.setitem(BUILDERS, SinkKind.SLACK, no_credentials)
    scan(store, finding("nsg-a"))
    chat = SinkConfig(name="chat", kind=SinkKind.SLACK, url="https://hooks.slack.invalid/x")
    sender = Dispatcher(store, settings(store, webhook(hook.url), chat), clock=Clock())

    report = sender.drain()

    assert (report.delivered, report.retrying) == (1, 1)
    [waiting] = store.notices.deliveries(DeliveryStatus.PENDING)
    assert (
        waiting.sink == "chat" and "cannot set up the sink: no usable credentials" in waiting.error
    )
