"""The exposed-database-service check on Azure SQL, PostgreSQL / MySQL flexible servers and
Cloud SQL: public access gates the rules, rules count together, Azure services are their
own kind, and no rule admits nobody."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from builders import SUB
from clamp.address_space import INTERNET_THRESHOLD, is_internet_wide
from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import InputError
from clamp.model import Finding, Severity
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute

SETTINGS = Settings(database_url="sqlite://")
CHECK = "exposed-database-service"
PROVIDERS = {
    "sql": "Microsoft.Sql/servers",
    "postgres": "Microsoft.DBforPostgreSQL/flexibleServers",
    "mysql": "Microsoft.DBforMySQL/flexibleServers",
}


def azure_server(
    engine: str,
    name: str,
    rules: dict[str, tuple[str, str]],
    *,
    public: str | None = "Enabled",
    subnet: str | None = None,
    tls: str | None = "on",
) -> list[dict[str, Any]]:
    """A server as ARM returns it, with its firewall rules and TLS setting as separate objects."""
    kind = PROVIDERS[engine]
    server_id = f"/subscriptions/{SUB}/resourceGroups/db/providers/{kind}/{name}"
    props: dict[str, Any] = {}
    if engine == "sql":
        if public is not None:
            props["publicNetworkAccess"] = public
        props["minimalTlsVersion"] = "1.2"
    else:
        props["network"] = {"publicNetworkAccess": public, "delegatedSubnetResourceId": subnet}
    objects: list[dict[str, Any]] = [
        {"id": server_id, "name": name, "type": kind, "location": "westeurope", "properties": props}
    ]
    objects += [
        {
            "id": f"{server_id}/firewallRules/{rule}",
            "name": rule,
            "type": f"{kind}/firewallRules",
            "properties": {"startIpAddress": start, "endIpAddress": end},
        }
        for rule, (start, end) in rules.items()
    ]
    if engine != "sql" and tls is not None:
        objects.append(
            {
                "id": f"{server_id}/configurations/require_secure_transport",
                "name": "require_secure_transport",
                "type": f"{kind}/configurations",
                "properties": {"value": tls},
            }
        )
    return objects


def cloud_sql(name: str, networks: list[str], *, ipv4: bool = True, **ip: Any) -> dict[str, Any]:
    """A Cloud SQL Admin API v1 DatabaseInstance."""
    return {
        "kind": "sql#instance",
        "name": name,
        "project": "p1",
        "databaseVersion": "POSTGRES_16",
        "settings": {
            "settingsVersion": "3",
            "ipConfiguration": {
                "ipv4Enabled": ipv4,
                "authorizedNetworks": [
                    {"kind": "sql#aclEntry", "value": v, "name": f"net{i}"}
                    for i, v in enumerate(networks)
                ],
                **ip,
            },
        },
    }


def findings(
    azure: Sequence[dict[str, Any]] = (), gcp: Sequence[dict[str, Any]] = ()
) -> list[Finding]:
    resources = resources_from_arm(list(azure), SUB) + resources_from_compute("p1", list(gcp))
    return [f for f in evaluate(resources, SETTINGS) if f.check == CHECK]


@pytest.mark.parametrize("engine", sorted(PROVIDERS))
def test_a_rule_admitting_every_address_exposes_each_azure_engine(engine: str) -> None:
    found = findings(azure_server(engine, "db1", {"all": ("0.0.0.0", "255.255.255.255")}))

    assert len(found) == 1
    finding = found[0]
    assert finding.details["kind"] == "internet"
    assert finding.details["offending"] == ["all"]
    assert finding.details["ranges"] == ["0.0.0.0/0"]
    assert finding.details["covers"] == "100% of public IPv4"
    assert finding.details["tls_required"] is True
    assert finding.severity == Severity.HIGH


def test_rules_that_cover_the_internet_together_are_the_internet() -> None:
    halves = {"low": ("0.0.0.0", "127.255.255.255"), "high": ("128.0.0.0", "255.255.255.255")}
    (finding,) = findings(
        azure_server("postgres", "pg", {**halves, "office": ("203.0.113.5", "203.0.113.5")})
    )

    assert sorted(finding.details["offending"]) == ["high", "low"]
    admits = {r["name"]: r["admits"] for r in finding.details["rules"]}
    assert admits == {
        "low": "part of the internet",
        "high": "part of the internet",
        "office": "a named network",
    }
    assert finding.details["ranges"] == ["0.0.0.0/1", "128.0.0.0/1"] or finding.details[
        "ranges"
    ] == ["128.0.0.0/1", "0.0.0.0/1"]


def test_firewall_rules_do_not_apply_while_public_access_is_off() -> None:
    wide = {"all": ("0.0.0.0", "255.255.255.255")}
    assert findings(azure_server("sql", "s", wide, public="Disabled")) == []
    assert findings(azure_server("mysql", "m", wide, public="Disabled")) == []
    # A VNet-integrated flexible server has no public endpoint, whatever its rules say.
    assert findings(azure_server("postgres", "p", wide, public=None, subnet="/sub/net")) == []


def test_public_access_with_no_rule_admits_nobody() -> None:
    assert findings(azure_server("sql", "s", {})) == []
    assert findings(gcp=[cloud_sql("i", [])]) == []


def test_allow_azure_services_is_its_own_lower_kind() -> None:
    (finding,) = findings(
        azure_server("sql", "s", {"AllowAllWindowsAzureIps": ("0.0.0.0", "0.0.0.0")})
    )

    assert finding.details["kind"] == "azure-services"
    assert finding.severity == Severity.MEDIUM
    assert finding.details["rules"][0]["admits"] == "Azure services"
    assert finding.details["ranges"] == []


def test_internet_and_azure_services_together_report_the_internet_and_name_both() -> None:
    rules = {
        "AllowAllWindowsAzureIps": ("0.0.0.0", "0.0.0.0"),
        "any": ("0.0.0.0", "255.255.255.255"),
    }
    (finding,) = findings(azure_server("sql", "s", rules))

    assert finding.details["kind"] == "internet"
    assert set(finding.details["offending"]) == {"any", "AllowAllWindowsAzureIps"}


def test_a_range_covering_most_of_the_internet_is_the_internet_and_a_slash_8_is_not() -> None:
    (wide,) = findings(azure_server("sql", "s", {"big": ("2.0.0.0", "3.255.255.255")}))  # a /7
    assert wide.details["kind"] == "internet"
    assert findings(azure_server("sql", "t", {"eight": ("11.0.0.0", "11.255.255.255")})) == []
    assert INTERNET_THRESHOLD == 2**24
    assert not is_internet_wide([(0, 2**24 - 1)])  # 0.0.0.0/8 is not public at all


def test_tls_not_required_makes_internet_exposure_critical_and_says_so() -> None:
    (finding,) = findings(
        azure_server("mysql", "m", {"all": ("0.0.0.0", "255.255.255.255")}, tls="OFF")
    )
    assert finding.severity == Severity.CRITICAL
    assert finding.details["tls_required"] is False
    assert finding.details["tls"] == "require_secure_transport OFF"


def test_cloud_sql_with_a_public_ip_and_an_open_authorized_network() -> None:
    (finding,) = findings(
        gcp=[cloud_sql("orders", ["0.0.0.0/0", "198.51.100.0/24"], sslMode="ENCRYPTED_ONLY")]
    )

    assert finding.resource == "//cloudsql.googleapis.com/projects/p1/instances/orders"
    assert finding.details["offending"] == ["net0"]
    assert finding.details["tls_required"] is True
    assert finding.details["public_access"] == "ipConfiguration.ipv4Enabled true"


def test_cloud_sql_without_a_public_ip_ignores_authorized_networks() -> None:
    instance = cloud_sql(
        "quiet", ["0.0.0.0/0"], ipv4=False, privateNetwork="projects/p1/global/networks/vpc"
    )
    assert findings(gcp=[instance]) == []


def test_cloud_sql_halves_of_the_internet_count_together_and_tls_off_is_critical() -> None:
    (finding,) = findings(gcp=[cloud_sql("split", ["0.0.0.0/1", "128.0.0.0/1"])])
    assert finding.details["kind"] == "internet"
    assert finding.severity == Severity.CRITICAL  # no sslMode, requireSsl unset: plaintext allowed


def test_a_malformed_rule_is_a_clear_input_error_naming_the_server() -> None:
    with pytest.raises(InputError, match=r"db/providers/Microsoft.Sql/servers/bad.*'r1'"):
        findings(azure_server("sql", "bad", {"r1": ("10.0.0.9", "10.0.0.1")}))
    with pytest.raises(InputError, match=r"instances/bad: authorized network 'nope'"):
        findings(gcp=[cloud_sql("bad", ["nope"])])


def test_rules_not_exported_are_unknown_not_open() -> None:
    server = azure_server("sql", "s", {"all": ("0.0.0.0", "255.255.255.255")})[:1]
    resources = resources_from_arm(server, SUB, listed={"microsoft.sql/servers"})
    assert resources[0].facets["rules"] is None
    assert [f for f in evaluate(resources, SETTINGS) if f.check == CHECK] == []
