"""Microsoft Sentinel / Log Analytics: each notice as one record of a DCR stream, through
the Logs Ingestion API (``clamp.providers.azure.logs_ingestion``, the official client).

The stream's columns (declare them in the DCR's ``streamDeclarations``): TimeGenerated
(datetime), Kind, NoticeId, Subject, Severity, Provider, Scope, Actor, Title, Text
(string), and Event, Ocsf (dynamic).
"""

from __future__ import annotations

from typing import Any

from clamp.config import Settings
from clamp.errors import AuthenticationError, CloudError, CloudUnavailable, RateLimited
from clamp.notify.interface import DeliveryFailed, DeliveryRefused
from clamp.notify.message import Message
from clamp.store.codec import iso


def record(message: Message) -> dict[str, Any]:
    """The stream record of one notice."""
    n, document = message.notice, message.document()
    return {
        "TimeGenerated": iso(n.created),
        "Kind": n.kind,
        "NoticeId": n.id,
        "Subject": n.subject,
        "Severity": n.severity or "",
        "Provider": n.provider or "",
        "Scope": n.scope or "",
        "Actor": n.actor,
        "Title": message.title,
        "Text": message.text,
        "Event": document["data"]["event"],
        "Ocsf": message.ocsf,
    }


class SentinelSink:
    """Uploads each notice to a data collection rule's stream."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        endpoint: str,
        rule_id: str,
        stream: str,
        timeout: float,
    ) -> None:
        from clamp.providers.azure.logs_ingestion import LogsUploader  # the SDK loads here

        self.name = name
        self._uploader = LogsUploader(settings, endpoint, rule_id, stream, timeout=timeout)

    def deliver(self, message: Message) -> None:
        """Upload one notice; a refusal the API will repeat is dead-lettered at once."""
        try:
            self._uploader.upload([record(message)])
        except (RateLimited, CloudUnavailable) as exc:
            raise DeliveryFailed(f"{self.name}: {exc}") from exc
        except AuthenticationError as exc:
            raise DeliveryFailed(f"{self.name}: {exc}") from exc  # a token may come back
        except CloudError as exc:
            raise DeliveryRefused(f"{self.name}: {exc}") from exc

    def close(self) -> None:
        """Release the client."""
        self._uploader.close()
