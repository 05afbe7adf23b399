"""Actions: the findings on the objects a plan touches, as read before its first write.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``actions.baseline`` (finding id → severity; empty for earlier actions)."""
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("baseline", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    """Drop ``actions.baseline``."""
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("baseline")
