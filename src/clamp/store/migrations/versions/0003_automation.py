"""Automation: the inventory of the last scan, rule state and what each rule did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the inventory, rule_state and rule_actions tables."""
    op.create_table(
        "inventory",
        sa.Column("id", sa.String(1024), primary_key=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(256), nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inventory_provider_scope", "inventory", ["provider", "scope"])
    op.create_table(
        "rule_state",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_table(
        "rule_actions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("run", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_rule_actions_rule", "rule_actions", ["rule"])
    op.create_index("ix_rule_actions_created", "rule_actions", ["created"])


def downgrade() -> None:
    """Drop the three tables."""
    for table in ("rule_actions", "rule_state", "inventory"):
        op.drop_table(table)
