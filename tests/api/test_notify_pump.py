"""The service drains the outbox on its own while it runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from clamp.api.notify_pump import NoticePump
from clamp.notify.config import NotifyConfig
from clamp.sandbox.server import Sandbox
from notify_kit import webhook
from receivers import Receiver, receiver
from service_client import make_service


@pytest.fixture
def hook() -> Iterator[Receiver]:
    """A local HTTP receiver."""
    with receiver() as box:
        yield box


def test_the_service_pumps_the_scans_notices_to_the_sinks(
    sandbox: Sandbox, tmp_path: Path, hook: Receiver
) -> None:
    service = make_service(sandbox, tmp_path)  # its first scan queued the findings' notices
    service.settings = replace(service.settings, notify=NotifyConfig((webhook(hook.url),)))
    pump = NoticePump(service, interval=0.05)
    opened = len(service.store.findings())
    try:
        pump.start()
        deadline = time.monotonic() + 30
        while len(hook.requests) < opened and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pump.stop()
        service.close()

    assert len(hook.requests) == opened > 0
    assert {r.json()["type"] for r in hook.requests} == {"finding.opened"}


def test_without_sinks_the_pump_does_not_run(sandbox: Sandbox, tmp_path: Path) -> None:
    service = make_service(sandbox, tmp_path)
    pump = NoticePump(service, interval=0.05)
    try:
        pump.start()
        assert not pump.active and not pump._thread.is_alive()
    finally:
        pump.stop()
        service.close()
