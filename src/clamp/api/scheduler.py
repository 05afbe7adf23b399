"""The service's clock: periodic scans and rule runs from the config's ``[schedule]``, and
flow-log rounds over the ``[flows] storage_accounts`` every ``[flows] schedule``.

When a job is due is worked out from the store (the newest job of its kind), so a restart
keeps the cadence instead of scanning at once. Each run is a job like one a user asked
for, recorded and shown; its actor is ``schedule``. Each tick also starts the event rules
whose enforcement delay has run out (their due times are in the store too).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from clamp.api.periodic import Periodic
from clamp.api.service import Service
from clamp.config import AFTER_SCAN
from clamp.errors import ClampError
from clamp.roles import SCHEDULER
from clamp.store.jobs import Job, JobStatus

log = logging.getLogger("clamp.service")


class Scheduler(Periodic):
    """A daemon thread that starts the jobs the schedule says are due."""

    def __init__(self, service: Service, tick: float = 1.0) -> None:
        super().__init__("clamp-scheduler", tick, grace=5)
        self.service = service
        self.schedule = service.settings.schedule
        flows = service.settings.flows
        self._flows = flows.schedule if flows.storage_accounts else None
        """How often the ``[flows] storage_accounts`` are ingested (``[flows] schedule``)."""
        self._after: str | None = None
        """The scheduled scan whose end starts a rule run (``rules = "after-scan"``)."""

    @property
    def active(self) -> bool:
        """Whether anything is scheduled, or may be: event rules with an enforcement
        delay are run when they are due (a rules file is configured)."""
        scheduled = self.schedule.scan is not None or self.schedule.rules is not None
        scheduled = scheduled or self._flows is not None
        return scheduled or self.service.settings.rules_file is not None

    def tick(self) -> None:
        """Start what is due now (a job already started finishes on the service's pool)."""
        try:
            self.run_due(datetime.now(UTC))
        except ClampError as exc:
            log.error("scheduled job not started: %s", exc)

    def run_due(self, now: datetime) -> list[Job]:
        """Start what is due at ``now``: event rules whose enforcement delay ran out, and
        scheduled jobs; the jobs started."""
        self.service.run_delayed(now)
        started: list[Job] = []
        if self._due("scan", self.schedule.scan, now):
            job = self.service.scan(SCHEDULER)
            started.append(job)
            if self.schedule.rules == AFTER_SCAN:
                self._after = job.id
        if self._due("flows", self._flows, now):
            started.append(self.service.ingest_flows(SCHEDULER))
        rules = self.schedule.rules
        if isinstance(rules, timedelta) and self._due("rules", rules, now):
            started.append(self.service.run_rules(SCHEDULER))
        elif rules == AFTER_SCAN and self._after is not None:
            scan = self.service.store.jobs.get(self._after)
            if scan.status != JobStatus.RUNNING:
                self._after = None
                if scan.status == JobStatus.SUCCEEDED:
                    started.append(self.service.run_rules(SCHEDULER))
        return started

    def _due(self, kind: str, every: timedelta | None, now: datetime) -> bool:
        if every is None:
            return False
        last = self.service.store.jobs.recent(kind=kind, limit=1)
        if last and last[0].status == JobStatus.RUNNING:
            return False  # never two of a kind at once
        return not last or last[0].created + every <= now
