"""Every Google call goes through the budget and is counted, at the transport: the
google-cloud-* clients, google-cloud-storage and the discovery clients alike; a 429's
``Retry-After`` holds its key back; without a budget nothing waits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clamp.config import Settings
from clamp.providers.gcp.driver import GcpDriver
from clamp.providers.gcp.pacing import call_key
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault


class RecordingBudget:
    """A ``CallBudget`` that lets every call go and remembers what it was asked."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.backoffs: list[tuple[str, float]] = []

    def acquire(self, key: str) -> None:
        self.acquired.append(key)

    def backoff(self, key: str, seconds: float) -> None:
        self.backoffs.append((key, seconds))


@pytest.fixture
def demo() -> Iterator[Sandbox]:
    with Sandbox(load_state(None)) as box:
        yield box


def _settings(box: Sandbox, inventory: str) -> Settings:
    return Settings(database_url="sqlite://", sandbox_url=box.url, gcp_inventory=inventory)


@pytest.mark.parametrize("inventory", ["asset-inventory", "api"])
def test_every_call_of_a_scan_asks_the_budget_and_is_counted(demo: Sandbox, inventory: str) -> None:
    budget = RecordingBudget()
    driver = GcpDriver(_settings(demo, inventory), budget=budget)
    list(driver.collect("clamp-demo-prod"))
    made = driver.call_counts().made
    assert sorted(budget.acquired) == sorted(made.elements())
    apis = {key.rsplit(":", 1)[-1] for key in made}
    expected = {"compute", "storage"} | (
        {"cloudasset"} if inventory == "asset-inventory" else {"sqladmin", "cloudresourcemanager"}
    )
    assert expected <= apis


def test_a_429_holds_its_key_back_for_retry_after(demo: Sandbox) -> None:
    demo.state.faults.append(Fault(status=429, retry_after=0.01, path="/assets", times=1))
    budget = RecordingBudget()
    driver = GcpDriver(_settings(demo, "asset-inventory"), budget=budget)
    assert list(driver.collect("clamp-demo-dev"))
    key = "gcp:clamp-demo-dev:cloudasset"
    assert budget.backoffs == [(key, 0.01)]
    assert driver.call_counts().throttled[key] == 1


def test_without_a_budget_calls_are_still_counted(demo: Sandbox) -> None:
    driver = GcpDriver(_settings(demo, "asset-inventory"))
    list(driver.collect("clamp-demo-dev"))
    assert driver.call_counts().made["gcp:clamp-demo-dev:cloudasset"] == 2


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (
            "https://compute.googleapis.com/compute/v1/projects/p1/global/firewalls",
            "gcp:p1:compute",
        ),
        (
            "https://cloudasset.googleapis.com/v1/organizations/12/assets",
            "gcp:organizations/12:cloudasset",
        ),
        ("https://storage.googleapis.com/storage/v1/b?project=p2", "gcp:p2:storage"),
        ("https://sqladmin.googleapis.com/v1/projects/p3/instances", "gcp:p3:sqladmin"),
        ("http://127.0.0.1:9/v1/projects/p4/assets", "gcp:p4:cloudasset"),
    ],
)
def test_budget_keys_name_the_project_and_the_api(url: str, key: str) -> None:
    assert call_key(url) == key
