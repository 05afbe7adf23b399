"""Cloud Logging's ``entries.write`` (Logging API v2, through google-api-python-client's
bundled discovery document): notices as structured log entries in a project's log, where
the project's log sinks route them on.

The identity needs ``logging.logEntries.create`` (roles/logging.logWriter) on the project.
Each entry's ``insertId`` is the notice's id: Cloud Logging drops an entry with the same
``insertId`` and ``timestamp`` as one it has (the ``LogEntry.insertId`` documentation), so a
retried delivery does not log twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.auth.credentials import Credentials

from clamp.config import Settings
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import translated

PERMISSION = "logging.logEntries.create"
RETRIES = 2


class LogWriter:
    """Writes entries to one log of one project."""

    def __init__(
        self, settings: Settings, project: str, log: str, credentials: Credentials | None = None
    ) -> None:
        self.log_name = f"projects/{project}/logs/{log}"
        self.resource = {"type": "global", "labels": {"project_id": project}}
        self._api = GcpClients(settings, credentials).logging

    def write(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Write ``entries`` (``LogEntry`` objects without logName and resource)."""
        body = {"logName": self.log_name, "resource": self.resource, "entries": list(entries)}
        with translated(f"write to {self.log_name}", PERMISSION):
            self._api.entries().write(body=body).execute(num_retries=RETRIES)
