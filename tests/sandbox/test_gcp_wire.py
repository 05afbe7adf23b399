"""The sandbox's Google side, driven by the real google-cloud-compute and resource-manager clients."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1, resourcemanager_v3

from clamp.sandbox.server import Sandbox

PROJECT = "clamp-demo-prod"
NETWORK = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/prod-vpc"


def _options(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": sandbox.url},
    }


def _wait(sandbox: Sandbox, op: compute_v1.Operation) -> compute_v1.Operation:
    waited = compute_v1.GlobalOperationsClient(**_options(sandbox)).wait(
        project=PROJECT, operation=op.name
    )
    assert waited.status == compute_v1.Operation.Status.DONE and not waited.error.errors
    return waited


def _stored(sandbox: Sandbox, name: str) -> dict[str, Any] | None:
    objects = sandbox.state.gcp[PROJECT]
    return next((o for o in objects if o.get("name") == name), None)


def test_firewall_insert_get_update_patch_delete_through_waited_operations(
    sandbox: Sandbox,
) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))
    rule = compute_v1.Firewall(
        name="allow-postgres",
        network=NETWORK,
        source_ranges=["0.0.0.0/0"],
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["5432"])],
    )

    running = client.insert_unary(project=PROJECT, firewall_resource=rule)
    assert running.status == compute_v1.Operation.Status.RUNNING
    inserted = _wait(sandbox, running)
    assert inserted.operation_type == "insert" and inserted.progress == 100
    assert inserted.target_link.endswith(f"/projects/{PROJECT}/global/firewalls/allow-postgres")
    got = client.get(project=PROJECT, firewall="allow-postgres")
    assert got.id and got.creation_timestamp and got.self_link == inserted.target_link
    assert (got.priority, got.direction, got.allowed[0].ports) == (1000, "INGRESS", ["5432"])

    got.source_ranges = ["10.0.0.0/8"]
    updated = client.update_unary(project=PROJECT, firewall="allow-postgres", firewall_resource=got)
    assert _wait(sandbox, updated).operation_type == "update"
    assert (_stored(sandbox, "allow-postgres") or {})["sourceRanges"] == ["10.0.0.0/8"]

    patch = compute_v1.Firewall(disabled=True)
    _wait(
        sandbox,
        client.patch_unary(project=PROJECT, firewall="allow-postgres", firewall_resource=patch),
    )
    stored = _stored(sandbox, "allow-postgres") or {}
    assert stored["disabled"] is True and stored["sourceRanges"] == ["10.0.0.0/8"]

    _wait(sandbox, client.delete_unary(project=PROJECT, firewall="allow-postgres"))
    assert _stored(sandbox, "allow-postgres") is None
    with pytest.raises(gexc.NotFound):
        client.get(project=PROJECT, firewall="allow-postgres")


def test_duplicate_insert_is_a_409_and_changes_nothing(sandbox: Sandbox) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))
    existing = client.get(project=PROJECT, firewall="allow-mysql")
    before = sandbox.state.to_scenario()

    with pytest.raises(gexc.Conflict, match="already exists"):
        client.insert_unary(project=PROJECT, firewall_resource=existing)

    assert sandbox.state.to_scenario() == before


def test_firewall_without_allowed_or_denied_is_refused(sandbox: Sandbox) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))
    empty = compute_v1.Firewall(name="nothing", network=NETWORK, source_ranges=["0.0.0.0/0"])

    with pytest.raises(gexc.BadRequest, match="allowed"):
        client.insert_unary(project=PROJECT, firewall_resource=empty)
    assert _stored(sandbox, "nothing") is None


def test_missing_firewall_is_a_google_shaped_404(sandbox: Sandbox) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))

    with pytest.raises(gexc.NotFound) as caught:
        client.get(project=PROJECT, firewall="no-such-rule")

    assert "no-such-rule" in caught.value.message
    assert caught.value.errors[0]["reason"] == "notFound"


def test_firewall_list_pages_through_every_rule(sandbox: Sandbox) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))
    expected = {o["name"] for o in sandbox.state.gcp[PROJECT] if o["kind"] == "compute#firewall"}

    request = compute_v1.ListFirewallsRequest(project=PROJECT, max_results=3)
    pages = list(client.list(request=request).pages)

    assert len(pages) == -(-len(expected) // 3) > 1
    assert sorted(f.name for page in pages for f in page.items) == sorted(expected)


def test_instances_are_listed_per_zone_aggregated_and_read_one_by_one(sandbox: Sandbox) -> None:
    client = compute_v1.InstancesClient(**_options(sandbox))

    aggregated = {
        zone: [i.name for i in scoped.instances]
        for zone, scoped in client.aggregated_list(project=PROJECT)
    }
    web = client.get(project=PROJECT, zone="europe-west1-b", instance="web-1")

    assert "web-1" in aggregated["zones/europe-west1-b"]
    assert [i.name for i in client.list(project=PROJECT, zone="europe-west1-c")] == ["web-2"]
    assert "web" in web.tags.items
    assert web.network_interfaces[0].access_configs[0].nat_i_p
    assert web.service_accounts[0].email.endswith("gserviceaccount.com")


def test_networks_are_listed_and_read(sandbox: Sandbox) -> None:
    client = compute_v1.NetworksClient(**_options(sandbox))

    names = {n.name for n in client.list(project=PROJECT)}

    assert {"prod-vpc", "mgmt-vpc", "default"} <= names
    assert client.get(project=PROJECT, network="prod-vpc").self_link == NETWORK


def test_unknown_operation_is_a_404_in_both_global_and_zone_scope(sandbox: Sandbox) -> None:
    with pytest.raises(gexc.NotFound):
        compute_v1.GlobalOperationsClient(**_options(sandbox)).get(
            project=PROJECT, operation="operation-none"
        )
    with pytest.raises(gexc.NotFound):
        compute_v1.ZoneOperationsClient(**_options(sandbox)).wait(
            project=PROJECT, zone="europe-west1-b", operation="operation-none"
        )


def test_every_scenario_project_is_discovered_as_active(sandbox: Sandbox) -> None:
    client = resourcemanager_v3.ProjectsClient(**_options(sandbox))

    found = {p.project_id: p for p in client.search_projects(request={})}

    assert set(found) == set(sandbox.state.gcp)
    assert found[PROJECT].state == resourcemanager_v3.Project.State.ACTIVE
    assert found[PROJECT].name.startswith("projects/")


def test_firewall_on_a_missing_network_fails_its_operation_and_is_not_created(
    sandbox: Sandbox,
) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))
    rule = compute_v1.Firewall(
        name="orphan",
        network=NETWORK.replace("prod-vpc", "no-such-vpc"),
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])],
    )

    op = client.insert_unary(project=PROJECT, firewall_resource=rule)
    done = compute_v1.GlobalOperationsClient(**_options(sandbox)).wait(
        project=PROJECT, operation=op.name
    )

    assert done.status == compute_v1.Operation.Status.DONE
    assert done.http_error_status_code == 404
    assert done.error.errors[0].code == "RESOURCE_NOT_FOUND"
    assert _stored(sandbox, "orphan") is None


def test_firewall_list_filter_selects_one_network(sandbox: Sandbox) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))
    expected = {
        o["name"]
        for o in sandbox.state.gcp[PROJECT]
        if o["kind"] == "compute#firewall" and o["network"] == NETWORK
    }

    by_url = client.list(request={"project": PROJECT, "filter": f'network = "{NETWORK}"'})
    by_regex = client.list(
        request={"project": PROJECT, "filter": "(network eq .*/prod-vpc) (disabled = false)"}
    )

    assert {f.name for f in by_url} == expected
    assert {f.name for f in by_regex} == expected - {"legacy-ssh-disabled"}


def test_unsupported_filter_is_refused_rather_than_ignored(sandbox: Sandbox) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))

    with pytest.raises(gexc.BadRequest, match="filter"):
        list(client.list(request={"project": PROJECT, "filter": "(name = a) OR (name = b)"}))


def test_aggregated_instances_page_through_every_zone(sandbox: Sandbox) -> None:
    client = compute_v1.InstancesClient(**_options(sandbox))
    expected = {o["name"] for o in sandbox.state.gcp[PROJECT] if o["kind"] == "compute#instance"}

    request = compute_v1.AggregatedListInstancesRequest(project=PROJECT, max_results=2)
    pager = client.aggregated_list(request=request)
    names = [i.name for _, scoped in pager for i in scoped.instances]

    assert sorted(names) == sorted(expected) and len(expected) > 2


def test_project_search_pages(sandbox: Sandbox) -> None:
    client = resourcemanager_v3.ProjectsClient(**_options(sandbox))

    pages = list(client.search_projects(request={"page_size": 1}).pages)

    assert len(pages) == len(sandbox.state.gcp) > 1


def test_repeated_request_id_is_applied_once_and_answers_the_first_operation(
    sandbox: Sandbox,
) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))
    rule = compute_v1.Firewall(
        name="allow-https",
        network=NETWORK,
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["443"])],
    )
    insert = compute_v1.InsertFirewallRequest(
        project=PROJECT, firewall_resource=rule, request_id="5c1d0b9e-0000-4000-8000-000000000001"
    )
    delete = compute_v1.DeleteFirewallRequest(
        project=PROJECT, firewall="allow-https", request_id="5c1d0b9e-0000-4000-8000-000000000002"
    )

    first, again = client.insert_unary(request=insert), client.insert_unary(request=insert)
    deleted, deleted_again = (
        client.delete_unary(request=delete),
        client.delete_unary(request=delete),
    )

    assert again.name == first.name and deleted_again.name == deleted.name
    assert _stored(sandbox, "allow-https") is None
