"""Enforcement delays: an event remembers the findings it opened and when the rules that
wait (``enforcement_delay``) are due to act on them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add events.due (indexed) and events.opened."""
    op.add_column("events", sa.Column("due", sa.DateTime(timezone=True), nullable=True))
    op.add_column("events", sa.Column("opened", sa.Text(), nullable=True))
    op.create_index("ix_events_due", "events", ["due"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_events_due", "events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("opened")
        batch.drop_column("due")
