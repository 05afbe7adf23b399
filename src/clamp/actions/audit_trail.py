"""The audit log's view of the action engine: what it records of each event.

The engine journals each action and tells its observers what happened (``Observer``:
progress displays, tests). The audit entry of an event is not left to an observer that a
crash could cut off: ``audit_note`` says what the log records, and the journal writes it
in the same transaction as the action (``Store.save_action(record, audit=…)``), so the log
always tells exactly what the journal says.
"""

from __future__ import annotations

from collections.abc import Callable

from clamp.model import ActionRecord
from clamp.store import AuditNote
from clamp.store.codec import plan_to_json

Observer = Callable[[str, ActionRecord, str], None]
"""Told ``(event, record, actor)`` after each journaled step (``action.planned``, …)."""


def audit_note(event: str, record: ActionRecord, actor: str) -> AuditNote:
    """The audit entry of one engine event: who acted, and the action with its plan."""
    return AuditNote(
        event,
        actor,
        {
            "action": record.id,
            "finding": record.finding,
            "intent": record.intent,
            "status": str(record.status),
            "reason": record.reason,
            "result": record.result,
            "undoes": record.undoes,
            "plan": plan_to_json(record.plan),
        },
    )
