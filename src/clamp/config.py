"""Clamp's settings, read from the environment once and passed down explicitly.

- ``CLAMP_SANDBOX_URL``: use the sandbox at this URL instead of the real clouds.
- ``CLAMP_DATABASE_URL``: SQLAlchemy URL of the store (default: SQLite in the user data dir).
- ``CLAMP_ACTOR``: who is acting, for the audit log (default: the OS user).
- ``CLAMP_RULES``: the automation rules file (default: ``rules.yaml`` in the user config
  directory).
- ``CLAMP_CONFIG``: Clamp's TOML config file (default: ``clamp.toml`` in the user config
  directory, if it exists); its ``[password_baseline]`` table sets the password baseline,
  its ``[roles]`` table who may do what (``clamp.roles``), its ``[stages.NAME]`` tables
  the stages automation rules are promoted through (``clamp.selectors``), its
  ``[schedule]`` table what ``clamp serve`` runs on its own (``Schedule``), its
  ``[[notify.sinks]]`` where notifications go (``clamp.notify.config``), its ``[workers]``
  table the Celery broker the workers share (``Workers``).
- ``CLAMP_BROKER_URL``: the Celery broker (``redis://…`` or ``amqp://…``); sets or
  overrides ``[workers] broker``.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import platformdirs

from clamp.baseline import PasswordBaseline
from clamp.errors import ConfigError, InputError
from clamp.events.config import EventsConfig
from clamp.events.flows.config import FlowsConfig
from clamp.events.flows.options import FlowOptions
from clamp.fields import check_fields, parse_duration
from clamp.files import Format, load
from clamp.model import PortRange
from clamp.notify.config import NotifyConfig
from clamp.roles import Roles
from clamp.selectors import Selector

ADMIN_PORTS: tuple[PortRange, ...] = tuple(
    PortRange(lo, hi)
    for lo, hi in [
        (21, 21),
        (22, 22),
        (23, 23),
        (135, 135),
        (137, 139),
        (445, 445),
        (3389, 3389),
        (5900, 5900),
        (5985, 5986),
    ]
)
DATABASE_PORTS: tuple[PortRange, ...] = tuple(
    PortRange(lo, hi)
    for lo, hi in [
        (1433, 1434),
        (1521, 1521),
        (2483, 2484),
        (3306, 3306),
        (5432, 5432),
        (5984, 5984),
        (6379, 6379),
        (7000, 7001),
        (9042, 9042),
        (9200, 9200),
        (9300, 9300),
        (11211, 11211),
        (27017, 27019),
        (50000, 50000),
    ]
)


def data_dir() -> Path:
    """Clamp's per-user data directory (created on demand)."""
    path = Path(platformdirs.user_data_dir("clamp", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url() -> str:
    """A SQLite file in the user's data directory."""
    return f"sqlite:///{data_dir() / 'clamp.db'}"


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


AFTER_SCAN = "after-scan"


@dataclass(frozen=True)
class Schedule:
    """What the service runs on its own: a scan every ``scan``; the automation rules every
    ``rules``, or after each scheduled scan (``rules = "after-scan"``). None: never.

        [schedule]
        scan = "1h"
        rules = "after-scan"
    """

    scan: timedelta | None = None
    rules: timedelta | str | None = None

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> Schedule:
        """The ``[schedule]`` table, each entry checked."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: schedule: a table with scan and rules")
        try:
            check_fields(data, ("scan", "rules"), f"{where}: schedule")
            scan = (
                parse_duration(data["scan"], f"{where}: schedule.scan") if "scan" in data else None
            )
            rules: timedelta | str | None = None
            if data.get("rules") == AFTER_SCAN:
                rules = AFTER_SCAN
            elif "rules" in data:
                rules = parse_duration(data["rules"], f"{where}: schedule.rules (or after-scan)")
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        if rules == AFTER_SCAN and scan is None:
            raise ConfigError(f"{where}: schedule.rules = after-scan needs schedule.scan")
        return cls(scan, rules)


@dataclass(frozen=True)
class Workers:
    """Celery workers the scans, fixes, rule runs and events fan out to (``clamp.workers``):

        [workers]
        broker = "redis://127.0.0.1:6379/0"     # or amqp://guest:guest@127.0.0.1:5672//
        result_backend = "redis://127.0.0.1:6379/1"  # default: the broker when it is Redis
        budget = "redis://127.0.0.1:6379/2"      # the shared call budget (default: as above)
        visibility_timeout = "1h"                # Redis: when an unacknowledged task returns
        queue = "clamp"                          # the queue tasks are sent to

    Without the table (and without ``CLAMP_BROKER_URL``) everything runs in-process.
    """

    broker: str
    result_backend: str | None = None
    budget_url: str | None = None
    visibility_timeout: timedelta = timedelta(hours=1)
    queue: str = "clamp"

    @property
    def backend(self) -> str:
        """Where task results go: the configured backend, else a Redis broker itself."""
        if self.result_backend:
            return self.result_backend
        if self.broker.startswith(("redis://", "rediss://")):
            return self.broker
        raise ConfigError(
            "workers: result_backend is required with an AMQP broker "
            "(redis://… or db+postgresql://…)"
        )

    @property
    def redis_url(self) -> str | None:
        """The Redis that holds the shared call budget (None: no Redis configured)."""
        for url in (self.budget_url, self.result_backend, self.broker):
            if url and url.startswith(("redis://", "rediss://")):
                return url
        return None

    @classmethod
    def from_mapping(cls, data: Any, where: str, broker: str | None) -> Workers:
        """The ``[workers]`` table (``broker`` from ``CLAMP_BROKER_URL`` wins), checked."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: workers: a table with broker = URL")
        known = ("broker", "result_backend", "budget", "visibility_timeout", "queue")
        try:
            check_fields(data, known, f"{where}: workers")
            timeout = (
                parse_duration(data["visibility_timeout"], f"{where}: workers.visibility_timeout")
                if "visibility_timeout" in data
                else timedelta(hours=1)
            )
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        url = broker or data.get("broker")
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "amqp://")):
            raise ConfigError(f"{where}: workers.broker: a redis://… or amqp://… URL")
        for key in ("result_backend", "budget", "queue"):
            if key in data and not (isinstance(data[key], str) and data[key]):
                raise ConfigError(
                    f"{where}: workers.{key}: a URL"
                    if key != "queue"
                    else f"{where}: workers.queue: a name"
                )
        queue = str(data.get("queue") or "clamp")
        return cls(url, data.get("result_backend"), data.get("budget"), timeout, queue)


