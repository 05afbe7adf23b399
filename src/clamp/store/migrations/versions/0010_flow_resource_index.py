"""Flow aggregates: no index on ``resource_id``.

Aggregates are looked up by resource case-insensitively (``lower(resource_id) IN …``),
which a plain index on the column cannot serve on SQLite or PostgreSQL, while every
upsert of an aggregate that names its resource paid for it (about a third of the write).

Revision ID: 0010_flow_resource_index
Revises: 0009_flows
Create Date: 2026-12-04 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_flow_resource_index"
down_revision: str | None = "0009_flows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the index no query uses."""
    op.drop_index("ix_flow_aggregates_resource_id", table_name="flow_aggregates")


def downgrade() -> None:
    """Put it back."""
    op.create_index("ix_flow_aggregates_resource_id", "flow_aggregates", ["resource_id"])
