"""The sandbox's pull subscriptions through the pubsub v1 discovery client: messages
published to the topic are kept until acknowledged, an outstanding one is not delivered
again until its ack deadline passes, and bad requests are refused as Pub/Sub refuses."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

PROJECT = "clamp-demo-dev"
TOPIC = f"projects/{PROJECT}/topics/t"
SUB = f"projects/{PROJECT}/subscriptions/pulled"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(load_state(None)) as running:
        yield running


@pytest.fixture
def subscriptions(sandbox: Sandbox) -> Any:
    pubsub = build(
        "pubsub",
        "v1",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": sandbox.url},
        static_discovery=True,
        cache_discovery=False,
    )
    pubsub.projects().topics().create(name=TOPIC, body={}).execute()
    pubsub.projects().subscriptions().create(name=SUB, body={"topic": TOPIC}).execute()
    return pubsub.projects().subscriptions()


def _pull(subscriptions: Any, n: int = 10) -> list[dict[str, Any]]:
    answer = subscriptions.pull(subscription=SUB, body={"maxMessages": n}).execute()
    received: list[dict[str, Any]] = answer.get("receivedMessages", [])
    return received


def test_published_messages_wait_until_acknowledged(sandbox: Sandbox, subscriptions: Any) -> None:
    ids = [sandbox.pubsub.publish(TOPIC, f"m{n}".encode(), {"n": str(n)}) for n in range(3)]

    first = _pull(subscriptions, 2)

    assert [r["message"]["messageId"] for r in first] == ids[:2]
    assert base64.b64decode(first[0]["message"]["data"]) == b"m0"
    assert first[0]["message"]["attributes"] == {"n": "0"} and first[0]["message"]["publishTime"]
    assert [r["message"]["messageId"] for r in _pull(subscriptions)] == ids[2:]
    assert _pull(subscriptions) == []  # all outstanding
    subscriptions.acknowledge(
        subscription=SUB, body={"ackIds": [r["ackId"] for r in first]}
    ).execute()
    real = time.monotonic
    sandbox.pubsub.pulls.clock = lambda: real() + 10.5  # past the default 10 s deadline
    again = _pull(subscriptions)
    assert [r["message"]["messageId"] for r in again] == ids[2:]
    assert again[0]["ackId"] not in {r["ackId"] for r in first}


def test_bad_pulls_are_refused(subscriptions: Any) -> None:
    with pytest.raises(HttpError) as missing:
        subscriptions.pull(
            subscription=f"projects/{PROJECT}/subscriptions/nope", body={"maxMessages": 1}
        ).execute()
    with pytest.raises(HttpError) as zero:
        subscriptions.pull(subscription=SUB, body={"maxMessages": 0}).execute()
    with pytest.raises(HttpError) as empty:
        subscriptions.acknowledge(subscription=SUB, body={"ackIds": []}).execute()

    assert (missing.value.status_code, zero.value.status_code) == (404, 400)
    assert empty.value.status_code == 400