@dataclass(frozen=True)
class OidcSignIn:
    """Console sign-in through an OpenID Connect provider (Microsoft Entra ID, Google):

        [oidc]
        name = "Microsoft Entra ID"
        metadata_url = "https://login.microsoftonline.com/TENANT/v2.0/.well-known/openid-configuration"
        client_id = "…"
        client_secret = "…"          # or CLAMP_OIDC_CLIENT_SECRET
        [oidc.roles]                  # who gets which roles: an email, or group:<id>
        "alice@example.com" = "remediator"
        "group:0a1b…" = ["responder", "viewer"]

    A person no entry names is refused; the roles are set again at every sign-in.
    """

    metadata_url: str
    client_id: str
    client_secret: str
    roles: Mapping[str, tuple[str, ...]]
    name: str = "single sign-on"

    @classmethod
    def from_mapping(cls, data: Any, where: str, secret: str | None) -> OidcSignIn:
        """The ``[oidc]`` table, each entry checked."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: oidc: a table")
        known = ("name", "metadata_url", "client_id", "client_secret", "roles")
        try:
            check_fields(data, known, f"{where}: oidc")
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        secret = secret or data.get("client_secret")
        for key, value in (
            ("metadata_url", data.get("metadata_url")),
            ("client_id", data.get("client_id")),
            ("client_secret", secret),
        ):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: oidc.{key} is required (a string)")
        roles = data.get("roles") or {}
        if not isinstance(roles, Mapping) or not roles:
            raise ConfigError(f"{where}: oidc.roles: a table of email or group:<id> = role(s)")
        mapped = {}
        for who, value in roles.items():
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ConfigError(f"{where}: oidc.roles.{who}: a role or a list of roles")
            mapped[str(who).lower()] = tuple(names)
        return cls(
            metadata_url=data["metadata_url"],
            client_id=data["client_id"],
            client_secret=str(secret),
            roles=mapped,
            name=str(data.get("name") or "single sign-on"),
        )


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once at start."""

    database_url: str = field(default_factory=default_database_url)
    sandbox_url: str | None = None
    actor: str = field(default_factory=_default_actor)
    admin_ports: tuple[PortRange, ...] = ADMIN_PORTS
    database_ports: tuple[PortRange, ...] = DATABASE_PORTS
    password_baseline: PasswordBaseline = field(default_factory=PasswordBaseline)
    roles: Roles = field(default_factory=Roles)
    stages: Mapping[str, tuple[Selector, ...]] = field(default_factory=dict)
    """Named stages for rule promotion (``[stages.NAME]``), e.g. non-prod, prod: a resource
    is in a stage when it matches any of the stage's selectors."""
    rules_file: Path | None = None
    """The automation rules (``CLAMP_RULES``; else ``rules.yaml`` in the config directory)."""
    schedule: Schedule = field(default_factory=Schedule)
    approve_playbooks: frozenset[str] = frozenset()
    """Playbooks whose runs wait for a second person in this install, whatever their file
    says (``[approvals] playbooks = ["contain-compromised-vm"]``; ``"*"``: every one)."""
    oidc: OidcSignIn | None = None
    """Console sign-in through an OpenID Connect provider (``[oidc]``), if configured."""
    events: EventsConfig = field(default_factory=EventsConfig)
    """How event deliveries are verified (``[events.azure]``, ``[events.gcp]``)."""
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    """Where outbound notifications go (``[[notify.sinks]]``, ``clamp.notify``)."""
    flows: FlowsConfig = field(default_factory=FlowsConfig)
    """How flow logs are aggregated, kept and fetched (``[flows]``)."""
    flow_signals: FlowOptions = field(default_factory=FlowOptions)
    """How flow logs are correlated: source classes, signal thresholds, preview days
    (``[flows]``, ``clamp.events.flows.options``)."""
    metrics_public: bool = False
    """Whether the service's Prometheus ``/metrics`` is served without a bearer token
    (``[metrics] public = true``, for a scraper inside a trusted network)."""
    gcp_inventory: str = "asset-inventory"
    """How Google Cloud resources are listed (``[gcp] inventory``): ``asset-inventory``
    (Cloud Asset Inventory ``ListAssets``, per-API reads for the rest) or ``api`` (each
    API's lists per project)."""
    gcp_parents: tuple[str, ...] = ()
    """Organizations or folders whose projects a scan covers when none are named
    (``[gcp] scope = "organizations/N"`` or a list; default: every visible project)."""
    workers: Workers | None = None
    """The Celery workers to fan out to (``[workers]``, ``CLAMP_BROKER_URL``); None: in-process."""
    azure_inventory: str = "resource-graph"
    """How Azure resources are listed (``[azure] inventory``): ``resource-graph`` (bulk
    queries, ARM for the rest) or ``arm`` (each type per subscription)."""
    scan_concurrency: int = 8
    """Scopes (and calls within a batch of scopes) collected at once (``[scan] concurrency``)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``CLAMP_*`` environment variables, defaults elsewhere."""
        env = os.environ if env is None else env
        kwargs: dict[str, Any] = {}
        if url := env.get("CLAMP_DATABASE_URL"):
            kwargs["database_url"] = url
        if sandbox := env.get("CLAMP_SANDBOX_URL"):
            kwargs["sandbox_url"] = sandbox
        if actor := env.get("CLAMP_ACTOR"):
            kwargs["actor"] = actor
        if rules := env.get("CLAMP_RULES"):
            kwargs["rules_file"] = Path(rules)
        config = _config_file(env)
        if "password_baseline" in config:
            kwargs["password_baseline"] = PasswordBaseline.from_mapping(
                config["password_baseline"], env.get("CLAMP_CONFIG") or "config"
            )
        if "stages" in config:
            kwargs["stages"] = parse_stages(config["stages"], env.get("CLAMP_CONFIG") or "config")
        if "schedule" in config:
            kwargs["schedule"] = Schedule.from_mapping(
                config["schedule"], env.get("CLAMP_CONFIG") or "config"
            )
        if "approvals" in config:
            kwargs["approve_playbooks"] = _approve_playbooks(
                config["approvals"], env.get("CLAMP_CONFIG") or "config"
            )
        if "oidc" in config:
            kwargs["oidc"] = OidcSignIn.from_mapping(
                config["oidc"],
                env.get("CLAMP_CONFIG") or "config",
                env.get("CLAMP_OIDC_CLIENT_SECRET"),
            )
        if "events" in config:
            kwargs["events"] = EventsConfig.from_mapping(
                config["events"], env.get("CLAMP_CONFIG") or "config"
            )
        if "notify" in config:
            kwargs["notify"] = NotifyConfig.from_mapping(
                config["notify"], env.get("CLAMP_CONFIG") or "config", env
            )
        if "flows" in config:
            kwargs["flows"] = FlowsConfig.from_mapping(
                config["flows"], env.get("CLAMP_CONFIG") or "config"
            )
            kwargs["flow_signals"] = FlowOptions.from_mapping(
                config["flows"], env.get("CLAMP_CONFIG") or "config"
            )
        if "metrics" in config:
            kwargs["metrics_public"] = _metrics_public(
                config["metrics"], env.get("CLAMP_CONFIG") or "config"
            )
        if "gcp" in config:
            kwargs["gcp_inventory"], kwargs["gcp_parents"] = _gcp(
                config["gcp"], env.get("CLAMP_CONFIG") or "config"
            )
        if "workers" in config or env.get("CLAMP_BROKER_URL"):
            kwargs["workers"] = Workers.from_mapping(
                config.get("workers", {}),
                env.get("CLAMP_CONFIG") or "config",
                env.get("CLAMP_BROKER_URL"),
            )
        if "azure" in config:
            kwargs["azure_inventory"] = _azure_inventory(
                config["azure"], env.get("CLAMP_CONFIG") or "config"
            )
        if "scan" in config:
            kwargs["scan_concurrency"] = _scan_concurrency(
                config["scan"], env.get("CLAMP_CONFIG") or "config"
            )
        if "roles" in config:
            kwargs["roles"] = Roles.from_mapping(
                config["roles"], env.get("CLAMP_CONFIG") or "config"
            )
        return cls(**kwargs)


