"""Jobs: the scans and rule runs the service made, asked for or on its schedule."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clamp.errors import NotFoundError
from clamp.store.codec import record_from_json, record_to_json
from clamp.store.service_tables import JobRow


class JobStatus(StrEnum):
    """Where a job stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    """One scan or rule run: who or what asked (``schedule`` for the scheduler), when, and
    what came of it (``result`` in words; ``summary``: the scan summary or rule tally)."""

    id: str
    kind: str
    """``scan`` or ``rules``."""
    actor: str
    created: datetime
    status: JobStatus = JobStatus.RUNNING
    finished: datetime | None = None
    result: str = ""
    summary: dict[str, Any] = field(default_factory=dict)


class JobBook:
    """Jobs in the store's database."""

    def __init__(self, reads: sessionmaker[Session], writes: sessionmaker[Session]) -> None:
        self._reads = reads
        self._writes = writes

    def save(self, job: Job) -> None:
        """Insert or update one job."""
        row = JobRow(
            id=job.id,
            kind=job.kind,
            status=job.status.value,
            created=job.created,
            data=record_to_json(job),
        )
        with self._writes.begin() as session:
            session.merge(row)

    def get(self, job_id: str) -> Job:
        """One job; ``NotFoundError`` if there is none."""
        with self._reads() as session:
            data = session.scalar(select(JobRow.data).where(JobRow.id == job_id))
        if data is None:
            raise NotFoundError(f"no scan or rule run {job_id!r}")
        return record_from_json(Job, data)

    def recent(self, *, kind: str | None = None, limit: int = 50) -> list[Job]:
        """The newest jobs (of one kind), newest first."""
        query = select(JobRow.data).order_by(JobRow.created.desc()).limit(limit)
        if kind is not None:
            query = query.where(JobRow.kind == kind)
        with self._reads() as session:
            return [record_from_json(Job, data) for data in session.scalars(query)]

    def running(self) -> list[Job]:
        """Jobs not finished (after a crash: ones that never will be)."""
        query = select(JobRow.data).where(JobRow.status == JobStatus.RUNNING.value)
        with self._reads() as session:
            return [record_from_json(Job, data) for data in session.scalars(query)]
