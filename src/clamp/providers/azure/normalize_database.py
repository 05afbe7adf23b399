"""Azure managed databases and their parts → one ``Resource`` per server (pure, no SDK).

ARM returns a server's network access in separate objects: the server (an Azure SQL
logical server ``Microsoft.Sql/servers``, or a PostgreSQL / MySQL flexible server
``Microsoft.DBforPostgreSQL|DBforMySQL/flexibleServers``), its firewall rules
(``<server>/firewallRules/<name>``, as ``az sql server firewall-rule list`` returns them) and,
for flexible servers, the ``require_secure_transport`` server parameter
(``<server>/configurations/require_secure_transport``). They are joined here into one
Resource whose ``raw`` is ``{"server", "firewallRules", "configurations"}`` and whose
facets are the ones every database server has (``clamp.database_exposure``):

- ``engine`` (in words), ``public_access`` (bool) and ``public_setting`` (as ARM has it).
  Azure SQL: ``publicNetworkAccess`` (absent on older servers: Enabled; ``SecuredByPerimeter``
  is not public). Flexible servers: ``network.publicNetworkAccess`` Enabled and no
  ``delegatedSubnetResourceId`` (a VNet-integrated server has no public endpoint).
- ``rules``: an ``AccessRule`` per firewall rule (``startIpAddress``-``endIpAddress``), None
  when the rules were not read (an export without them).
- ``private_access``: the private paths in words (delegated subnet, private endpoints).
- ``tls_required`` and ``tls``: Azure SQL always encrypts (``minimalTlsVersion`` said);
  flexible servers per ``require_secure_transport`` (None when it was not read).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from clamp.address_space import address_span
from clamp.database_exposure import AccessRule
from clamp.errors import InputError
from clamp.model import Provider, Resource, ResourceType

SQL = "microsoft.sql/servers"
POSTGRES = "microsoft.dbforpostgresql/flexibleservers"
MYSQL = "microsoft.dbformysql/flexibleservers"
SERVERS = {
    SQL: (ResourceType.AZURE_SQL_SERVER, "Azure SQL server"),
    POSTGRES: (ResourceType.AZURE_POSTGRES_SERVER, "PostgreSQL flexible server"),
    MYSQL: (ResourceType.AZURE_MYSQL_SERVER, "MySQL flexible server"),
}
FIREWALL_RULES = frozenset(f"{s}/firewallrules" for s in SERVERS)
CONFIGURATIONS = frozenset(f"{s}/configurations" for s in (POSTGRES, MYSQL))
PARTS = frozenset({*SERVERS, *FIREWALL_RULES, *CONFIGURATIONS})
TLS_SETTING = "require_secure_transport"


def server_of(arm_id: str) -> str:
    """The database server an id is (or lies below), lower-cased; '' for other ids."""
    parts = arm_id.lower().strip("/").split("/")
    if len(parts) >= 8 and f"{parts[5]}/{parts[6]}" in SERVERS and parts[4] == "providers":
        return "/" + "/".join(parts[:8])
    return ""


def database_servers(
    objects: Iterable[Mapping[str, Any]],
    subscription_of: Callable[[str], str],
    subscription: str | None = None,
    listed: Collection[str] = PARTS,
) -> list[Resource]:
    """One Resource per database server among ``objects`` (other types are ignored);
    ``listed`` names the part types the caller read completely."""
    servers: list[Mapping[str, Any]] = []
    parts: dict[str, dict[str, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for obj in objects:
        kind, arm_id = str(obj.get("type", "")).lower(), str(obj.get("id", ""))
        if not arm_id:
            continue
        if kind in SERVERS:
            servers.append(obj)
        elif kind in FIREWALL_RULES:
            parts[server_of(arm_id)]["firewallRules"].append(obj)
        elif kind in CONFIGURATIONS:
            parts[server_of(arm_id)]["configurations"].append(obj)
    out = []
    for server in servers:
        arm_id = str(server["id"])
        own = parts.get(arm_id.lower(), {})
        raw = {
            "server": server,
            "firewallRules": list(own.get("firewallRules", [])),
            "configurations": list(own.get("configurations", [])),
        }
        kind = str(server.get("type", "")).lower()
        try:
            facets = server_facets(raw, listed)
        except InputError as exc:
            raise InputError(f"{arm_id}: {exc.message}") from None
        except (AttributeError, TypeError, ValueError) as exc:
            raise InputError(f"{arm_id}: malformed {server.get('type')} object ({exc})") from None
        out.append(
            Resource(
                id=arm_id,
                provider=Provider.AZURE,
                type=SERVERS[kind][0],
                name=str(server.get("name", "")),
                scope=subscription or subscription_of(arm_id),
                facets=facets,
                raw=raw,
                tags=dict(server.get("tags") or {}),
            )
        )
    return out


def server_facets(raw: Mapping[str, Any], listed: Collection[str] = PARTS) -> dict[str, Any]:
    """The network-access facets of one server from its parts (module docstring)."""
    server = raw["server"]
    kind = str(server.get("type", "")).lower()
    props = server.get("properties") or {}
    private = [
        f"private endpoint {str(((c.get('properties') or {}).get('privateEndpoint') or {}).get('id', '')).rsplit('/', 1)[-1]}"
        for c in props.get("privateEndpointConnections") or []
        if str(
            ((c.get("properties") or {}).get("privateLinkServiceConnectionState") or {}).get(
                "status", "Approved"
            )
        ).lower()
        == "approved"
    ]
    if kind == SQL:
        setting = props.get("publicNetworkAccess")
        public = str(setting or "Enabled").lower() == "enabled"
        shown = f"publicNetworkAccess {setting or 'Enabled (not set)'}"
        tls: bool | None = True
        tls_words = f"always encrypted; minimum TLS {props.get('minimalTlsVersion') or 'not set'}"
    else:
        network = props.get("network") or {}
        subnet = network.get("delegatedSubnetResourceId")
        setting = network.get("publicNetworkAccess")
        public = not subnet and str(setting or "Enabled").lower() == "enabled"
        shown = f"network.publicNetworkAccess {setting or 'Enabled (not set)'}"
        if subnet:
            private.insert(0, f"delegated subnet {subnet}")
            shown += " (VNet-integrated: no public endpoint)"
        tls, tls_words = _tls(raw.get("configurations") or [], f"{kind}/configurations", listed)
    rules = (
        tuple(_rule(r) for r in raw.get("firewallRules") or [])
        if f"{kind}/firewallrules" in listed
        else None
    )
    return {
        "engine": SERVERS[kind][1],
        "public_access": public,
        "public_setting": shown,
        "rules": rules,
        "private_access": tuple(private),
        "tls_required": tls,
        "tls": tls_words,
    }


def _rule(rule: Mapping[str, Any]) -> AccessRule:
    props = rule.get("properties") or rule
    name = str(rule.get("name", ""))
    try:
        lo, hi = address_span(str(props.get("startIpAddress")), str(props.get("endIpAddress")))
    except ValueError as exc:
        raise InputError(f"firewall rule {name!r}: {exc}") from None
    return AccessRule(name, lo, hi)


def _tls(
    configurations: Iterable[Mapping[str, Any]], kind: str, listed: Collection[str]
) -> tuple[bool | None, str]:
    """``require_secure_transport`` of a flexible server, if it was read."""
    for config in configurations:
        if str(config.get("name", "")).lower() == TLS_SETTING:
            value = str((config.get("properties") or {}).get("value", "")).lower()
            return value == "on", f"{TLS_SETTING} {value.upper() or 'not set'}"
    return None, f"{TLS_SETTING} not read" if kind in listed else f"{TLS_SETTING} not exported"
