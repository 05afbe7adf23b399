"""Splunk HTTP Event Collector: ``POST /services/collector/event`` with
``Authorization: Splunk <token>`` and one JSON event, the notice's document (OCSF inside)
(docs.splunk.com, "Format events for HTTP Event Collector"; HEC answers
``{"text": "Success", "code": 0}``, 400 for a malformed event, 401/403 for a bad token,
503 when its queue is full)."""

from __future__ import annotations

from typing import Any

import httpx

from clamp.notify.http import post
from clamp.notify.message import Message

EVENT_PATH = "/services/collector/event"
SOURCETYPE = "clamp:notice"


def hec_event(message: Message) -> dict[str, Any]:
    """The HEC body of one notice: epoch seconds, source, sourcetype and the event."""
    return {
        "time": round(message.notice.created.timestamp(), 3),
        "source": "clamp",
        "sourcetype": SOURCETYPE,
        "event": message.document(),
    }


class SplunkSink:
    """Sends each notice to a Splunk HEC."""

    def __init__(self, name: str, url: str, token: str, client: httpx.Client) -> None:
        self.name = name
        self.url = url if url.endswith(EVENT_PATH) else url + EVENT_PATH
        self._headers = {"authorization": f"Splunk {token}"}
        self._client = client

    def deliver(self, message: Message) -> None:
        """Send one notice as one HEC event."""
        post(self._client, self.url, json=hec_event(message), headers=self._headers, sink=self.name)
