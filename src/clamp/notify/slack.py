"""Slack through an incoming webhook, as Block Kit: a header, the notice's line with its
severity, where and who, and a fallback ``text`` for notifications
(docs.slack.dev/messaging/sending-messages-using-incoming-webhooks; Slack answers 200
``ok``, 4xx with ``invalid_payload`` / ``no_service`` / ``channel_is_archived``, 429 with
``Retry-After``)."""

from __future__ import annotations

from typing import Any

import httpx

from clamp.notify.http import post
from clamp.notify.message import Message

HEADER_LIMIT = 150  # Block Kit: a header block's plain_text is at most 150 characters
SECTION_LIMIT = 3000  # and a section's text at most 3000


def blocks(message: Message) -> dict[str, Any]:
    """The incoming-webhook body of one notice."""
    n = message.notice
    facts = [
        f"*{label}:* {value}"
        for label, value in (
            ("Kind", f"`{n.kind}`"),
            ("Severity", n.severity),
            ("Scope", n.scope and f"{n.provider} {n.scope}"),
            ("Subject", n.subject and f"`{n.subject}`"),
        )
        if value
    ]
    return {
        "text": message.title,
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": message.title[:HEADER_LIMIT]},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": message.text[:SECTION_LIMIT]}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in facts]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Clamp · notice {n.id}"}]},
        ],
    }


class SlackSink:
    """Posts each notice to a Slack channel's incoming webhook."""

    def __init__(self, name: str, url: str, client: httpx.Client) -> None:
        self.name, self.url, self._client = name, url, client

    def deliver(self, message: Message) -> None:
        """Send one notice as blocks."""
        post(self._client, self.url, json=blocks(message), sink=self.name)
