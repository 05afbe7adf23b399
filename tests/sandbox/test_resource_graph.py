"""The sandbox's Azure Resource Graph through azure-mgmt-resourcegraph: answers the
``QueryResponse`` model takes, rows with Resource Graph's columns, the quota headers, and
the errors the service gives (an invalid query, an exhausted quota, a denied principal);
each row, taken back to ARM's shape, fits the azure-mgmt model of its type."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import models as compute
from azure.mgmt.network import models as network
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions, QueryResponse
from azure.mgmt.storage import models as storage

from arm_models import check_msrest, check_typespec
from clamp.config import Settings
from clamp.providers.azure.clients import AzureClients, SandboxCredential
from clamp.providers.azure.resource_graph import TABLES, arm_object, query_text
from clamp.sandbox.scenario import demo_scenario
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState

SUB = "00000000-0000-4000-8000-000000000001"
ROW_COLUMNS = {"id", "name", "type", "tenantId", "location", "resourceGroup", "subscriptionId"}


class Unpaced:
    """A call budget that holds nothing back: the sandbox's own answers are under test."""

    def acquire(self, key: str) -> None:
        """Go at once."""

    def backoff(self, key: str, seconds: float) -> None:
        """Ignore the hold."""


def client_for(graph: dict[str, Any]) -> Iterator[ResourceGraphClient]:
    scenario = {"azure": demo_scenario()["azure"], "resource_graph": graph}
    with Sandbox(SandboxState.from_scenario(scenario)) as box:
        settings = Settings(database_url="sqlite://", sandbox_url=box.url)
        yield AzureClients(settings, budget=Unpaced()).resource_graph


@pytest.fixture
def client() -> Iterator[ResourceGraphClient]:
    yield from client_for({"quota": 3, "window_seconds": 60})


def ask(client: ResourceGraphClient, query: str, **options: Any) -> tuple[Any, QueryResponse]:
    request = QueryRequest(
        subscriptions=[SUB],
        query=query,
        options=QueryRequestOptions(result_format="objectArray", **options),
    )
    answer: tuple[Any, QueryResponse] = client.resources(
        request, cls=lambda response, model, _: (response.http_response.headers, model)
    )
    return answer


def test_an_answer_is_a_query_response_with_rows_and_the_quota_left(
    client: ResourceGraphClient,
) -> None:
    headers, answer = ask(client, query_text("resources", TABLES["resources"]), top=5)

    assert answer.count == 5 and answer.total_records and answer.total_records > 5
    assert answer.result_truncated == "false" and answer.skip_token
    assert all(set(row) >= ROW_COLUMNS for row in answer.data)
    assert all(row["type"] == row["type"].lower() for row in answer.data)
    assert headers["x-ms-user-quota-remaining"] == "2"
    assert headers["x-ms-user-quota-resets-after"].startswith("00:00:") or headers[
        "x-ms-user-quota-resets-after"
    ].startswith("00:01:")


def test_a_vm_row_carries_its_power_state_where_resource_graph_has_it(
    client: ResourceGraphClient,
) -> None:
    _, answer = ask(
        client, "Resources | where type =~ 'microsoft.compute/virtualmachines' | order by id"
    )

    powers = [row["properties"]["extended"]["instanceView"]["powerState"] for row in answer.data]
    assert powers and all(p["code"].startswith("PowerState/") for p in powers)
    assert all("instanceView" not in row["properties"] for row in answer.data)


def test_a_query_clamp_does_not_send_is_refused_as_resource_graph_refuses_it(
    client: ResourceGraphClient,
) -> None:
    with pytest.raises(HttpResponseError) as caught:
        ask(client, "resources | summarize count() by type")

    assert caught.value.status_code == 400
    error = caught.value.error
    assert error is not None and error.code == "BadRequest"
    assert [d.code for d in error.details] == ["InvalidQuery", "ParserFailure"]


