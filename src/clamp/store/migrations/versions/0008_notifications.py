"""Outbound notifications: the outbox (notices) and each notice's deliveries to sinks.

Revision ID: 0008_notifications
Revises: 0007
Create Date: 2026-12-02 13:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_notifications"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create notices and notice_deliveries."""
    op.create_table(
        "notices",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("provider", sa.String(16), nullable=True),
        sa.Column("scope", sa.String(256), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("routed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_notices_created", "notices", ["created"])
    op.create_index("ix_notices_routed", "notices", ["routed"])
    op.create_index("ix_notices_kind_subject", "notices", ["kind", "subject"])
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("notice", sa.String(32), nullable=False),
        sa.Column("sink", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_index("ix_notice_deliveries_notice", "notice_deliveries", ["notice"])
    op.create_index("ix_notice_deliveries_status", "notice_deliveries", ["status"])
    op.create_index("ix_notice_deliveries_due", "notice_deliveries", ["due"])
    op.create_index(
        "ux_notice_deliveries_notice_sink", "notice_deliveries", ["notice", "sink"], unique=True
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("notice_deliveries")
    op.drop_table("notices")
