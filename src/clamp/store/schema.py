"""Every table of the store on one ``MetaData``, for the migrations and for copying tables.

The tables' modules otherwise load with the books that use them (``clamp findings`` reads
the findings, actions and audit tables, not the users', events' or flow logs')."""

from __future__ import annotations

from sqlalchemy import MetaData

from clamp.store import event_tables, flow_tables, rule_tables, service_tables
from clamp.store.tables import METADATA as _TABLES

TABLE_MODULES = (event_tables, flow_tables, rule_tables, service_tables)
"""Imported for the tables they register on ``clamp.store.tables.METADATA``."""
METADATA: MetaData = _TABLES
