"""Events waiting for a worker on one resource share its re-read: a burst of writes to one
NSG costs one re-read, and every event of the burst is still recorded as processed."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from clamp.api.service import NEWS_WORKERS, Service
from clamp.config import Settings
from clamp.events.azure import parse_azure
from clamp.events.config import AzureEvents, EventsConfig
from clamp.sandbox.server import Sandbox
from deliveries import SECRET, rule_written
from live_service import until


def hold(*pools: tuple[ThreadPoolExecutor, int]) -> threading.Event:
    """Keep ``n`` workers of each pool busy until the event is set."""
    release = threading.Event()
    for pool, workers in pools:
        for _ in range(workers):
            pool.submit(release.wait, 10)
    return release


def one_worker(estate: Sandbox, tmp_path: Path) -> Service:
    """A service over the sandbox with one worker for busy resources."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'clamp.db'}",
        sandbox_url=estate.url,
        events=EventsConfig(azure=AzureEvents(SECRET)),
    )
    return Service(settings, workers=1)


def test_a_burst_on_one_nsg_is_re_read_once_for_all_its_events(
    estate: Sandbox, tmp_path: Path
) -> None:
    service = one_worker(estate, tmp_path)  # its workers held until released
    try:
        release = hold((service.pool, 1), (service.news, NEWS_WORKERS))
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


def test_a_first_change_to_a_quiet_nsg_is_re_read_while_a_busy_nsgs_re_reads_wait(
    estate: Sandbox, tmp_path: Path
) -> None:
    service = one_worker(estate, tmp_path)
    try:
        busy = [rule_written("allow-ssh-corp", f"busy-{n}") for n in range(2)]
        quiet = rule_written("allow-ssh-corp", "quiet")
        quiet[0]["data"]["resourceUri"] = quiet[0]["subject"] = quiet[0]["subject"].replace(
            "internal-nsg/securityRules/allow-ssh-corp", "web-nsg/securityRules/allow-rdp"
        )
        service.take_events(parse_azure(json.dumps(busy[0]).encode()).events)
        service.idle()  # internal-nsg was just re-read: its next change is not news
        release = hold((service.pool, 1))  # busy re-reads wait (as for the cloud's budget)
        for body in (busy[1], quiet):  # the busy NSG's event arrives first
            service.take_events(parse_azure(json.dumps(body).encode()).events)

        def processed(event_id: str) -> bool:
            stored = service.store.events.get(event_id)
            return stored is not None and stored.processed is not None

        until(lambda: processed("azure:quiet"), "the quiet NSG's event to be processed")
        assert not processed("azure:busy-1")  # still waiting for a worker of its own
        release.set()
        service.idle()
        assert processed("azure:busy-1")
    finally:
        service.close()
