"""The tamper-evident audit log: append-only, each entry hash-chained to the one before.

``hash = sha256(prev_hash + canonical JSON of {seq, timestamp, event, actor, payload})``
where canonical JSON has sorted keys and no whitespace; the first entry's ``prev_hash``
is 64 zeros. A single chain-head row (last seq and hash) is locked by every append
(``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so concurrent
writers queue instead of forking the chain, and a deleted tail is detected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from clamp.errors import AuditTampered
from clamp.store import tables
from clamp.store.codec import iso, to_jsonable
from clamp.store.records import AuditEntry
from clamp.store.tables import GENESIS_HASH

if TYPE_CHECKING:
    from sqlalchemy import Row
    from sqlalchemy.orm import Session

    from clamp.store.sessions import Sessions

HEAD_ID = 1
_RESTORE_HINT = "restore the database from a backup and investigate who had write access to it"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace, no NaN: the same bytes for the same data."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(
    prev_hash: str, seq: int, timestamp: datetime, event: str, actor: str, payload: Any
) -> str:
    """The chained hash of one entry."""
    document = {
        "seq": seq,
        "timestamp": iso(timestamp),
        "event": event,
        "actor": actor,
        "payload": payload,
    }
    return hashlib.sha256((prev_hash + canonical_json(document)).encode()).hexdigest()


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        timestamp=row.timestamp,
        event=row.event,
        actor=row.actor,
        payload=json.loads(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class AuditLog:
    """Append to, read and verify the hash-chained audit log of one store."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def append(self, event: str, actor: str, payload: Mapping[str, Any]) -> AuditEntry:
        """Append one entry in its own transaction and return it."""
        with self._sessions.writes.begin() as session:
            return self.append_in(session, event, actor, payload)

    def append_in(
        self, session: Session, event: str, actor: str, payload: Mapping[str, Any]
    ) -> AuditEntry:
        """Append one entry inside the caller's (write) transaction, with the notice the
        sinks get of it (``clamp.store.notices``) in the same transaction."""
        # The ORM's side loads with the first write: reading and verifying run on Core.
        from clamp.store.notices import enqueue_in
        from clamp.store.rows import AuditEntryRow, AuditHeadRow

        text = canonical_json(to_jsonable(payload))
        stored_payload = json.loads(text)
        head = session.scalars(
            select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).with_for_update()
        ).one_or_none()
        if head is None:
            raise AuditTampered(
                "the audit log's chain head is missing; the log cannot be appended to",
                hint=_RESTORE_HINT,
            )
        seq = head.seq + 1
        now = datetime.now(UTC)
        digest = entry_hash(head.hash, seq, now, event, actor, stored_payload)
        row = AuditEntryRow(
            seq=seq,
            timestamp=now,
            event=event,
            actor=actor,
            payload=text,
            prev_hash=head.hash,
            hash=digest,
        )
        session.add(row)
        head.seq, head.hash = seq, digest
        enqueue_in(session, event, actor, stored_payload, now)
        session.flush()
        return AuditEntry(seq, now, event, actor, stored_payload, row.prev_hash, digest)

    def entries(self, *, since: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries with ``seq > since`` in chain order (at most ``limit``)."""
        log = tables.audit_log
        query = select(log).where(log.c.seq > since).order_by(log.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._sessions.engine.connect() as connection:
            return [_entry(row) for row in connection.execute(query)]

    def verify(self) -> int:
        """Check the whole chain; return how many entries verified.

        Raises ``AuditTampered`` naming the first entry that does not verify: an edited
        entry, a deleted or reordered one, or a missing tail.
        """
        expected_seq, prev_hash = 1, GENESIS_HASH
        log, heads = tables.audit_log, tables.audit_head
        with self._sessions.engine.connect() as connection:
            query = select(log).order_by(log.c.seq).execution_options(yield_per=1000)
            rows = connection.execute(query)
            try:
                for row in rows:
                    _check_entry(row, expected_seq, prev_hash)
                    expected_seq, prev_hash = row.seq + 1, row.hash
            finally:
                rows.close()  # a server-side cursor on PostgreSQL
            head = connection.execute(select(heads).where(heads.c.id == HEAD_ID)).one_or_none()
        last = expected_seq - 1
        if head is None:
            raise AuditTampered("the audit log's chain head is missing", hint=_RESTORE_HINT)
        if head.seq != last or head.hash != prev_hash:
            if head.seq > last:
                raise AuditTampered(
                    f"audit entry {last + 1} is missing: the log ends at entry {last} but "
                    f"{head.seq} entries were written (entries were deleted)",
                    hint=_RESTORE_HINT,
                )
            raise AuditTampered(
                f"audit entry {last} does not match the chain head (seq {head.seq}); "
                "the log was altered",
                hint=_RESTORE_HINT,
            )
        return last


def _check_entry(row: Row[Any], expected_seq: int, prev_hash: str) -> None:
    if row.seq != expected_seq:
        raise AuditTampered(
            f"audit entry {expected_seq} is missing (the next entry is {row.seq}): "
            "entries were deleted or renumbered",
            hint=_RESTORE_HINT,
        )
    if row.prev_hash != prev_hash:
        raise AuditTampered(
            f"audit entry {row.seq} does not chain to entry {row.seq - 1}: "
            "entries were reordered, deleted or replaced",
            hint=_RESTORE_HINT,
        )
    try:
        payload = json.loads(row.payload)
    except ValueError as exc:
        raise AuditTampered(
            f"audit entry {row.seq} was altered: its payload is not valid JSON",
            hint=_RESTORE_HINT,
        ) from exc
    if entry_hash(prev_hash, row.seq, row.timestamp, row.event, row.actor, payload) != row.hash:
        raise AuditTampered(
            f"audit entry {row.seq} was altered: its hash does not match its contents",
            hint=_RESTORE_HINT,
        )
