"""Events waiting for a worker on one resource share its re-read: a burst of writes to one
NSG costs one re-read, and every event of the burst is still recorded as processed."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from clamp.api.service import Service
from clamp.config import Settings
from clamp.events.azure import parse_azure
from clamp.events.config import AzureEvents, EventsConfig
from clamp.sandbox.server import Sandbox
from deliveries import SECRET, rule_written


def test_a_burst_on_one_nsg_is_re_read_once_for_all_its_events(
    estate: Sandbox, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'clamp.db'}",
        sandbox_url=estate.url,
        events=EventsConfig(azure=AzureEvents(SECRET)),
    )
    service = Service(settings, workers=1)  # one worker, held until released
    try:
        release = threading.Event()
        service.pool.submit(release.wait, 10)
        burst = [rule_written("allow-ssh-corp", f"burst-{n}") for n in range(3)]
        other = rule_written("allow-ssh-corp")
        other[0]["data"]["resourceUri"] = other[0]["subject"] = other[0]["subject"].replace(
            "internal-nsg/securityRules/allow-ssh-corp", "web-nsg/securityRules/allow-rdp"
        )
        for body in (*burst, other):
            assert service.take_events(parse_azure(json.dumps(body).encode()).events) == 1
        release.set()
        service.idle()

        results = [service.store.events.get(f"azure:burst-{n}") for n in range(3)]
        assert all(r is not None and r.processed is not None for r in results)
        first, *rest = results
        assert first is not None and first.result.startswith("re-read /subscriptions/")
        assert all(r is not None and r.result == "re-read with azure:burst-0" for r in rest)
        separate = service.store.events.get(f"azure:{other[0]['id']}")
        assert separate is not None and separate.result.startswith("re-read ")
        assert "web-nsg" in separate.result  # another NSG: a re-read of its own
        assert service.events.stats()["processed"] == 4
    finally:
        service.close()


def test_a_first_change_to_a_quiet_nsg_is_re_read_before_a_busy_nsg_waiting_longer(
    estate: Sandbox, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'clamp.db'}",
        sandbox_url=estate.url,
        events=EventsConfig(azure=AzureEvents(SECRET)),
    )
    service = Service(settings, workers=1)
    try:
        busy = [rule_written("allow-ssh-corp", f"busy-{n}") for n in range(2)]
        quiet = rule_written("allow-ssh-corp", "quiet")
        quiet[0]["data"]["resourceUri"] = quiet[0]["subject"] = quiet[0]["subject"].replace(
            "internal-nsg/securityRules/allow-ssh-corp", "web-nsg/securityRules/allow-rdp"
        )
        service.take_events(parse_azure(json.dumps(busy[0]).encode()).events)
        service.idle()  # internal-nsg was just re-read: its next change is not news
        release = threading.Event()
        service.pool.submit(release.wait, 10)
        for body in (busy[1], quiet):  # the busy NSG's event waits longer
            service.take_events(parse_azure(json.dumps(body).encode()).events)
        release.set()
        service.idle()

        again = service.store.events.get("azure:busy-1")
        first = service.store.events.get("azure:quiet")
        assert again is not None and first is not None
        assert first.processed is not None and again.processed is not None
        assert first.processed < again.processed  # news first
        assert "web-nsg" in first.result and "internal-nsg" in again.result
    finally:
        service.close()