def _config_file(env: Mapping[str, str]) -> dict[str, Any]:
    """The config file's tables ({} when there is none)."""
    named = env.get("CLAMP_CONFIG")
    path = Path(named) if named else Path(platformdirs.user_config_dir("clamp")) / "clamp.toml"
    if not named and not path.is_file():
        return {}
    data: dict[str, Any] = load(path, "config file", Format.TOML, error=ConfigError)
    return data


GCP_INVENTORIES = ("asset-inventory", "api")
GCP_PARENT = re.compile(r"^(organizations|folders)/[0-9]+$")


def _gcp(data: Any, where: str) -> tuple[str, tuple[str, ...]]:
    """``[gcp] inventory = "asset-inventory" | "api"``, ``scope = "organizations/N"`` (or
    a list of organizations and folders)."""
    if not isinstance(data, Mapping) or set(data) - {"inventory", "scope"}:
        raise ConfigError(f"{where}: gcp: a table with inventory and/or scope")
    inventory = data.get("inventory", GCP_INVENTORIES[0])
    if inventory not in GCP_INVENTORIES:
        raise ConfigError(f'{where}: gcp.inventory: "asset-inventory" or "api", not {inventory!r}')
    scope = data.get("scope", [])
    parents = [scope] if isinstance(scope, str) else scope
    if not isinstance(parents, list) or not all(
        isinstance(p, str) and GCP_PARENT.match(p) for p in parents
    ):
        raise ConfigError(
            f"{where}: gcp.scope: organizations/N or folders/N (or a list of them), not {scope!r}"
        )
    return str(inventory), tuple(parents)


