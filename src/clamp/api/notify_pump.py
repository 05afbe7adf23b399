"""The service's outbox pump: a daemon thread that drains the notices to the configured
sinks every few seconds (``clamp notify send`` does one pass by hand). It runs apart from
the scheduler, so a slow sink never delays a scheduled scan, and apart from every request,
so it never delays a fix."""

from __future__ import annotations

import logging
import threading

from clamp.api.service import Service
from clamp.notify.dispatcher import Dispatcher, DrainReport

log = logging.getLogger("clamp.notify")
INTERVAL = 5.0
"""Seconds between two passes over the outbox."""


class NoticePump:
    """Drains the outbox while the service runs (only when sinks are configured)."""

    def __init__(self, service: Service, interval: float = INTERVAL) -> None:
        self.service = service
        self.interval = interval
        self.dispatcher = Dispatcher(service.store, service.settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="clamp-notify", daemon=True)

    @property
    def active(self) -> bool:
        """Whether there is anywhere to send notices."""
        return bool(self.service.settings.notify.sinks)

    def start(self) -> None:
        """Start pumping (nothing happens when no sink is configured)."""
        if self.active:
            self._thread.start()

    def stop(self) -> None:
        """Stop after the pass in progress; release the sinks' connections."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.dispatcher.close()

    def pump_once(self) -> DrainReport:
        """One pass over the outbox."""
        return self.dispatcher.drain()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                report = self.pump_once()
            except Exception:  # the store hiccuped: say so and try again on the next pass
                log.exception("the notification outbox could not be drained")
                continue
            if report.dead:
                log.warning(
                    "%d notice deliveries failed for good: see `clamp notify failed`", report.dead
                )
