"""The service's outbox pump: a daemon thread that drains the notices to the configured
sinks every few seconds (``clamp notify send`` does one pass by hand). It runs apart from
the scheduler, so a slow sink never delays a scheduled scan, and apart from every request,
so it never delays a fix."""

from __future__ import annotations

import logging

from clamp.api.periodic import Periodic
from clamp.api.service import Service
from clamp.notify.dispatcher import Dispatcher, DrainReport

log = logging.getLogger("clamp.notify")
INTERVAL = 5.0
"""Seconds between two passes over the outbox."""


class NoticePump(Periodic):
    """Drains the outbox while the service runs (only when sinks are configured)."""

    def __init__(self, service: Service, interval: float = INTERVAL) -> None:
        super().__init__("clamp-notify", interval, grace=30)
        self.service = service
        self.dispatcher = Dispatcher(service.store, service.settings)

    @property
    def active(self) -> bool:
        """Whether there is anywhere to send notices."""
        return bool(self.service.settings.notify.sinks)

    def stop(self) -> None:
        """Stop after the pass in progress; release the sinks' connections."""
        super().stop()
        self.dispatcher.close()

    def pump_once(self) -> DrainReport:
        """One pass over the outbox."""
        return self.dispatcher.drain()

    def tick(self) -> None:
        """One pass; a store that hiccuped is logged and tried again on the next pass."""
        try:
            report = self.pump_once()
        except Exception:
            log.exception("the notification outbox could not be drained")
            return
        if report.dead:
            log.warning(
                "%d notice deliveries failed for good: see `clamp notify failed`", report.dead
            )
