"""Flow logs: aggregates, per-blob/per-file cursors, coverage.

Revision ID: 0009_flows
Revises: 0008_notifications
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_flows"
down_revision: str | None = "0008_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create flow_aggregates, flow_cursors and flow_coverage."""
    op.create_table(
        "flow_aggregates",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(32), nullable=False, unique=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(1024), nullable=True),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("rule", sa.String(512), nullable=True),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flows", sa.BigInteger(), nullable=False),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=False),
        sa.Column("bytes_received", sa.BigInteger(), nullable=False),
        sa.Column("packets_sent", sa.BigInteger(), nullable=False),
        sa.Column("packets_received", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_flow_aggregates_resource_id", "flow_aggregates", ["resource_id"])
    op.create_index("ix_flow_aggregates_destination", "flow_aggregates", ["destination"])
    op.create_index("ix_flow_aggregates_bucket", "flow_aggregates", ["bucket"])
    op.create_table(
        "flow_cursors",
        sa.Column("source", sa.String(1024), primary_key=True),
        sa.Column("etag", sa.String(128), nullable=True),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "flow_coverage",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("resource", sa.String(1024), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_flow_coverage_bucket", "flow_coverage", ["bucket"])
    op.create_index(
        "ux_flow_coverage_resource_bucket", "flow_coverage", ["resource", "bucket"], unique=True
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("flow_coverage")
    op.drop_table("flow_cursors")
    op.drop_table("flow_aggregates")
