"""The service listening for real on a loopback port (uvicorn in a thread), so the
sandbox's Event Grid and Pub/Sub push deliveries reach it over HTTP; and a poll with a
deadline for what those deliveries make happen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import uvicorn
from starlette.types import ASGIApp

from clamp.api.app import create_app
from clamp.api.server import Listener, bind, url_of
from clamp.api.service import Service

T = TypeVar("T")


@contextmanager
def listening(service: Service) -> Iterator[str]:
    """Serve ``service``'s app on a free loopback port; its URL."""
    with serving(create_app(service)) as url:
        yield url


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port; its URL."""
    listener = Listener(port=0)
    sock = bind(listener)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="clamp-test-serve"
    )
    thread.start()
    try:
        until(lambda: server.started, "the service to listen")
        yield url_of(sock, listener)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def until(
    condition: Callable[[], T],
    what: str,
    story: Callable[[], str] = lambda: "",
    timeout: float = 30.0,
) -> T:
    """``condition()`` once it is truthy, polled every 10 ms; fail after ``timeout`` s,
    saying what ``story`` tells of the state then."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {story()}")
        time.sleep(0.01)
