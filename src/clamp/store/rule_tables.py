"""The automation rules' tables: the last scan's inventory, each rule's state and what it
did (``RuleBook``); loaded with the book, registered on ``Base``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from clamp.store.rows import Base


class InventoryRow(Base):
    """One resource as the last scan of its scope saw it (tags for rule scopes and stages,
    the raw object for ``clamp rules rehearse``)."""

    __tablename__ = "inventory"

    id: Mapped[str] = mapped_column(String(1024), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(256))
    type: Mapped[str] = mapped_column(String(128))
    tags: Mapped[dict[str, Any]]
    raw: Mapped[dict[str, Any]]
    seen: Mapped[datetime]

    __table_args__ = (Index("ix_inventory_provider_scope", "provider", "scope"),)


class RuleStateRow(Base):
    """Where one automation rule stands: enabled when, stage, halted (record in ``data``)."""

    __tablename__ = "rule_state"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[dict[str, Any]]


class RuleActionRow(Base):
    """One thing a rule did (or chose not to do) to one finding in one run."""

    __tablename__ = "rule_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(128), index=True)
    run: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[dict[str, Any]]
