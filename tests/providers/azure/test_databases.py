"""Azure SQL and PostgreSQL / MySQL flexible servers through azure-mgmt-sql,
azure-mgmt-postgresqlflexibleservers and azure-mgmt-mysqlflexibleservers against the
sandbox's ARM: collection, and what ARM refuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core.exceptions import HttpResponseError

from clamp.config import Settings
from clamp.errors import CloudError, ConflictError
from clamp.model import Change, ChangeOp, ChangeType, ResourceType
from clamp.providers.azure.databases import ENGINES, read_actions
from clamp.providers.azure.driver import AzureDriver
from clamp.providers.azure.permissions import SCAN_PERMISSIONS
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

SUB = "00000000-0000-4000-8000-000000000001"
GROUP = f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers"
SQL = f"{GROUP}/Microsoft.Sql/servers/clamp-demo-sql"
PG = f"{GROUP}/Microsoft.DBforPostgreSQL/flexibleServers/clamp-demo-pg"
MYSQL = f"{GROUP}/Microsoft.DBforMySQL/flexibleServers/clamp-demo-mysql"


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    with Sandbox(load_state(None)) as box:
        yield box


@pytest.fixture
def driver(demo: Sandbox) -> AzureDriver:
    return AzureDriver(Settings(database_url="sqlite://", sandbox_url=demo.url))


def test_every_database_server_is_collected_with_its_rules_and_tls(driver: AzureDriver) -> None:
    servers = {
        r.name: r
        for r in driver.collect(SUB)
        if r.type
        in (
            ResourceType.AZURE_SQL_SERVER,
            ResourceType.AZURE_POSTGRES_SERVER,
            ResourceType.AZURE_MYSQL_SERVER,
        )
    }

    assert set(servers) == {
        "clamp-demo-sql",
        "clamp-demo-sql-internal",
        "clamp-demo-pg",
        "clamp-demo-mysql",
    }
    sql = servers["clamp-demo-sql"].facets
    assert [r.range for r in sql["rules"]] == ["0.0.0.0/0", "0.0.0.0/32", "203.0.113.0/24"]
    assert sql["public_access"] is True
    assert servers["clamp-demo-sql-internal"].facets["public_access"] is False
    assert servers["clamp-demo-pg"].facets["tls_required"] is True  # the service default, on
    assert servers["clamp-demo-mysql"].facets["tls_required"] is False  # set OFF
    assert driver.read(PG).facets["rules"] == servers["clamp-demo-pg"].facets["rules"]


def _rule(server: str, kind: ChangeType, name: str, start: str, end: str) -> Change:
    body = {"name": name, "properties": {"startIpAddress": start, "endIpAddress": end}}
    return Change(ChangeOp.CREATE, f"{server}/firewallRules/{name}", kind, None, body, "")


@pytest.mark.parametrize(
    ("server", "kind"),
    [
        (SQL, ChangeType.AZURE_SQL_FIREWALL_RULE),
        (PG, ChangeType.AZURE_POSTGRES_FIREWALL_RULE),
        (MYSQL, ChangeType.AZURE_MYSQL_FIREWALL_RULE),
    ],
)
def test_firewall_rules_are_created_and_deleted_and_bad_ranges_refused(
    driver: AzureDriver, server: str, kind: ChangeType
) -> None:
    create = _rule(server, kind, "bastion", "198.51.100.7", "198.51.100.7")
    driver.apply(create)
    now = driver.current(create)
    assert now is not None and now["properties"]["endIpAddress"] == "198.51.100.7"
    with pytest.raises(ConflictError, match="changed since it was read"):
        driver.apply(create)  # it exists now: the plan's "absent" no longer holds
    driver.apply(Change(ChangeOp.DELETE, create.target, kind, now, None, ""))
    assert driver.current(create) is None

    with pytest.raises(CloudError, match="greater than or equal to startIpAddress"):
        driver.apply(_rule(server, kind, "backwards", "10.0.0.9", "10.0.0.1"))
    with pytest.raises(CloudError, match="must be an IPv4 address"):
        driver.apply(_rule(server, kind, "v6", "::1", "::1"))


def test_a_vnet_integrated_flexible_server_refuses_public_access(demo: Sandbox) -> None:
    client = AzureDriver(Settings(database_url="sqlite://", sandbox_url=demo.url)).clients.postgres(
        SUB
    )
    with demo.state.lock:
        objects = demo.state.azure[SUB]
        server = next(o for o in objects if o["id"] == PG)
        vnet = {**server, "id": PG + "-vnet", "name": "clamp-demo-pg-vnet"}
        vnet["properties"] = {
            **server["properties"],
            "network": {
                "publicNetworkAccess": "Disabled",
                "delegatedSubnetResourceId": "/x/subnets/db",
            },
        }
        objects.append(vnet)
    body = {"properties": {"network": {"publicNetworkAccess": "Enabled"}}}
    with pytest.raises(HttpResponseError, match="not integrated into a virtual network"):
        client.servers.begin_update("clamp-demo", "clamp-demo-pg-vnet", body).result()


def test_the_scan_role_grants_every_read_the_database_engines_make() -> None:
    reads = {action for engine in ENGINES for action in read_actions(engine)}
    assert len(reads) == 8 and reads <= set(SCAN_PERMISSIONS)
