"""The findings' lifecycle rules shared by the ``Store``'s writers: a scan of scopes, and
the re-read of single resources (an event). New findings open, seen ones refresh, resolved
ones reopen, an expired suppression behaves as open."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from clamp.model import Finding, Provider
from clamp.store import codec
from clamp.store.row_records import OPEN, RESOLVED, SUPPRESSED, is_expired
from clamp.store.rows import FindingRow

_CHUNK = 500
_T = TypeVar("_T")


def chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``items`` in slices small enough for an SQL ``IN``."""
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def lock_findings(session: Session) -> None:
    """On PostgreSQL, writers of findings would race on inserting the same new finding."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE findings IN SHARE ROW EXCLUSIVE MODE"))


def refresh_row(row: FindingRow, finding: Finding) -> None:
    row.check, row.provider, row.resource = finding.check, finding.provider.value, finding.resource
    row.scope, row.severity, row.title = finding.scope, finding.severity.value, finding.title
    row.details = codec.to_jsonable(_keep_reporters(finding.details, row.details))


def _keep_reporters(details: Mapping[str, Any], previous: Any) -> Mapping[str, Any]:
    """Clamp's fresh evidence, still naming the other tools that reported the finding
    (``clamp.imports``): an imported finding Clamp now finds itself keeps its reports."""
    if not isinstance(previous, Mapping) or details.get("source") or "reported_by" in details:
        return details
    reports = previous.get("reported_by") or (
        previous.get("external") if previous.get("source") else None
    )
    return {**details, "reported_by": reports} if reports else details


def clear_suppression(row: FindingRow) -> None:
    row.suppressed_reason = row.suppressed_until = row.suppressed_by = None


def open_seen(
    session: Session,
    seen: dict[str, Finding],
    now: datetime,
    opened: list[str] | None = None,
    reopened_ids: set[str] | None = None,
) -> tuple[int, int, int, int]:
    """Open new findings, refresh seen ones, reopen resolved ones: (new, open,
    reopened, suppressed). The ids of the new and reopened ones go to ``opened``, those of
    the reopened ones also to ``reopened_ids``."""
    new = open_ = reopened = suppressed = 0
    existing = rows_by_id(session, list(seen))
    for fid, finding in seen.items():
        row = existing.get(fid)
        if row is None:
            row = FindingRow(id=fid, status=OPEN.value, first_seen=now, last_seen=now)
            refresh_row(row, finding)
            session.add(row)
            new += 1
            open_ += 1
            if opened is not None:
                opened.append(fid)
            continue
        refresh_row(row, finding)
        row.last_seen = now
        if row.status == RESOLVED.value:
            row.status, row.resolved_at = OPEN.value, None
            reopened += 1
            if opened is not None:
                opened.append(fid)
            if reopened_ids is not None:
                reopened_ids.add(fid)
        elif is_expired(row, now):
            row.status = OPEN.value
            clear_suppression(row)
        elif row.status == SUPPRESSED.value:
            suppressed += 1
            continue
        open_ += 1
    return new, open_, reopened, suppressed


def rows_by_id(session: Session, ids: Sequence[str]) -> dict[str, FindingRow]:
    rows: dict[str, FindingRow] = {}
    for chunk in chunks(ids):
        query = select(FindingRow).where(FindingRow.id.in_(chunk))
        rows.update((row.id, row) for row in session.scalars(query))
    return rows


def live_in_scopes(session: Session, scopes: Iterable[tuple[Provider, str]]) -> list[FindingRow]:
    by_provider: dict[str, list[str]] = {}
    for provider, scope in scopes:
        by_provider.setdefault(Provider(provider).value, []).append(scope.lower())
    rows: list[FindingRow] = []
    live = FindingRow.status.in_([OPEN.value, SUPPRESSED.value])
    for cloud, names in by_provider.items():
        for chunk in chunks(sorted(set(names))):
            query = select(FindingRow).where(
                live, FindingRow.provider == cloud, func.lower(FindingRow.scope).in_(chunk)
            )
            rows.extend(session.scalars(query))
    return rows


def live_on_resources(session: Session, resources: Iterable[str]) -> list[FindingRow]:
    """Open and suppressed findings on ``resources`` (cloud ids, matched case-blind)."""
    live = FindingRow.status.in_([OPEN.value, SUPPRESSED.value])
    rows: list[FindingRow] = []
    for chunk in chunks(sorted({r.lower() for r in resources})):
        rows.extend(
            session.scalars(
                select(FindingRow).where(live, func.lower(FindingRow.resource).in_(chunk))
            )
        )
    return rows


def resolve_unseen(row: FindingRow, seen: Collection[str], now: datetime) -> int:
    """Resolve an open (or expired-suppression) finding that ``seen`` lacks; 1 if it was."""
    if row.id in seen or not (row.status == OPEN.value or is_expired(row, now)):
        return 0
    row.status, row.resolved_at = RESOLVED.value, now
    clear_suppression(row)
    return 1
