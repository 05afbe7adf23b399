"""The GCP driver: the real google-cloud-compute clients against the sandbox's REST API."""

from __future__ import annotations

import pytest

from clamp.config import Settings
from clamp.errors import ConflictError, PermissionDenied, RateLimited
from clamp.model import Change, ChangeOp, ResourceType
from clamp.providers.gcp.driver import GcpDriver
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault

PROJECT = "clamp-demo-prod"
FW = f"//compute.googleapis.com/projects/{PROJECT}/global/firewalls/allow-mysql"
TYPE = "compute.googleapis.com/Firewall"


def test_discovers_projects_and_collects_firewalls_instances_networks(
    sandbox_settings: Settings,
) -> None:
    driver = GcpDriver(sandbox_settings)

    assert sorted(driver.discover_scopes()) == ["clamp-demo-dev", PROJECT]
    resources = list(driver.collect(PROJECT))

    by_type = {t: [r for r in resources if r.type == t] for t in ResourceType}
    assert len(by_type[ResourceType.GCP_FIREWALL]) == 8
    assert len(by_type[ResourceType.GCP_NETWORK]) == 3
    web = next(r for r in by_type[ResourceType.GCP_INSTANCE] if r.name == "web-1")
    assert web.facets["external_ip"] and "web" in web.facets["tags"]
    assert (
        web.id
        == f"//compute.googleapis.com/projects/{PROJECT}/zones/europe-west1-b/instances/web-1"
    )


def _change(driver: GcpDriver, **before_edits: object) -> Change:
    probe = Change(ChangeOp.UPDATE, FW, TYPE, None, None, "test")
    current = driver.current(probe)
    assert current is not None
    after = {**current, "sourceRanges": ["10.0.0.0/8"]}
    return Change(
        ChangeOp.UPDATE, FW, TYPE, {**current, **before_edits}, after, "FirewallsClient.update"
    )


def test_update_create_delete_round_trip(sandbox: Sandbox, sandbox_settings: Settings) -> None:
    driver = GcpDriver(sandbox_settings)
    change = _change(driver)

    driver.apply(change)
    assert (driver.current(change) or {})["sourceRanges"] == ["10.0.0.0/8"]

    created = Change(
        ChangeOp.CREATE,
        FW + "-copy",
        TYPE,
        None,
        {**(change.after or {}), "name": "allow-mysql-copy"},
        "FirewallsClient.insert",
    )
    driver.apply(created)
    assert driver.current(created) is not None
    driver.apply(created.inverse())
    assert driver.current(created) is None


def test_update_refuses_when_the_firewall_changed_since_it_was_read(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = GcpDriver(sandbox_settings)
    stale = _change(driver, sourceRanges=["0.0.0.0/0", "192.168.0.0/16"])
    before = sandbox.state.to_scenario()

    with pytest.raises(ConflictError):
        driver.apply(stale)

    assert sandbox.state.to_scenario() == before


def test_throttling_is_retried_honouring_retry_after(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.state.faults.append(
        Fault(status=429, retry_after=0.01, provider="gcp", path="/firewalls", times=2)
    )

    assert GcpDriver(sandbox_settings).read(FW).name == "allow-mysql"
    assert sandbox.state.faults[0].times == 0


def test_endless_throttling_ends_in_a_rate_limited_error(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.state.faults.append(Fault(status=429, retry_after=0.01, provider="gcp", times=None))

    with pytest.raises(RateLimited):
        GcpDriver(sandbox_settings).read(FW)


def test_forbidden_names_the_missing_permission(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.state.faults.append(Fault(status=403, provider="gcp", path="/firewalls", times=None))

    with pytest.raises(PermissionDenied, match=r"compute\.firewalls\.list"):
        list(GcpDriver(sandbox_settings).collect(PROJECT))
