"""The audit log as an observer of the action engine.

The engine journals each action (``Store.save_action``) and then tells its observers what
happened; ``AuditTrail`` is the first of them on every engine and appends each event —
who, what, why, the plan and the result — to the hash-chained audit log.
"""

from __future__ import annotations

from collections.abc import Callable

from clamp.model import ActionRecord
from clamp.store import AuditLog
from clamp.store.codec import plan_to_json

Observer = Callable[[str, ActionRecord, str], None]
"""Told ``(event, record, actor)`` after each journaled step (``action.planned``, …)."""


class AuditTrail:
    """Appends every engine event to the audit log."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def __call__(self, event: str, record: ActionRecord, actor: str) -> None:
        """One entry: the event, who acted, and the action with its plan."""
        self.audit.append(
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
