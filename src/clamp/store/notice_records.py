"""What the outbox of outbound notifications holds (``clamp.store.notices`` keeps it): the
kinds of notice, a notice, and its delivery to one sink. No SQLAlchemy here, so the
notification config can name the kinds without loading the store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

NOTIFIED_EVENTS = frozenset(
    {
        "action.applied",
        "action.verified",
        "action.failed",
        "action.undone",
        "action.reconciled",
        "undo.verified",
        "undo.failed",
        "approval.requested",
        "approval.approved",
        "approval.rejected",
        "incident.opened",
        "incident.closed",
        "run.finished",
        "run.undone",
        "run.undo_failed",
        "rule.halted",
        "rule.notified",
    }
)
"""The audited events that become notices (``user.*``, ``*.planned``, ``run.step``… do not),
and ``rule.notified``: a ``notify`` rule matched a finding (told once while it is open)."""
FINDING_EVENTS = ("finding.opened", "finding.reopened", "finding.resolved")
NOTICE_KINDS = tuple(sorted(NOTIFIED_EVENTS | set(FINDING_EVENTS)))


class DeliveryStatus(StrEnum):
    """Where one notice stands with one sink."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Notice:
    """One event to tell the sinks of: what happened (``kind``), to what (``subject``: a
    finding, action, approval, incident, run or rule id), how bad and where (when known),
    and a snapshot of the record as it was (``data``)."""

    id: str
    kind: str
    created: datetime
    actor: str
    subject: str
    severity: str | None
    provider: str | None
    scope: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notice on its way to one sink."""

    id: int
    notice: Notice
    sink: str
    status: DeliveryStatus
    attempts: int
    due: datetime
    updated: datetime
    error: str

    def to_json(self) -> dict[str, Any]:
        """The delivery as ``clamp notify failed --format json`` and the API show it."""
        return {
            "id": self.id,
            "sink": self.sink,
            "status": self.status.value,
            "notice": self.notice.id,
            "kind": self.notice.kind,
            "subject": self.notice.subject,
            "severity": self.notice.severity,
            "created": self.notice.created.isoformat(),
            "attempts": self.attempts,
            "updated": self.updated.isoformat(),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: delivered (``error`` None), to be tried again at
    ``retry_at``, or a dead letter (an ``error`` and no ``retry_at``)."""

    delivery: int
    error: str | None = None
    retry_at: datetime | None = None
