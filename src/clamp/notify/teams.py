"""Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request
is received"), as an Adaptive Card 1.4 in a message attachment
(learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/
add-incoming-webhook; the flow answers 202 Accepted)."""

from __future__ import annotations

from typing import Any

import httpx

from clamp.notify.http import post
from clamp.notify.message import Message

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
COLOR = {"critical": "attention", "high": "attention", "medium": "warning"}


def card(message: Message) -> dict[str, Any]:
    """The webhook body of one notice: a message with one Adaptive Card."""
    n = message.notice
    facts = [
        {"title": title, "value": value}
        for title, value in (
            ("Kind", n.kind),
            ("Severity", n.severity),
            ("Scope", n.scope and f"{n.provider} {n.scope}"),
            ("Subject", n.subject),
            ("Actor", n.actor),
        )
        if value
    ]
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": message.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": COLOR.get(n.severity or "", "default"),
        },
        {"type": "TextBlock", "text": message.text, "wrap": True},
        {"type": "FactSet", "facts": facts},
    ]
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    attachment = {"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": content}
    return {"type": "message", "attachments": [attachment]}


class TeamsSink:
    """Posts each notice to a Teams channel through a Workflows webhook."""

    def __init__(self, name: str, url: str, client: httpx.Client) -> None:
        self.name, self.url, self._client = name, url, client

    def deliver(self, message: Message) -> None:
        """Send one notice as an Adaptive Card."""
        post(self._client, self.url, json=card(message), sink=self.name)
