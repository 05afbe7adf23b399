"""Azure managed databases: list and read Azure SQL logical servers and PostgreSQL /
MySQL flexible servers with their firewall rules (and a flexible server's
``require_secure_transport``); create and delete firewall rules, turn public network access
off or on (azure-mgmt-sql, azure-mgmt-postgresqlflexibleservers,
azure-mgmt-mysqlflexibleservers).

Neither firewall rules nor servers carry an etag in these APIs and no write takes
``If-Match``, so before a write the object is re-read and must still be as planned (else
``ConflictError``, nothing written); a server's PATCH sends only the access setting. A
subscription where a database resource provider is not registered has no such servers:
its list is empty, not an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.mgmt.mysqlflexibleservers import models as mysql_models

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.azure.base import resource_ref
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.azure.normalize_database import MYSQL, POSTGRES, SQL, TLS_SETTING, server_of
from clamp.providers.interface import ProgressCallback

UNREGISTERED = "MissingSubscriptionRegistration"


@dataclass(frozen=True)
class Engine:
    """One Azure database service: its ARM type, change types, client and RBAC actions."""

    kind: str
    """The server's ARM type, lower-cased."""
    namespace: str
    """``Microsoft.Sql/servers``, as RBAC actions spell it."""
    label: str
    rule_type: ChangeType
    access_type: ChangeType
    client: Callable[[AzureClients, str], Any]
    flexible: bool
    list_all: str = "list"
    """The ``servers`` operation listing a subscription's servers."""

    def read_action(self, part: str = "") -> str:
        """The RBAC action reading the server (or a part of it)."""
        return f"{self.namespace}{part}/read"


ENGINES = (
    Engine(
        SQL,
        "Microsoft.Sql/servers",
        "Azure SQL servers",
        ChangeType.AZURE_SQL_FIREWALL_RULE,
        ChangeType.AZURE_SQL_PUBLIC_ACCESS,
        AzureClients.sql,
        flexible=False,
    ),
    Engine(
        POSTGRES,
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "PostgreSQL flexible servers",
        ChangeType.AZURE_POSTGRES_FIREWALL_RULE,
        ChangeType.AZURE_POSTGRES_PUBLIC_ACCESS,
        AzureClients.postgres,
        flexible=True,
        list_all="list_by_subscription",
    ),
    Engine(
        MYSQL,
        "Microsoft.DBforMySQL/flexibleServers",
        "MySQL flexible servers",
        ChangeType.AZURE_MYSQL_FIREWALL_RULE,
        ChangeType.AZURE_MYSQL_PUBLIC_ACCESS,
        AzureClients.mysql,
        flexible=True,
    ),
)
BY_KIND = {e.kind: e for e in ENGINES}
BY_CHANGE = {t: e for e in ENGINES for t in (e.rule_type, e.access_type)}


def read_actions(engine: Engine) -> tuple[str, ...]:
    """The RBAC actions a scan of ``engine``'s servers needs (``permissions.SCAN_PERMISSIONS``
    lists them without importing this module; a test holds the two together)."""
    parts = ("", "/firewallRules", *(("/configurations",) if engine.flexible else ()))
    return tuple(engine.read_action(part) for part in parts)


def sdk_json(model: Any) -> dict[str, Any]:
    """An SDK model as the ARM JSON it was read from (msrest-style models, as the MySQL
    client has, serialize; the newer ones are mappings already)."""
    if hasattr(model, "_attribute_map"):
        data: dict[str, Any] = model.serialize(keep_readonly=True)
    else:
        data = model.as_dict()
    return data


def _engine_of(arm_id: str) -> Engine:
    server = server_of(arm_id)
    engine = BY_KIND.get("/".join(server.split("/")[6:8])) if server else None
    if engine is None:
        raise InputError(f"not an Azure database server id: {arm_id}")
    return engine


def _server_ref(arm_id: str) -> tuple[str, str, str]:
    return resource_ref(arm_id, arm_id.strip("/").split("/")[6], below=True)


