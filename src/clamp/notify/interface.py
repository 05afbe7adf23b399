"""The plug-point for outbound notifications: a ``Sink`` delivers one notice, or says why
it could not and whether trying again may help.

    DeliveryFailed            the sink did not take the notice; try again later
    └── DeliveryRefused       it never will as sent (a 4xx other than 408/429): dead-letter

A sink raises nothing else for a failed delivery; the dispatcher keeps the notice and
backs off (``retry_after``: the sink's own ``Retry-After``, when it sent one).
"""

from __future__ import annotations

from typing import Protocol

from clamp.errors import ClampError
from clamp.notify.message import Message


class DeliveryFailed(ClampError):
    """A sink did not take a notice this time (down, throttled, timed out)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryRefused(DeliveryFailed):
    """A sink refused a notice as sent (bad token, unknown URL, payload rejected): trying
    again cannot help, so it is dead-lettered at once."""


class Sink(Protocol):
    """Where notices go: a webhook, a chat channel, a SIEM."""

    name: str

    def deliver(self, message: Message) -> None:
        """Deliver one rendered notice; raise ``DeliveryFailed`` (or ``DeliveryRefused``)."""
        ...
