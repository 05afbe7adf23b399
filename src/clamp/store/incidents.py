"""Incidents, playbook runs and the approval queue, kept beside the action journal.

Each record is one row: the columns Clamp queries by (open, incident, status, decision)
plus the whole record as JSON, so the records can grow without a migration per field.
Every write is audited by the caller (``clamp.response``), which knows why it happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select, Table, select

from clamp.errors import NotFoundError
from clamp.model import Approval, Decision, Incident, Run, RunStatus
from clamp.store import tables
from clamp.store.audit import AuditLog
from clamp.store.codec import record_from_json, record_to_json
from clamp.store.records import AuditNote

if TYPE_CHECKING:
    from clamp.store.rows import ApprovalRow, IncidentRow, RunRow
    from clamp.store.sessions import Sessions

_R = TypeVar("_R")


class IncidentBook:
    """Incidents, runs and approvals in the store's database."""

    # Reads run on SQLAlchemy Core (every command asks for the runs a crash left running);
    # the writes' ORM rows load with the first write.
    def __init__(self, sessions: Sessions, audit: AuditLog) -> None:
        self._sessions = sessions
        self._audit = audit

    # -- incidents ------------------------------------------------------------------------
    def save_incident(self, incident: Incident, audit: AuditNote | None = None) -> None:
        """Insert or update one incident, with its audit entry in the same transaction."""
        from clamp.store.rows import IncidentRow

        row = IncidentRow(
            id=incident.id,
            open=incident.open,
            created=incident.created,
            data=record_to_json(incident),
        )
        self._write(row, audit)

    def incident(self, incident_id: str) -> Incident:
        """One incident; ``NotFoundError`` if there is none."""
        return self._one(tables.incidents, Incident, incident_id, "incident", "clamp incident list")

    def incidents(self, *, open_only: bool = False) -> list[Incident]:
        """Incidents, newest first."""
        found = tables.incidents.c
        query = select(found.data).order_by(found.created.desc())
        if open_only:
            query = query.where(found.open.is_(True))
        return self._all(Incident, query)

    # -- runs -----------------------------------------------------------------------------
    def save_run(self, run: Run, audit: AuditNote | None = None) -> None:
        """Insert or update one playbook run (every step change is saved at once), with its
        audit entry in the same transaction."""
        from clamp.store.rows import RunRow

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
        return self._one(tables.runs, Run, run_id, "playbook run", "clamp incident show INCIDENT")

    def runs(self, *, incident: str | None = None, status: RunStatus | None = None) -> list[Run]:
        """Runs (of one incident, in one status), oldest first."""
        runs = tables.runs.c
        query = select(runs.data).order_by(runs.created, runs.id)
        if incident is not None:
            query = query.where(runs.incident == incident)
        if status is not None:
            query = query.where(runs.status == status.value)
        return self._all(Run, query)

    # -- approvals ------------------------------------------------------------------------
    def save_approval(self, approval: Approval, audit: AuditNote | None = None) -> None:
        """Insert or update one approval request, with its audit entry in the same
        transaction."""
        from clamp.store.rows import ApprovalRow

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
        with self._sessions.writes.begin() as session:
            session.merge(row)
            if audit is not None:
                self._audit.append_in(session, audit.event, audit.actor, audit.payload)

    def approval(self, approval_id: str) -> Approval:
        """One approval request; ``NotFoundError`` if there is none."""
        return self._one(
            tables.approvals, Approval, approval_id, "approval", "clamp approvals list"
        )

    def approvals(self, *, pending_only: bool = True) -> list[Approval]:
        """Approval requests (pending ones by default), oldest first."""
        asked = tables.approvals.c
        query = select(asked.data).order_by(asked.created, asked.id)
        if pending_only:
            query = query.where(asked.decision == str(Decision.PENDING))
        return self._all(Approval, query)

    def _all(self, cls: type[_R], query: Select[tuple[Any]]) -> list[_R]:
        with self._sessions.engine.connect() as connection:
            return [record_from_json(cls, data) for data in connection.scalars(query)]

    def _one(self, table: Table, cls: type[_R], key: str, what: str, listing: str) -> _R:
        with self._sessions.engine.connect() as connection:
            data = connection.scalar(select(table.c.data).where(table.c.id == key))
        if data is None:
            raise NotFoundError(f"no {what} {key!r}", hint=f"run `{listing}` to list them")
        return record_from_json(cls, data)
