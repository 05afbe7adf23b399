"""Incidents, playbook runs and the approval queue, kept beside the action journal.

Each record is one row: the columns Clamp queries by (open, incident, status, decision)
plus the whole record as JSON, so the records can grow without a migration per field.
Every write is audited by the caller (``clamp.response``), which knows why it happens.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clamp.errors import NotFoundError
from clamp.model import Approval, Decision, Incident, Run, RunStatus
from clamp.store.audit import AuditLog
from clamp.store.codec import record_from_json, record_to_json
from clamp.store.records import AuditNote
from clamp.store.tables import ApprovalRow, IncidentRow, RunRow

_R = TypeVar("_R")


class IncidentBook:
    """Incidents, runs and approvals in the store's database."""

    def __init__(
        self, reads: sessionmaker[Session], writes: sessionmaker[Session], audit: AuditLog
    ) -> None:
        self._reads = reads
        self._writes = writes
        self._audit = audit

    # -- incidents ------------------------------------------------------------------------
    def save_incident(self, incident: Incident, audit: AuditNote | None = None) -> None:
        """Insert or update one incident, with its audit entry in the same transaction."""
        row = IncidentRow(
            id=incident.id,
            open=incident.open,
            created=incident.created,
            data=record_to_json(incident),
        )
        self._write(row, audit)

    def incident(self, incident_id: str) -> Incident:
        """One incident; ``NotFoundError`` if there is none."""
        return self._one(IncidentRow, Incident, incident_id, "incident", "clamp incident list")

    def incidents(self, *, open_only: bool = False) -> list[Incident]:
        """Incidents, newest first."""
        query = select(IncidentRow).order_by(IncidentRow.created.desc())
        if open_only:
            query = query.where(IncidentRow.open.is_(True))
        with self._reads() as session:
            return [record_from_json(Incident, row.data) for row in session.scalars(query)]

    # -- runs -----------------------------------------------------------------------------
    def save_run(self, run: Run, audit: AuditNote | None = None) -> None:
        """Insert or update one playbook run (every step change is saved at once), with its
        audit entry in the same transaction."""
        row = RunRow(
            id=run.id,
            incident=run.incident,
            status=run.status.value,
            created=run.created,
            data=record_to_json(run),
        )
        self._write(row, audit)

    def run(self, run_id: str) -> Run:
        """One run; ``NotFoundError`` if there is none."""
        return self._one(RunRow, Run, run_id, "playbook run", "clamp incident show INCIDENT")

    def runs(self, *, incident: str | None = None, status: RunStatus | None = None) -> list[Run]:
        """Runs (of one incident, in one status), oldest first."""
        query = select(RunRow).order_by(RunRow.created, RunRow.id)
        if incident is not None:
            query = query.where(RunRow.incident == incident)
        if status is not None:
            query = query.where(RunRow.status == status.value)
        with self._reads() as session:
            return [record_from_json(Run, row.data) for row in session.scalars(query)]

    # -- approvals ------------------------------------------------------------------------
    def save_approval(self, approval: Approval, audit: AuditNote | None = None) -> None:
        """Insert or update one approval request, with its audit entry in the same
        transaction."""
        row = ApprovalRow(
            id=approval.id,
            decision=approval.decision,
            created=approval.created,
            data=record_to_json(approval),
        )
        self._write(row, audit)

    def _write(self, row: IncidentRow | RunRow | ApprovalRow, audit: AuditNote | None) -> None:
        """One row and the audit entry that tells of it: one transaction, so a crash keeps
        both or neither."""
        with self._writes.begin() as session:
            session.merge(row)
            if audit is not None:
                self._audit.append_in(session, audit.event, audit.actor, audit.payload)

    def approval(self, approval_id: str) -> Approval:
        """One approval request; ``NotFoundError`` if there is none."""
        return self._one(ApprovalRow, Approval, approval_id, "approval", "clamp approvals list")

    def approvals(self, *, pending_only: bool = True) -> list[Approval]:
        """Approval requests (pending ones by default), oldest first."""
        query = select(ApprovalRow).order_by(ApprovalRow.created, ApprovalRow.id)
        if pending_only:
            query = query.where(ApprovalRow.decision == str(Decision.PENDING))
        with self._reads() as session:
            return [record_from_json(Approval, row.data) for row in session.scalars(query)]

    def _one(
        self,
        table: type[IncidentRow | RunRow | ApprovalRow],
        cls: type[_R],
        key: str,
        what: str,
        listing: str,
    ) -> _R:
        with self._reads() as session:
            data = session.scalar(select(table.data).where(table.id == key))
        if data is None:
            raise NotFoundError(f"no {what} {key!r}", hint=f"run `{listing}` to list them")
        return record_from_json(cls, data)
