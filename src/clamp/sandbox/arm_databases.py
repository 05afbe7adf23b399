"""Managed databases on the sandbox's ARM: Azure SQL logical servers and PostgreSQL /
MySQL flexible servers, their firewall rules and server parameters, and what Azure refuses.

Sources (the SDKs Clamp drives): azure-mgmt-sql 4.0 (Microsoft.Sql 2025-01-01),
azure-mgmt-postgresqlflexibleservers 3.0 (2026-10-01), azure-mgmt-mysqlflexibleservers 1.0
(2024-12-30). Their request builders give the paths; their operations the answers: a SQL
firewall rule is written at once (``create_or_update`` expects 200/201, ``delete``
200/204), a SQL server's PATCH and every flexible-server write are long-running (the
PostgreSQL client accepts only 202). Their models give the validation: a firewall rule's
``startIpAddress``/``endIpAddress`` "must be IPv4 format" and the end "must be greater than
or equal to startIpAddress" (``ServerFirewallRuleProperties``); ``publicNetworkAccess``
"Enabled" / "Disabled" (/ "SecuredByPerimeter" on SQL), and on a flexible server it "is only
supported for servers that are not integrated into a virtual network" (``Network``). The
error codes are the sandbox's own choice (the specs do not list them).

Every flexible server has its ``require_secure_transport`` parameter: until set, it reads
as the service's default, ``on`` (PostgreSQL) / ``ON`` (MySQL).
"""

from __future__ import annotations

import ipaddress

from starlette.responses import Response

from clamp.sandbox.arm import Json, arm_error

SQL = "microsoft.sql/servers"
POSTGRES = "microsoft.dbforpostgresql/flexibleservers"
MYSQL = "microsoft.dbformysql/flexibleservers"
SERVERS = (SQL, POSTGRES, MYSQL)
FIREWALL_RULES = tuple(f"{s}/firewallrules" for s in SERVERS)
CONFIGURATIONS = (f"{POSTGRES}/configurations", f"{MYSQL}/configurations")
PUBLIC_ACCESS = {
    SQL: ("Enabled", "Disabled", "SecuredByPerimeter"),
    POSTGRES: ("Enabled", "Disabled"),
    MYSQL: ("Enabled", "Disabled"),
}
TLS_SETTING = "require_secure_transport"
TLS_DEFAULT = {POSTGRES: "on", MYSQL: "ON"}


def server_id_of(arm_id: str) -> str | None:
    """The database server an id lies below, spelled as in ``arm_id``."""
    segments = arm_id.split("/")
    kind = "/".join(segments[6:8]).lower() if len(segments) > 8 else ""
    if segments[5:6] and segments[5].lower() == "providers" and kind in SERVERS:
        return "/".join(segments[:9])
    return None


def default_configuration(server: Json, name: str) -> Json | None:
    """A flexible server's parameter as Azure reads it before anyone set it (only the ones
    the sandbox knows)."""
    kind = str(server.get("type", "")).lower()
    if name.lower() != TLS_SETTING or kind not in TLS_DEFAULT:
        return None
    default = TLS_DEFAULT[kind]
    return {
        "id": f"{server['id']}/configurations/{TLS_SETTING}",
        "name": TLS_SETTING,
        "type": f"{server['type']}/configurations",
        "properties": {
            "value": default,
            "defaultValue": default,
            "dataType": "Enumeration",
            "allowedValues": "on,off" if kind == POSTGRES else "ON,OFF",
            "source": "system-default",
        },
    }


def check_database(kind: str, props: Json) -> Response | None:
    """Azure's 400 for a firewall rule or server network setting it refuses."""
    if kind in FIREWALL_RULES:
        return _check_rule(props)
    if kind in SERVERS:
        network = (props.get("network") or {}) if kind != SQL else props
        access = network.get("publicNetworkAccess")
        if access is not None and access not in PUBLIC_ACCESS[kind]:
            return _invalid(
                "publicNetworkAccess",
                access,
                f"It should be one of {', '.join(PUBLIC_ACCESS[kind])}.",
            )
        if kind != SQL and network.get("delegatedSubnetResourceId") and access == "Enabled":
            return arm_error(
                400,
                "PublicNetworkAccessNotSupported",
                "Public network access is only supported for servers that are not integrated "
                "into a virtual network.",
            )
    if kind in CONFIGURATIONS:
        value = str(props.get("value", ""))
        if value.lower() not in ("on", "off"):
            return _invalid("value", value, "It should be one of on, off.")
    return None


def _check_rule(props: Json) -> Response | None:
    addresses = []
    for field in ("startIpAddress", "endIpAddress"):
        value = props.get(field)
        try:
            addresses.append(ipaddress.IPv4Address(str(value)))
        except ValueError:
            return _invalid(field, value, "It must be an IPv4 address.")
    if addresses[0] > addresses[1]:
        return _invalid(
            "endIpAddress",
            props["endIpAddress"],
            "It must be greater than or equal to startIpAddress.",
        )
    return None


def _invalid(field: str, value: object, why: str) -> Response:
    return arm_error(
        400, "InvalidParameterValue", f"Invalid value given for parameter {field}: {value}. {why}"
    )
