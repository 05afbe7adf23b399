"""``[[notify.sinks]]`` in clamp.toml: where notices go, and which ones.

[[notify.sinks]]
name = "soc-webhook"
kind = "webhook"                 # webhook, slack, teams, splunk or sentinel
url = "https://soar.example.com/hooks/clamp"
secret_env = "CLAMP_SOC_WEBHOOK_SECRET"   # or secret = "whsec_…"
events = ["action.*", "incident.opened"]  # default: every kind
min_severity = "high"            # notices without a severity (approvals…) still pass
scopes = ["prod-sub-id"]         # subscriptions / projects; notices without one pass
max_attempts = 8                 # then the delivery is a dead letter

[[notify.sinks]]
name = "sentinel"
kind = "sentinel"
url = "https://clamp-dce-abcd.westeurope-1.ingest.monitor.azure.com"
rule_id = "dcr-00000000000000000000000000000000"   # the DCR's immutable id
stream = "Custom-ClampEvents_CL"
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from clamp.errors import ConfigError, InputError
from clamp.fields import check_fields
from clamp.model import Severity

# The outbox's records and the signing load when a sink is configured: a command started
# with no sinks needs neither.
if TYPE_CHECKING:
    from clamp.store.notice_records import Notice

FIELDS = (
    "name",
    "kind",
    "url",
    "secret",
    "secret_env",
    "events",
    "min_severity",
    "scopes",
    "max_attempts",
    "rule_id",
    "stream",
    "timeout",
    "project",
    "log",
)


class SinkKind(StrEnum):
    """The kinds of sink Clamp can deliver to."""

    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"
    SPLUNK = "splunk"
    SENTINEL = "sentinel"
    CLOUD_LOGGING = "cloud-logging"


LOG_ID = re.compile(r"^[A-Za-z0-9_\-./]{1,511}$")
"""A Cloud Logging log id (the LogEntry.logName documentation: letters, digits, _-./)."""
NEEDS_SECRET = {SinkKind.WEBHOOK: "a signing secret", SinkKind.SPLUNK: "the HEC token"}


@dataclass(frozen=True)
class SinkConfig:
    """One configured sink: where, with which secret, for which notices."""

    name: str
    kind: SinkKind
    url: str
    secret: str | None = None
    events: tuple[str, ...] = ("*",)
    min_severity: Severity | None = None
    scopes: tuple[str, ...] = ()
    max_attempts: int = 8
    rule_id: str | None = None
    stream: str | None = None
    timeout: float = 10.0
    project: str | None = None
    log: str = "clamp-notices"

    def wants(self, notice: Notice) -> bool:
        """Whether this sink's filters let ``notice`` through."""
        if not any(fnmatch.fnmatchcase(notice.kind, pattern) for pattern in self.events):
            return False
        minimum, severity = self.min_severity, notice.severity
        if minimum is not None and severity is not None and Severity(severity).rank < minimum.rank:
            return False
        if self.scopes and notice.scope is not None:
            return notice.scope.lower() in {s.lower() for s in self.scopes}
        return True


@dataclass(frozen=True)
class NotifyConfig:
    """The ``[notify]`` table: the sinks."""

    sinks: tuple[SinkConfig, ...] = field(default_factory=tuple)

    @classmethod
    def from_mapping(
        cls, data: Any, where: str, env: Mapping[str, str] | None = None
    ) -> NotifyConfig:
        """``[[notify.sinks]]``, each entry checked; secrets named by ``secret_env`` are
        read from ``env`` (default: the process environment)."""
        env = os.environ if env is None else env
        try:
            if not isinstance(data, Mapping):
                raise ConfigError(f"{where}: notify: a table with [[notify.sinks]]")
            check_fields(data, ("sinks",), f"{where}: notify")
            items = data.get("sinks", [])
            if not isinstance(items, list):
                raise ConfigError(f"{where}: notify.sinks: an array of tables ([[notify.sinks]])")
            sinks = tuple(
                _sink(item, f"{where}: notify.sinks[{i}]", env) for i, item in enumerate(items)
            )
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        names = [s.name for s in sinks]
        if duplicated := sorted({n for n in names if names.count(n) > 1}):
            raise ConfigError(f"{where}: notify.sinks: duplicate name(s) {', '.join(duplicated)}")
        return cls(sinks)


def _sink(data: Any, where: str, env: Mapping[str, str]) -> SinkConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: a table")
    check_fields(data, FIELDS, where)
    name = _text(data, "name", where)
    try:
        kind = SinkKind(_text(data, "kind", where))
    except ValueError:
        valid = ", ".join(k.value for k in SinkKind)
        raise ConfigError(f"{where}.kind: {data['kind']!r} is not one of {valid}") from None
    if kind == SinkKind.CLOUD_LOGGING:  # an API, not a URL: a project and a log
        url = ""
        _text(data, "project", where)
        if not LOG_ID.match(str(data.get("log", "clamp-notices"))):
            raise ConfigError(f"{where}.log: letters, digits, _ - . / only, at most 511")
    else:
        url = _text(data, "url", where)
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"{where}.url: {url!r} is not an http(s) URL")
    secret = _secret(data, where, env)
    if kind in NEEDS_SECRET and not secret:
        raise ConfigError(
            f"{where}: a {kind} sink needs {NEEDS_SECRET[kind]} (secret or secret_env)"
        )
    from clamp.notify.signing import signing_key
    from clamp.store.notice_records import NOTICE_KINDS

    if kind == SinkKind.WEBHOOK:
        try:
            signing_key(str(secret))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if kind == SinkKind.SENTINEL:
        for key in ("rule_id", "stream"):
            _text(data, key, where)
    events = _strings(data, "events", where) or ("*",)
    unknown = [e for e in events if not fnmatch.filter(NOTICE_KINDS, e)]
    if unknown:
        raise ConfigError(
            f"{where}.events: {', '.join(unknown)} match no notice kind; "
            f"valid: {', '.join(NOTICE_KINDS)} (globs like action.* too)"
        )
    return SinkConfig(
        name=name,
        kind=kind,
        url=url.rstrip("/"),
        secret=secret,
        events=events,
        min_severity=_severity(data, where),
        scopes=_strings(data, "scopes", where),
        max_attempts=_positive(data, "max_attempts", 8, where),
        rule_id=data.get("rule_id"),
        stream=data.get("stream"),
        timeout=float(_positive(data, "timeout", 10, where)),
        project=data.get("project"),
        log=str(data.get("log", "clamp-notices")),
    )


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key} is required (a non-empty string)")
    return value.strip()


def _strings(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}.{key}: a list of strings")
    return tuple(value)


def _secret(data: Mapping[str, Any], where: str, env: Mapping[str, str]) -> str | None:
    if "secret" in data and "secret_env" in data:
        raise ConfigError(f"{where}: set secret or secret_env, not both")
    if "secret_env" in data:
        variable = _text(data, "secret_env", where)
        if not env.get(variable):
            raise ConfigError(f"{where}.secret_env: the environment variable {variable} is not set")
        return env[variable]
    return _text(data, "secret", where) if "secret" in data else None


def _severity(data: Mapping[str, Any], where: str) -> Severity | None:
    if "min_severity" not in data:
        return None
    try:
        return Severity(data["min_severity"])
    except ValueError:
        valid = ", ".join(s.value for s in Severity)
        raise ConfigError(
            f"{where}.min_severity: {data['min_severity']!r} is not one of {valid}"
        ) from None


def _positive(data: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}.{key}: a whole number of at least 1")
    return value
