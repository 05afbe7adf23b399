"""The GCP driver: the real google-cloud-compute clients against the sandbox's REST API."""

from __future__ import annotations

import dataclasses
import socket
import time
from pathlib import Path

import pytest

from clamp.config import Settings
from clamp.errors import (
    AuthenticationError,
    CloudUnavailable,
    ConflictError,
    InputError,
    PermissionDenied,
    RateLimited,
    ResourceNotFound,
)
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

    assert sorted(driver.discover_scopes()) == ["clamp-demo-dev", PROJECT, "customer:C03az79cb"]
    resources = list(driver.collect(PROJECT))

    by_type = {t: [r for r in resources if r.type == t] for t in ResourceType}
    assert len(by_type[ResourceType.GCP_FIREWALL]) == 9
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


def test_throttled_call_waits_as_long_as_retry_after_says(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    # 0.6 s is longer than the driver's own first backoff, so only Retry-After explains it.
    sandbox.state.faults.append(Fault(status=429, retry_after=0.6, provider="gcp", times=1))
    driver = GcpDriver(sandbox_settings)

    started = time.monotonic()
    assert driver.read(FW).name == "allow-mysql"

    assert time.monotonic() - started >= 0.6


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
    per_api = dataclasses.replace(sandbox_settings, gcp_inventory="api")

    with pytest.raises(PermissionDenied, match=r"compute\.firewalls\.list"):
        list(GcpDriver(per_api).collect(PROJECT))


def test_collected_firewall_keeps_the_wire_shape_and_its_rule(sandbox_settings: Settings) -> None:
    resources = GcpDriver(sandbox_settings).collect(PROJECT)

    web = next(r for r in resources if r.id.endswith("/firewalls/allow-ssh-web"))

    assert web.raw["allowed"] == [{"IPProtocol": "tcp", "ports": ["22", "443"]}]
    assert web.raw["sourceRanges"] == ["0.0.0.0/0"] and "denied" not in web.raw
    [rule] = web.facets["rules"]
    assert rule.sources == ("0.0.0.0/0",) and rule.target_tags == ("web",)


def test_server_errors_are_retried_then_reported_as_unavailable(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = GcpDriver(sandbox_settings)
    sandbox.state.faults.append(Fault(status=503, retry_after=0.01, provider="gcp", times=1))
    assert driver.read(FW).name == "allow-mysql"

    sandbox.state.faults.append(Fault(status=500, retry_after=0.01, provider="gcp", times=None))
    with pytest.raises(CloudUnavailable, match="500"):
        driver.read(FW)


def test_forbidden_update_names_the_permission_and_changes_nothing(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = GcpDriver(sandbox_settings)
    change = _change(driver)
    before = sandbox.state.to_scenario()
    sandbox.state.faults.append(Fault(status=403, provider="gcp", method="PUT", times=None))

    with pytest.raises(PermissionDenied, match=r"compute\.firewalls\.update"):
        driver.apply(change)

    assert sandbox.state.to_scenario() == before


def test_unreachable_endpoint_is_reported_as_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    settings = Settings(database_url="sqlite://", sandbox_url=f"http://127.0.0.1:{port}")

    with pytest.raises(CloudUnavailable, match="could not reach"):
        GcpDriver(settings).read(FW)


def test_missing_application_default_credentials_says_how_to_log_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    settings = Settings(database_url="sqlite://", sandbox_url=None)

    with pytest.raises(AuthenticationError, match="application-default login"):
        GcpDriver(settings).read(FW)


def test_reads_one_instance_and_one_network_by_full_name(sandbox_settings: Settings) -> None:
    driver = GcpDriver(sandbox_settings)
    base = f"//compute.googleapis.com/projects/{PROJECT}"

    web = driver.read(f"{base}/zones/europe-west1-b/instances/web-1")
    vpc = driver.read(f"{base}/global/networks/prod-vpc")

    assert (web.type, web.facets["status"]) == (ResourceType.GCP_INSTANCE, "RUNNING")
    assert (vpc.type, vpc.name) == (ResourceType.GCP_NETWORK, "prod-vpc")
    with pytest.raises(ResourceNotFound):
        driver.read(f"{base}/zones/europe-west1-b/instances/gone")
    with pytest.raises(InputError):
        driver.read(f"{base}/global/routes/default-route")


def test_create_whose_operation_fails_raises_and_creates_nothing(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = GcpDriver(sandbox_settings)
    orphan = {
        "name": "orphan",
        "network": "global/networks/no-such-vpc",
        "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
        "sourceRanges": ["10.0.0.0/8"],
    }
    create = Change(ChangeOp.CREATE, FW.replace("allow-mysql", "orphan"), TYPE, None, orphan, "t")

    with pytest.raises(ResourceNotFound, match="no-such-vpc"):
        driver.apply(create)

    assert driver.current(create) is None


def test_create_of_an_existing_firewall_is_a_conflict_and_changes_nothing(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = GcpDriver(sandbox_settings)
    existing = driver.current(Change(ChangeOp.CREATE, FW, TYPE, None, None, "t"))
    before = sandbox.state.to_scenario()

    with pytest.raises(ConflictError, match="already exists"):
        driver.apply(Change(ChangeOp.CREATE, FW, TYPE, None, existing, "t"))

    assert sandbox.state.to_scenario() == before
