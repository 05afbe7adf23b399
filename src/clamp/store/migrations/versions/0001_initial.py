"""Initial schema: findings, scans, the action journal and the hash-chained audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the tables and seed the audit chain head."""
    op.create_table(
        "findings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("check", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(256), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _when("first_seen"),
        _when("last_seen"),
        _when("resolved_at", nullable=True),
        sa.Column("suppressed_reason", sa.Text(), nullable=True),
        _when("suppressed_until", nullable=True),
        sa.Column("suppressed_by", sa.String(256), nullable=True),
    )
    op.create_index("ix_findings_status", "findings", ["status"])
    op.create_index("ix_findings_provider_scope", "findings", ["provider", "scope"])

    op.create_table(
        "scans",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _when("recorded"),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("resources", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("suppressed", sa.Integer(), nullable=False),
    )

    op.create_table(
        "actions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("finding", sa.String(64), nullable=False),
        sa.Column("intent", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        _when("created"),
        _when("updated", nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("in_flight", sa.Boolean(), nullable=False),
        sa.Column("undoes", sa.String(64), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("applied", sa.JSON(), nullable=False),
    )
    op.create_index("ix_actions_finding", "actions", ["finding"])
    op.create_index("ix_actions_created", "actions", ["created"])
    op.create_index("ix_actions_in_flight", "actions", ["in_flight"])

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        _when("timestamp"),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def downgrade() -> None:
    """Drop everything this revision created."""
    for table in ("audit_head", "audit_log", "actions", "scans", "findings"):
        op.drop_table(table)
