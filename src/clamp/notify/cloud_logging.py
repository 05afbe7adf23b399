"""Google Cloud Logging (and from there wherever the project's log sinks route it): each
notice as one structured entry of a project's log, through the Logging API
(``clamp.providers.gcp.cloud_logging``, google-api-python-client). The entry's
``jsonPayload`` is the notice's JSON event (OCSF inside), its ``insertId`` the notice id."""

from __future__ import annotations

from typing import Any

from clamp.config import Settings
from clamp.errors import AuthenticationError, CloudError, CloudUnavailable, RateLimited
from clamp.notify.interface import DeliveryFailed, DeliveryRefused
from clamp.notify.message import Message
from clamp.store.codec import iso

LOG_SEVERITY = {
    "info": "INFO",
    "low": "NOTICE",
    "medium": "WARNING",
    "high": "ERROR",
    "critical": "CRITICAL",
}
"""Clamp's severities as ``LogSeverity`` (Logging API v2); no severity: NOTICE."""


def entry(message: Message) -> dict[str, Any]:
    """The ``LogEntry`` of one notice."""
    n = message.notice
    return {
        "insertId": n.id,
        "timestamp": iso(n.created),
        "severity": LOG_SEVERITY.get(n.severity or "", "NOTICE"),
        "labels": {"clamp_kind": n.kind, "clamp_subject": n.subject[:1024]},
        "jsonPayload": message.document(),
    }


class CloudLoggingSink:
    """Writes each notice to one Cloud Logging log."""

    def __init__(self, name: str, settings: Settings, project: str, log: str) -> None:
        from clamp.providers.gcp.cloud_logging import LogWriter  # the client loads here

        self.name = name
        self._writer = LogWriter(settings, project, log)

    def deliver(self, message: Message) -> None:
        """Write one notice; a refusal the API will repeat is dead-lettered at once."""
        try:
            self._writer.write([entry(message)])
        except (RateLimited, CloudUnavailable, AuthenticationError) as exc:
            raise DeliveryFailed(f"{self.name}: {exc}") from exc
        except CloudError as exc:
            raise DeliveryRefused(f"{self.name}: {exc}") from exc
