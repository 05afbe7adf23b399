"""The sinks by kind: one configured ``[[notify.sinks]]`` entry → the ``Sink`` that
delivers to it. Plain HTTP sinks share one httpx client."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from clamp.config import Settings
from clamp.notify.cloud_logging import CloudLoggingSink
from clamp.notify.config import SinkConfig, SinkKind
from clamp.notify.interface import Sink
from clamp.notify.sentinel import SentinelSink
from clamp.notify.slack import SlackSink
from clamp.notify.splunk import SplunkSink
from clamp.notify.teams import TeamsSink
from clamp.notify.webhook import WebhookSink

Builder = Callable[[SinkConfig, Settings, httpx.Client], Sink]

BUILDERS: dict[SinkKind, Builder] = {
    SinkKind.WEBHOOK: lambda c, _s, http: WebhookSink(c.name, c.url, str(c.secret), http),
    SinkKind.SLACK: lambda c, _s, http: SlackSink(c.name, c.url, http),
    SinkKind.TEAMS: lambda c, _s, http: TeamsSink(c.name, c.url, http),
    SinkKind.SPLUNK: lambda c, _s, http: SplunkSink(c.name, c.url, str(c.secret), http),
    SinkKind.SENTINEL: lambda c, s, _http: SentinelSink(
        c.name, s, c.url, str(c.rule_id), str(c.stream), c.timeout
    ),
    SinkKind.CLOUD_LOGGING: lambda c, s, _http: CloudLoggingSink(c.name, s, str(c.project), c.log),
}


def build_sink(config: SinkConfig, settings: Settings, http: httpx.Client) -> Sink:
    """The sink one config entry describes."""
    return BUILDERS[config.kind](config, settings, http)
