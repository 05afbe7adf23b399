"""Notices and settings for the notification tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from clamp.config import Settings
from clamp.model import Finding, Provider, Severity
from clamp.notify.config import NotifyConfig, SinkConfig, SinkKind
from clamp.store import Store

KEY = b"a key of thirty-two bytes, exact"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
SUB = "00000000-0000-4000-8000-000000000001"
NSG = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/"


def finding(name: str, severity: Severity = Severity.HIGH, scope: str = SUB) -> Finding:
    """An exposed-admin-port finding on the NSG ``name``."""
    details = {"ports": ["22"]}
    return Finding(
        "exposed-admin-port", Provider.AZURE, NSG + name, scope, severity, "SSH open", details
    )


def scan(store: Store, *findings: Finding, scope: str = SUB) -> None:
    """Record a scan of ``scope`` that saw ``findings``."""
    store.record_scan([(Provider.AZURE, scope)], list(findings), resources=3, source="test")


def settings(store: Store, *sinks: SinkConfig, **extra: Any) -> Settings:
    """Settings over ``store`` with ``sinks``."""
    return Settings(database_url=store.url, actor="tester", notify=NotifyConfig(sinks), **extra)


def webhook(url: str, **fields: Any) -> SinkConfig:
    """A Standard Webhooks sink at ``url``."""
    return SinkConfig(name="hook", kind=SinkKind.WEBHOOK, url=url, secret=SECRET, **fields)


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move on."""
        self.now += timedelta(seconds=seconds)
