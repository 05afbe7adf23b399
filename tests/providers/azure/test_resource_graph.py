"""Collection through Azure Resource Graph, by the real azure-mgmt-resourcegraph client
against the sandbox: the same resources and findings as listing each type, one query per
table for a batch of subscriptions, ``$skipToken`` pages in id order, the per-type path when
Resource Graph is denied, and 429s and quota headers reaching the call budget."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import CloudError
from clamp.model import Resource
from clamp.providers.azure.driver import AzureDriver
from clamp.providers.azure.resource_graph import TABLES, ResourceGraph, query_text
from clamp.sandbox.scenario import demo_scenario
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault, SandboxState

SUB = "00000000-0000-4000-8000-000000000001"
GRAPH_KEY = "azure:resource-graph"


def sub(i: int) -> str:
    return f"00000000-0000-4000-8000-{i + 1:012d}"


def estate(subscriptions: int, **extra: Any) -> dict[str, Any]:
    """The demo's Azure estate, copied into ``subscriptions`` subscriptions."""
    text = json.dumps(demo_scenario()["azure"][SUB])
    return {
        "azure": {sub(i): json.loads(text.replace(SUB, sub(i))) for i in range(subscriptions)},
        **extra,
    }


class RecordingBudget:
    """A call budget that lets every call go and remembers what it was asked."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.held: list[tuple[str, float]] = []

    def acquire(self, key: str) -> None:
        self.acquired.append(key)

    def backoff(self, key: str, seconds: float) -> None:
        self.held.append((key, seconds))


@pytest.fixture
def box(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    scenario = getattr(request, "param", None) or estate(1)
    with Sandbox(SandboxState.from_scenario(scenario)) as running:
        yield running


def settings_for(box: Sandbox, inventory: str = "resource-graph") -> Settings:
    return Settings(database_url="sqlite://", sandbox_url=box.url, azure_inventory=inventory)


def collected(driver: AzureDriver, scopes: list[str]) -> dict[str, list[Resource]]:
    out: dict[str, list[Resource]] = {}
    for scope, outcome in driver.collect_many(scopes):
        assert not isinstance(outcome, CloudError), outcome
        out[scope] = outcome
    return out


def findings(resources: list[Resource], settings: Settings) -> set[tuple[str, str]]:
    return {(f.check, f.resource) for f in evaluate(resources, settings)}


def test_resource_graph_and_listing_each_type_give_the_same_resources_and_findings(
    box: Sandbox,
) -> None:
    graph = AzureDriver(settings_for(box))
    by_graph = collected(graph, [SUB])[SUB]
    by_type = collected(AzureDriver(settings_for(box, "arm")), [SUB])[SUB]

    assert {r.id: (r.type, r.scope, r.facets) for r in by_graph} == {
        r.id: (r.type, r.scope, r.facets) for r in by_type
    }
    assert findings(by_graph, graph.settings) == findings(by_type, graph.settings)
    assert findings(by_graph, graph.settings)  # the demo estate has findings to compare
    assert graph.call_counts().made[GRAPH_KEY] == 2  # resources, authorizationresources


@pytest.mark.parametrize("box", [estate(3)], indirect=True)
def test_one_query_per_table_reads_a_whole_batch_of_subscriptions(box: Sandbox) -> None:
    driver = AzureDriver(settings_for(box))
    scopes = [sub(2), sub(0), sub(1)]

    found = collected(driver, scopes)

    assert list(found) == scopes
    assert {s: len(found[s]) for s in scopes} == {s: len(found[sub(0)]) for s in scopes}
    for scope, resources in found.items():
        assert resources and all(r.scope == scope and scope in r.id for r in resources)
    assert driver.call_counts().made[GRAPH_KEY] == 2


@pytest.mark.parametrize("box", [estate(3, resource_graph={"quota": 1000})], indirect=True)
def test_pages_in_id_order_by_skip_token_or_at_once_by_skip(box: Sandbox) -> None:
    driver = AzureDriver(settings_for(box))
    query = query_text("resources", TABLES["resources"])
    scopes = [sub(i) for i in range(3)]

    whole = ResourceGraph(driver.clients).rows(scopes, query)
    calls_before = driver.call_counts().made[GRAPH_KEY]
    paged = ResourceGraph(driver.clients, page=4).rows(scopes, query)
    calls_between = driver.call_counts().made[GRAPH_KEY]
    at_once = ResourceGraph(driver.clients, page=4, concurrency=4).rows(scopes, query)

    assert len(whole) > 12  # several pages of 4
    assert [r["id"] for r in whole] == sorted(r["id"] for r in whole)
    assert [r["id"] for r in paged] == [r["id"] for r in whole]  # by $skipToken
    assert [r["id"] for r in at_once] == [r["id"] for r in whole]  # by $skip, pages at once
    pages = math.ceil(len(whole) / 4)
    assert calls_between - calls_before == pages
    assert driver.call_counts().made[GRAPH_KEY] - calls_between == pages


@pytest.mark.parametrize("box", [estate(3, resource_graph={"quota": 1000})], indirect=True)
def test_what_later_pages_name_is_completed_from_arm_once_as_with_one_page(box: Sandbox) -> None:
    scopes = [sub(i) for i in range(3)]
    one_page = collected(AzureDriver(settings_for(box)), scopes)
    paged = AzureDriver(settings_for(box))
    paged.graph = ResourceGraph(paged.clients, page=4, concurrency=4)  # pages read at once

    found = collected(paged, scopes)

    for scope in scopes:  # storage accounts' blob services, VNets' admin rules: each once
        assert [(r.id, r.type, r.facets) for r in found[scope]] == [
            (r.id, r.type, r.facets) for r in one_page[scope]
        ]
    assert any(r.type == "Microsoft.Storage/storageAccounts" for r in found[sub(2)])
    assert paged.call_counts().made[GRAPH_KEY] > 2


@pytest.mark.parametrize("box", [estate(2, resource_graph={"denied": True})], indirect=True)
def test_a_denied_resource_graph_falls_back_to_listing_each_type(box: Sandbox) -> None:
    driver = AzureDriver(settings_for(box))

    found = collected(driver, [sub(0), sub(1)])

    assert driver.graph_denied and driver.batch_size == 1
    counts = driver.call_counts()  # both tables' queries went at once; a 403 is not retried
    assert (counts.made[GRAPH_KEY], counts.retried[GRAPH_KEY]) == (2, 0)
    expected = collected(AzureDriver(settings_for(box, "arm")), [sub(0)])[sub(0)]
    assert findings(found[sub(0)], driver.settings) == findings(expected, driver.settings)
    assert found[sub(1)]


def test_a_429_is_retried_counted_and_its_retry_after_holds_the_key(box: Sandbox) -> None:
    box.state.faults.append(
        Fault(status=429, retry_after=0.2, provider="azure", path="Microsoft.ResourceGraph")
    )
    budget = RecordingBudget()
    driver = AzureDriver(settings_for(box), budget=budget)

    assert collected(driver, [SUB])[SUB]

    counts = driver.call_counts()
    assert (counts.made[GRAPH_KEY], counts.retried[GRAPH_KEY], counts.throttled[GRAPH_KEY]) == (
        3,
        1,
        1,
    )
    assert budget.held == [(GRAPH_KEY, 0.2)]
    assert budget.acquired.count(GRAPH_KEY) == 3  # every attempt asked the budget first


@pytest.mark.parametrize(
    "box", [estate(1, resource_graph={"quota": 2, "window_seconds": 60})], indirect=True
)
def test_an_exhausted_quota_holds_resource_graph_until_it_resets(box: Sandbox) -> None:
    budget = RecordingBudget()
    driver = AzureDriver(settings_for(box), budget=budget)

    collected(driver, [SUB])  # two queries: the second answer says none are left

    assert len(budget.held) == 1
    key, seconds = budget.held[0]
    assert key == GRAPH_KEY and 50 <= seconds <= 60


def test_listing_each_type_is_chosen_by_config(box: Sandbox) -> None:
    driver = AzureDriver(dataclasses.replace(settings_for(box), azure_inventory="arm"))

    assert collected(driver, [SUB])[SUB]
    assert driver.call_counts().made[GRAPH_KEY] == 0


def test_a_subscription_without_rows_reads_as_listing_each_type_reads_it(box: Sandbox) -> None:
    unknown = "00000000-0000-4000-8000-0000000000ff"

    by_graph = collected(AzureDriver(settings_for(box)), [SUB, unknown])[unknown]
    by_type = collected(AzureDriver(settings_for(box, "arm")), [unknown])[unknown]

    assert {r.id for r in by_graph} == {r.id for r in by_type}
