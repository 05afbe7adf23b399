"""``[flows]``: how flow logs are aggregated, kept and fetched.

[flows]
bucket = "1h"                 # aggregate time bucket
retention_days = 30           # older buckets are pruned at each ingest
schedule = "15m"              # the service ingests storage_accounts this often
storage_accounts = ["flowlogsacct"]
flush_keys = 100000           # aggregates held in memory before they are written
workers = 0                   # processes folding a folder's files (0: one per CPU, 1: none)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from clamp.errors import ConfigError, InputError
from clamp.events.flows.options import SIGNAL_FIELDS
from clamp.fields import check_fields, parse_duration

FIELDS = (
    "bucket",
    "retention_days",
    "schedule",
    "storage_accounts",
    "flush_keys",
    "workers",
    *SIGNAL_FIELDS,
)


@dataclass(frozen=True)
class FlowsConfig:
    """The ``[flows]`` table."""

    bucket: timedelta = timedelta(hours=1)
    retention_days: int = 30
    schedule: timedelta | None = None
    storage_accounts: tuple[str, ...] = ()
    flush_keys: int = 100_000
    workers: int = 0
    """Processes folding a folder's files: 0 one per CPU, 1 none (all in this process)."""

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> FlowsConfig:
        """``[flows]``, each entry checked."""
        here = f"{where}: flows"
        if not isinstance(data, Mapping):
            raise ConfigError(f"{here}: a table")
        try:
            check_fields(data, FIELDS, here)
            bucket = parse_duration(data.get("bucket", "1h"), f"{here}.bucket")
            schedule = (
                parse_duration(data["schedule"], f"{here}.schedule") if "schedule" in data else None
            )
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        if not timedelta(minutes=1) <= bucket <= timedelta(days=1):
            raise ConfigError(f"{here}.bucket: between 1m and 1d")
        days = data.get("retention_days", 30)
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise ConfigError(f"{here}.retention_days: a whole number of days, at least 1")
        accounts = data.get("storage_accounts", [])
        if not isinstance(accounts, list) or not all(isinstance(a, str) and a for a in accounts):
            raise ConfigError(f"{here}.storage_accounts: a list of storage account names")
        flush = data.get("flush_keys", 100_000)
        if not isinstance(flush, int) or isinstance(flush, bool) or flush < 1:
            raise ConfigError(f"{here}.flush_keys: a positive whole number")
        workers = data.get("workers", 0)
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
            raise ConfigError(f"{here}.workers: a whole number, 0 for one per CPU")
        return cls(bucket, days, schedule, tuple(accounts), flush, workers)