INVENTORIES = ("resource-graph", "arm")


def _azure_inventory(data: Any, where: str) -> str:
    """``[azure] inventory = "resource-graph" | "arm"``."""
    if not isinstance(data, Mapping) or set(data) - {"inventory"}:
        raise ConfigError(f'{where}: azure: a table with inventory = "resource-graph" or "arm"')
    inventory = data.get("inventory", INVENTORIES[0])
    if inventory not in INVENTORIES:
        raise ConfigError(f'{where}: azure.inventory: "resource-graph" or "arm", not {inventory!r}')
    return str(inventory)


def _scan_concurrency(data: Any, where: str) -> int:
    """``[scan] concurrency = N`` (1 to 64)."""
    if not isinstance(data, Mapping) or set(data) - {"concurrency"}:
        raise ConfigError(f"{where}: scan: a table with concurrency = a number from 1 to 64")
    value = data.get("concurrency", 8)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise ConfigError(f"{where}: scan.concurrency: a whole number from 1 to 64, not {value!r}")
    return value


def _metrics_public(data: Any, where: str) -> bool:
    """``[metrics] public = true|false``."""
    if not isinstance(data, Mapping) or set(data) - {"public"}:
        raise ConfigError(f"{where}: metrics: a table with public = true or false")
    public = data.get("public", False)
    if not isinstance(public, bool):
        raise ConfigError(f"{where}: metrics.public: true or false")
    return public


def _approve_playbooks(data: Any, where: str) -> frozenset[str]:
    """``[approvals] playbooks = [...]``: names of playbooks whose runs need approval."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: approvals: a table with playbooks = [names]")
    try:
        check_fields(data, ("playbooks",), f"{where}: approvals")
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    names = data.get("playbooks", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f'{where}: approvals.playbooks: a list of playbook names (or "*")')
    return frozenset(names)


def parse_stages(data: Any, where: str) -> dict[str, tuple[Selector, ...]]:
    """``[stages.NAME]`` tables (one selector) or ``[[stages.NAME]]`` arrays of tables (a
    resource matching any of them is in the stage)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: stages: each stage is a [stages.NAME] table")
    stages = {}
    try:
        for name, value in data.items():
            items = value if isinstance(value, list) else [value]
            stages[name] = tuple(Selector.parse(item, f"{where}: stages.{name}") for item in items)
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    return stages