def test_past_the_quota_the_answer_is_429_rate_limiting(client: ResourceGraphClient) -> None:
    query = query_text("authorizationresources", TABLES["authorizationresources"])
    for _ in range(3):
        ask(client, query)

    with pytest.raises(HttpResponseError) as caught:
        client.resources(QueryRequest(subscriptions=[SUB], query=query), retry_total=0)

    assert caught.value.status_code == 429
    assert caught.value.error is not None and caught.value.error.code == "RateLimiting"
    assert caught.value.response.headers["x-ms-user-quota-remaining"] == "0"


def test_a_denied_principal_gets_403() -> None:
    for client in client_for({"denied": True}):
        with pytest.raises(HttpResponseError) as caught:
            ask(client, query_text("resources", TABLES["resources"]))
        assert caught.value.status_code == 403
        assert caught.value.error is not None
        assert caught.value.error.code == "AuthorizationFailed"


def test_each_row_as_clamp_reads_it_fits_the_arm_model_of_its_type(
    client: ResourceGraphClient,
) -> None:
    authorization = AuthorizationManagementClient(SandboxCredential(), SUB).role_assignments
    assignment = sys.modules[type(authorization).__module__.rsplit(".", 2)[0]].models
    models: dict[str, type] = {
        "microsoft.network/networksecuritygroups": network.NetworkSecurityGroup,
        "microsoft.network/networkinterfaces": network.NetworkInterface,
        "microsoft.network/virtualnetworks": network.VirtualNetwork,
        "microsoft.network/publicipaddresses": network.PublicIPAddress,
        "microsoft.network/loadbalancers": network.LoadBalancer,
        "microsoft.compute/virtualmachines": compute.VirtualMachine,
        "microsoft.storage/storageaccounts": storage.StorageAccount,
        "microsoft.authorization/roleassignments": assignment.RoleAssignment,
    }
    problems: list[str] = []
    seen: set[str] = set()
    for table, types in TABLES.items():
        _, answer = ask(client, query_text(table, types), top=1000)
        for row in answer.data:
            cls, obj = models[row["type"]], arm_object(row)
            check = check_msrest if hasattr(cls, "_attribute_map") else check_typespec
            check(cls, obj, f"{row['type']} {row['name']}", problems)
            seen.add(row["type"])
    assert seen == set(models)
    assert not problems, "\n".join(sorted(set(problems))[:40])


def test_an_answer_follows_the_writes_made_since_the_last_query() -> None:
    scenario = {"azure": demo_scenario()["azure"], "resource_graph": {"quota": 10}}
    nsgs = "Resources | where type =~ 'microsoft.network/networksecuritygroups' | order by id"
    with Sandbox(SandboxState.from_scenario(scenario)) as box:
        clients = AzureClients(
            Settings(database_url="sqlite://", sandbox_url=box.url), budget=Unpaced()
        )
        network = clients.network(SUB).network_security_groups
        before = {row["name"] for row in ask(clients.resource_graph, nsgs)[1].data}

        for name in ("new-nsg", "gone-nsg"):
            network.begin_create_or_update("clamp-demo", name, {"location": "westeurope"}).result()
        between = {row["name"] for row in ask(clients.resource_graph, nsgs)[1].data}
        network.begin_delete("clamp-demo", "gone-nsg").result()
        rule = {"protocol": "Tcp", "access": "Allow", "direction": "Inbound", "priority": 4000}
        rule |= {"sourceAddressPrefix": "10.0.0.0/8", "sourcePortRange": "*"}
        rule |= {"destinationAddressPrefix": "*", "destinationPortRange": "8443"}
        clients.network(SUB).security_rules.begin_create_or_update(
            "clamp-demo", "web-nsg", "internal-8443", {"properties": rule}
        ).result()
        after = {row["name"]: row for row in ask(clients.resource_graph, nsgs)[1].data}

    assert between == before | {"new-nsg", "gone-nsg"}
    assert set(after) == before | {"new-nsg"}
    rules = after["web-nsg"]["properties"]["securityRules"]
    assert "internal-8443" in {r["name"] for r in rules}
