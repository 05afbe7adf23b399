"""Azure Monitor's Logs Ingestion API (Microsoft Sentinel, Log Analytics custom tables)
through the official ``azure-monitor-ingestion`` client: records go to a data collection
rule's stream at a data collection endpoint (or the DCR's own ingestion endpoint).

The identity needs the *Monitoring Metrics Publisher* role on the DCR
(``Microsoft.Insights/Telemetry/Write``). Credentials are the ones the drivers use
(``DefaultAzureCredential``; the sandbox's static token and CA under ``CLAMP_SANDBOX_URL``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from azure.core.credentials import TokenCredential
from azure.monitor.ingestion import LogsIngestionClient

from clamp.config import Settings
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import Api, translated

PERMISSION = "Microsoft.Insights/Telemetry/Write"
LOGS_INGESTION = Api(
    "Azure Monitor Logs Ingestion",
    "assign the Monitoring Metrics Publisher role on the data collection rule",
)
RETRIES = {"retry_total": 2, "retry_backoff_factor": 0.5, "retry_backoff_max": 5}
"""Few in-call retries (which honour Retry-After): Clamp's outbox backs off beyond them."""


class LogsUploader:
    """Uploads records to one DCR stream."""

    def __init__(
        self,
        settings: Settings,
        endpoint: str,
        rule_id: str,
        stream: str,
        *,
        credential: TokenCredential | None = None,
        timeout: float = 10.0,
    ) -> None:
        clients = AzureClients(settings, credential)
        options: dict[str, Any] = {
            **RETRIES,
            "connection_timeout": timeout,
            "read_timeout": timeout,
        }
        if settings.sandbox_url:
            options["connection_verify"] = clients.options["connection_verify"]
        self.rule_id, self.stream = rule_id, stream
        self._client = LogsIngestionClient(endpoint, clients.credential, **options)

    def upload(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Send ``records`` (gzip-compressed, in chunks of at most 1 MB, by the client)."""
        with translated(
            f"upload to stream {self.stream} of {self.rule_id}", PERMISSION, LOGS_INGESTION
        ):
            self._client.upload(self.rule_id, self.stream, [dict(r) for r in records])

    def close(self) -> None:
        """Release the client's connections."""
        self._client.close()