class DatabaseService:
    """Database servers, their firewall rules and their public network access."""

    change_types = frozenset(BY_CHANGE)

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    # -- reading --------------------------------------------------------------------------
    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Every database server of a subscription with its parts."""
        objects: list[dict[str, Any]] = []
        for engine in ENGINES:
            if progress:
                progress(f"azure {scope}: {engine.label}")
            list_all = getattr(engine.client(self.clients, scope).servers, engine.list_all)
            with translated(f"list {engine.label} in subscription {scope}", engine.read_action()):
                servers = [sdk_json(s) for s in _registered(list_all)]
            for server in servers:
                objects += [server, *self._parts(engine, str(server["id"]))]
        return objects

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is a database server."""
        return bool(server_of(resource_id)) and server_of(resource_id) == resource_id.lower()

    def server_of(self, change: Change) -> str | None:
        """The server a change writes to (a firewall rule's, or the server itself)."""
        if change.type not in self.change_types:
            return None
        return change.target[: len(server_of(change.target))]

    def read(self, resource_id: str) -> list[dict[str, Any]]:
        """One server and its parts."""
        engine = _engine_of(resource_id)
        subscription, group, name = _server_ref(resource_id)
        client = engine.client(self.clients, subscription)
        with translated(f"read {resource_id}", engine.read_action()):
            server = sdk_json(client.servers.get(group, name))
        return [server, *self._parts(engine, resource_id)]

    def _parts(self, engine: Engine, server_id: str) -> list[dict[str, Any]]:
        subscription, group, name = _server_ref(server_id)
        client = engine.client(self.clients, subscription)
        rules_read = engine.read_action("/firewallRules")
        with translated(f"list the firewall rules of {server_id}", rules_read):
            rules = [sdk_json(r) for r in client.firewall_rules.list_by_server(group, name)]
        for rule in rules:  # list items may omit their type
            rule.setdefault("type", f"{engine.namespace}/firewallRules")
        if not engine.flexible:
            return rules
        config_read = engine.read_action("/configurations")
        with translated(f"read {TLS_SETTING} of {server_id}", config_read):
            config = sdk_json(client.configurations.get(group, name, TLS_SETTING))
        config.setdefault("type", f"{engine.namespace}/configurations")
        return [*rules, config]

    # -- changes --------------------------------------------------------------------------
    def current(self, change: Change) -> dict[str, Any] | None:
        """The firewall rule or server as Azure has it now (None if absent)."""
        engine = BY_CHANGE[ChangeType(change.type)]
        subscription, group, name = _server_ref(change.target)
        client = engine.client(self.clients, subscription)
        try:
            if change.type == engine.rule_type:
                rule = change.target.rsplit("/", 1)[-1]
                with translated(f"read {change.target}", engine.read_action("/firewallRules")):
                    return sdk_json(client.firewall_rules.get(group, name, rule))
            with translated(f"read {change.target}", engine.read_action()):
                return sdk_json(client.servers.get(group, name))
        except ResourceNotFound:
            return None

    def apply(self, change: Change) -> None:
        """Create or delete a firewall rule, or PATCH the server's public network access,
        after checking the object is still as the plan read it."""
        engine = BY_CHANGE[ChangeType(change.type)]
        if not matches(change.before, self.current(change)):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        subscription, group, name = _server_ref(change.target)
        client = engine.client(self.clients, subscription)
        if change.type == engine.access_type:
            self._set_access(engine, client, change, group, name)
            return
        rule = change.target.rsplit("/", 1)[-1]
        match change.op:
            case ChangeOp.CREATE | ChangeOp.UPDATE:
                body = {"properties": dict((change.after or {}).get("properties") or {})}
                with translated(
                    f"create {change.target}", f"{engine.namespace}/firewallRules/write"
                ):
                    if engine.kind == SQL:
                        client.firewall_rules.create_or_update(group, name, rule, body)
                    elif engine.kind == MYSQL:
                        model = mysql_models.FirewallRule.deserialize(body)
                        client.firewall_rules.begin_create_or_update(
                            group, name, rule, model
                        ).result()
                    else:
                        client.firewall_rules.begin_create_or_update(
                            group, name, rule, body
                        ).result()
            case ChangeOp.DELETE:
                with translated(
                    f"delete {change.target}", f"{engine.namespace}/firewallRules/delete"
                ):
                    if engine.kind == SQL:
                        client.firewall_rules.delete(group, name, rule)
                    else:
                        client.firewall_rules.begin_delete(group, name, rule).result()

    def _set_access(
        self, engine: Engine, client: Any, change: Change, group: str, name: str
    ) -> None:
        if change.op != ChangeOp.UPDATE:
            raise InputError(f"Clamp only updates {change.type}, never creates or deletes it")
        body = {"properties": dict((change.after or {}).get("properties") or {})}
        with translated(f"update {change.target}", f"{engine.namespace}/write"):
            if engine.kind == MYSQL:
                client.servers.begin_update(
                    group, name, mysql_models.ServerForUpdate.deserialize(body)
                ).result()
            else:
                client.servers.begin_update(group, name, body).result()


def _registered(listing: Callable[[], Iterable[Any]]) -> list[Any]:
    """The listing, or nothing when the subscription never registered the provider (then
    it has no such servers)."""
    try:
        return list(listing())
    except HttpResponseError as exc:
        if getattr(getattr(exc, "error", None), "code", None) == UNREGISTERED:
            return []
        raise
