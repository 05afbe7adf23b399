"""Real-time events: the events received, their identities for deduplication, and the
delivery counters.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the events, event_keys and event_counters tables."""
    op.create_table(
        "events",
        sa.Column("id", sa.String(512), primary_key=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("type", sa.String(256), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acted", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
    )
    op.create_index("ix_events_received", "events", ["received"])
    op.create_index("ix_events_processed", "events", ["processed"])
    op.create_table(
        "event_keys",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("event", sa.String(512), nullable=False),
    )
    op.create_index("ix_event_keys_event", "event_keys", ["event"])
    op.create_table(
        "event_counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Drop the three tables."""
    for table in ("event_counters", "event_keys", "events"):
        op.drop_table(table)
