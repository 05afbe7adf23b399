"""Cloud SQL through google-api-python-client's sqladmin v1 against the sandbox: collection,
patches conditional on settingsVersion with their long-running operation, and what the API
refuses."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from googleapiclient.errors import HttpError

from clamp.config import Settings
from clamp.errors import CloudError, ConflictError
from clamp.model import Change, ChangeOp, ChangeType, ResourceType
from clamp.providers.gcp.driver import GcpDriver
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

ORDERS = "//cloudsql.googleapis.com/projects/clamp-demo-prod/instances/orders-db"
BILLING = "//cloudsql.googleapis.com/projects/clamp-demo-prod/instances/billing-db"


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    with Sandbox(load_state(None)) as box:
        yield box


@pytest.fixture
def driver(demo: Sandbox) -> GcpDriver:
    return GcpDriver(Settings(database_url="sqlite://", sandbox_url=demo.url))


def _change(driver: GcpDriver, target: str, **ip: object) -> Change:
    before = driver.current(
        Change(ChangeOp.UPDATE, target, ChangeType.CLOUD_SQL_IP_CONFIGURATION, None, None, "")
    )
    assert before is not None
    after = copy.deepcopy(before)
    after["ipConfiguration"].update(ip)
    return Change(ChangeOp.UPDATE, target, ChangeType.CLOUD_SQL_IP_CONFIGURATION, before, after, "")


def test_instances_are_collected_with_their_ip_configuration(driver: GcpDriver) -> None:
    found = {
        r.name: r
        for r in driver.collect("clamp-demo-prod")
        if r.type == ResourceType.CLOUD_SQL_INSTANCE
    }

    assert set(found) == {"orders-db", "billing-db"}
    assert found["orders-db"].id == ORDERS
    assert [r.range for r in found["orders-db"].facets["rules"]] == ["0.0.0.0/0", "198.51.100.0/24"]
    assert found["billing-db"].facets["public_access"] is False
    assert driver.collect("clamp-demo-dev") is not None  # a project with no instance lists none


def test_a_patch_waits_for_its_operation_and_bumps_the_settings_version(
    demo: Sandbox, driver: GcpDriver
) -> None:
    change = _change(
        driver,
        ORDERS,
        authorizedNetworks=[{"kind": "sql#aclEntry", "value": "198.51.100.0/24", "name": "office"}],
    )
    driver.apply(change)

    assert driver.current(change) is not None
    assert [
        n["value"] for n in driver.current(change)["ipConfiguration"]["authorizedNetworks"]
    ] == ["198.51.100.0/24"]  # type: ignore[index]
    instance = next(o for o in demo.state.gcp["clamp-demo-prod"] if o.get("name") == "orders-db")
    assert instance["settings"]["settingsVersion"] == "5"
    with pytest.raises(ConflictError, match="changed since it was read"):
        driver.apply(change)  # the plan's before-image no longer holds
    driver.apply(change.inverse())
    assert len(driver.current(change)["ipConfiguration"]["authorizedNetworks"]) == 2  # type: ignore[index]


def test_cloud_sql_refuses_an_instance_with_no_way_in_and_bad_networks(driver: GcpDriver) -> None:
    with pytest.raises(CloudError, match="At least one of public IP, private IP or PSC"):
        driver.apply(_change(driver, ORDERS, ipv4Enabled=False))
    with pytest.raises(CloudError, match="Invalid authorized network"):
        driver.apply(_change(driver, ORDERS, authorizedNetworks=[{"value": "not-a-cidr"}]))
    # billing-db has a private IP: turning the public one off (again) is accepted.
    driver.apply(_change(driver, BILLING, ipv4Enabled=False))


def test_a_stale_settings_version_is_refused_by_the_api(demo: Sandbox, driver: GcpDriver) -> None:
    api = driver.clients.sqladmin.instances()
    body = {"settings": {"settingsVersion": "1", "ipConfiguration": {"authorizedNetworks": []}}}
    with pytest.raises(HttpError, match="412"):
        api.patch(project="clamp-demo-prod", instance="orders-db", body=body).execute()
