"""What Compute refuses and fills in on firewall writes, instance deletion protection, and
Google-shaped 404s for unknown routes, through the real google-cloud-compute client.

Sources are named in ``clamp.sandbox.gcp_firewalls`` and ``clamp.sandbox.gcp_instances``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1

from clamp.sandbox.server import Sandbox

PROJECT = "clamp-demo-prod"
ZONE = "europe-west1-b"
NETWORK = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/prod-vpc"
SA = "app@clamp-demo-prod.iam.gserviceaccount.com"


def _options(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": sandbox.url},
    }


def _firewalls(sandbox: Sandbox) -> compute_v1.FirewallsClient:
    return compute_v1.FirewallsClient(**_options(sandbox))


def _wait(sandbox: Sandbox, op: compute_v1.Operation) -> None:
    done = compute_v1.GlobalOperationsClient(**_options(sandbox)).wait(
        project=PROJECT, operation=op.name
    )
    assert not done.error.errors


def _tcp(*ports: str) -> list[compute_v1.Allowed]:
    return [compute_v1.Allowed(I_p_protocol="tcp", ports=list(ports))]


REFUSED: dict[str, dict[str, Any]] = {
    "egress with source tags": {
        "direction": "EGRESS",
        "source_tags": ["web"],
        "allowed": _tcp("443"),
    },
    "egress with source service accounts": {
        "direction": "EGRESS",
        "source_service_accounts": [SA],
        "allowed": _tcp("443"),
    },
    "target service accounts with target tags": {
        "target_service_accounts": [SA],
        "target_tags": ["web"],
        "source_ranges": ["10.0.0.0/8"],
        "allowed": _tcp("22"),
    },
    "source service accounts with source tags": {
        "source_service_accounts": [SA],
        "source_tags": ["web"],
        "allowed": _tcp("22"),
    },
    "unknown protocol": {
        "source_ranges": ["10.0.0.0/8"],
        "allowed": [compute_v1.Allowed(I_p_protocol="tcpx")],
    },
    "protocol number out of range": {
        "source_ranges": ["10.0.0.0/8"],
        "allowed": [compute_v1.Allowed(I_p_protocol="256")],
    },
    "ports on icmp": {
        "source_ranges": ["10.0.0.0/8"],
        "allowed": [compute_v1.Allowed(I_p_protocol="icmp", ports=["8"])],
    },
    "port above 65535": {"source_ranges": ["10.0.0.0/8"], "allowed": _tcp("70000")},
    "reversed port range": {"source_ranges": ["10.0.0.0/8"], "allowed": _tcp("90-80")},
    "port range syntax": {"source_ranges": ["10.0.0.0/8"], "allowed": _tcp("22,80")},
    "source range that is no CIDR": {"source_ranges": ["10.0.0.0/33"], "allowed": _tcp("22")},
    "destination range that is no CIDR": {
        "direction": "EGRESS",
        "destination_ranges": ["internet"],
        "allowed": _tcp("443"),
    },
    "both allowed and denied": {
        "source_ranges": ["10.0.0.0/8"],
        "allowed": _tcp("22"),
        "denied": [compute_v1.Denied(I_p_protocol="udp")],
    },
    "priority above 65535": {
        "source_ranges": ["10.0.0.0/8"],
        "allowed": _tcp("22"),
        "priority": 65536,
    },
}


@pytest.mark.parametrize("fields", REFUSED.values(), ids=list(REFUSED))
def test_invalid_firewall_is_refused_on_insert_update_and_patch(
    sandbox: Sandbox, fields: dict[str, Any]
) -> None:
    client = _firewalls(sandbox)
    before = sandbox.state.to_scenario()
    rule = compute_v1.Firewall(name="refused-rule", network=NETWORK, **fields)

    with pytest.raises(gexc.BadRequest) as inserted:
        client.insert_unary(project=PROJECT, firewall_resource=rule)
    rule.name = "allow-mysql"
    with pytest.raises(gexc.BadRequest) as updated:
        client.update_unary(project=PROJECT, firewall="allow-mysql", firewall_resource=rule)
    with pytest.raises(gexc.BadRequest):
        client.patch_unary(project=PROJECT, firewall="allow-mysql", firewall_resource=rule)

    assert sandbox.state.to_scenario() == before
    for caught in (inserted, updated):
        assert caught.value.errors[0]["reason"] in ("invalid", "required")
        assert caught.value.errors[0]["domain"] == "global"


@pytest.mark.parametrize(
    "allowed",
    [
        [compute_v1.Allowed(I_p_protocol="all")],
        [compute_v1.Allowed(I_p_protocol="sctp", ports=["9000-9100"])],
        [compute_v1.Allowed(I_p_protocol="udp", ports=["0-65535"])],
        [compute_v1.Allowed(I_p_protocol="47")],
        [compute_v1.Allowed(I_p_protocol="ipip"), compute_v1.Allowed(I_p_protocol="esp")],
    ],
    ids=["all", "sctp range", "udp full range", "gre by number", "ipip and esp"],
)
def test_valid_protocols_and_ports_are_accepted(
    sandbox: Sandbox, allowed: list[compute_v1.Allowed]
) -> None:
    rule = compute_v1.Firewall(
        name="accepted", network=NETWORK, source_ranges=["1.1.1.1"], allowed=allowed
    )
    _wait(sandbox, _firewalls(sandbox).insert_unary(project=PROJECT, firewall_resource=rule))

    got = _firewalls(sandbox).get(project=PROJECT, firewall="accepted")
    assert [a.I_p_protocol for a in got.allowed] == [a.I_p_protocol for a in allowed]


def test_insert_fills_in_the_documented_defaults(sandbox: Sandbox) -> None:
    client = _firewalls(sandbox)
    ingress = compute_v1.Firewall(name="bare-ingress", network=NETWORK, allowed=_tcp("22"))
    egress = compute_v1.Firewall(
        name="bare-egress",
        network=NETWORK,
        direction="EGRESS",
        denied=[compute_v1.Denied(I_p_protocol="tcp", ports=["25"])],
    )
    by_account = compute_v1.Firewall(
        name="by-account", network=NETWORK, source_service_accounts=[SA], allowed=_tcp("22")
    )
    for rule in (ingress, egress, by_account):
        _wait(sandbox, client.insert_unary(project=PROJECT, firewall_resource=rule))

    got = client.get(project=PROJECT, firewall="bare-ingress")
    assert (got.priority, got.direction, got.disabled) == (1000, "INGRESS", False)
    assert list(got.source_ranges) == ["0.0.0.0/0"] and not got.log_config.enable
    assert "logConfig" in compute_v1.Firewall.to_dict(got, preserving_proto_field_name=False)
    out = client.get(project=PROJECT, firewall="bare-egress")
    assert list(out.destination_ranges) == ["0.0.0.0/0"] and not out.source_ranges
    # A source service account is a source: no 0.0.0.0/0 is added beside it.
    assert not client.get(project=PROJECT, firewall="by-account").source_ranges


@pytest.mark.parametrize(
    "network", ["global/networks/prod-vpc", f"projects/{PROJECT}/global/networks/prod-vpc"]
)
def test_a_partial_network_url_is_stored_as_the_full_one(sandbox: Sandbox, network: str) -> None:
    rule = compute_v1.Firewall(name="partial", network=network, allowed=_tcp("22"))
    _wait(sandbox, _firewalls(sandbox).insert_unary(project=PROJECT, firewall_resource=rule))

    assert _firewalls(sandbox).get(project=PROJECT, firewall="partial").network == NETWORK


def test_update_replaces_the_rule_and_what_it_leaves_out_returns_to_its_default(
    sandbox: Sandbox,
) -> None:
    client = _firewalls(sandbox)
    rule = compute_v1.Firewall(
        name="tuned",
        network=NETWORK,
        priority=200,
        disabled=True,
        log_config=compute_v1.FirewallLogConfig(enable=True),
        source_ranges=["10.0.0.0/8"],
        target_tags=["db"],
        allowed=_tcp("5432"),
    )
    _wait(sandbox, client.insert_unary(project=PROJECT, firewall_resource=rule))

    replacement = compute_v1.Firewall(name="tuned", network=NETWORK, allowed=_tcp("5433"))
    _wait(
        sandbox,
        client.update_unary(project=PROJECT, firewall="tuned", firewall_resource=replacement),
    )

    got = client.get(project=PROJECT, firewall="tuned")
    assert (got.priority, got.disabled, got.log_config.enable) == (1000, False, False)
    assert list(got.source_ranges) == ["0.0.0.0/0"] and not got.target_tags
    assert got.allowed[0].ports == ["5433"] and got.network == NETWORK


def test_patch_merges_the_fields_it_carries(sandbox: Sandbox) -> None:
    client = _firewalls(sandbox)
    before = client.get(project=PROJECT, firewall="allow-mysql")

    patch = compute_v1.Firewall(priority=900)
    _wait(
        sandbox,
        client.patch_unary(project=PROJECT, firewall="allow-mysql", firewall_resource=patch),
    )

    got = client.get(project=PROJECT, firewall="allow-mysql")
    assert got.priority == 900
    assert (list(got.source_ranges), list(got.target_tags)) == (
        list(before.source_ranges),
        list(before.target_tags),
    )


def test_patch_that_makes_the_rule_invalid_is_refused(sandbox: Sandbox) -> None:
    client = _firewalls(sandbox)  # allow-mysql targets the tag "db"
    before = sandbox.state.to_scenario()
    patch = compute_v1.Firewall(target_service_accounts=[SA])

    with pytest.raises(gexc.BadRequest, match="targetServiceAccounts"):
        client.patch_unary(project=PROJECT, firewall="allow-mysql", firewall_resource=patch)
    assert sandbox.state.to_scenario() == before


def test_existing_name_is_409_already_exists(sandbox: Sandbox) -> None:
    client = _firewalls(sandbox)
    existing = client.get(project=PROJECT, firewall="allow-mysql")

    with pytest.raises(gexc.Conflict) as caught:
        client.insert_unary(project=PROJECT, firewall_resource=existing)
    assert caught.value.errors[0]["reason"] == "alreadyExists"


def test_firewall_without_a_name_is_400_required(sandbox: Sandbox) -> None:
    rule = compute_v1.Firewall(network=NETWORK, allowed=_tcp("22"))

    with pytest.raises(gexc.BadRequest) as caught:
        _firewalls(sandbox).insert_unary(project=PROJECT, firewall_resource=rule)
    assert caught.value.errors[0]["reason"] == "required"


def test_deletion_protection_refuses_delete_until_it_is_turned_off(sandbox: Sandbox) -> None:
    instances = compute_v1.InstancesClient(**_options(sandbox))
    zone_ops = compute_v1.ZoneOperationsClient(**_options(sandbox))
    op = instances.set_deletion_protection_unary(project=PROJECT, zone=ZONE, resource="web-1")
    zone_ops.wait(project=PROJECT, zone=ZONE, operation=op.name)
    assert instances.get(project=PROJECT, zone=ZONE, instance="web-1").deletion_protection
    before = sandbox.state.to_scenario()

    with pytest.raises(gexc.BadRequest) as caught:
        instances.delete_unary(project=PROJECT, zone=ZONE, instance="web-1")
    assert caught.value.errors[0]["reason"] == "invalidResourceUsage"
    assert sandbox.state.to_scenario() == before

    op = instances.set_deletion_protection_unary(
        request=compute_v1.SetDeletionProtectionInstanceRequest(
            project=PROJECT, zone=ZONE, resource="web-1", deletion_protection=False
        )
    )
    zone_ops.wait(project=PROJECT, zone=ZONE, operation=op.name)
    op = instances.delete_unary(project=PROJECT, zone=ZONE, instance="web-1")
    zone_ops.wait(project=PROJECT, zone=ZONE, operation=op.name)
    with pytest.raises(gexc.NotFound):
        instances.get(project=PROJECT, zone=ZONE, instance="web-1")


@pytest.mark.parametrize(
    ("method", "path", "shape"),
    [
        ("GET", f"/compute/v1/projects/{PROJECT}/global/routers", "errors"),
        ("GET", f"/compute/v1/projects/{PROJECT}/zones/{ZONE}/instanceGroups", "errors"),
        ("GET", "/storage/v1/b/some-bucket/o", "errors"),
        ("GET", "/v3/folders/123", "status"),
        ("GET", "/v1/groups", "status"),
        ("DELETE", "/v1/policies", "status"),
    ],
)
def test_unknown_route_answers_a_google_shaped_error(
    sandbox: Sandbox, method: str, path: str, shape: str
) -> None:
    response = httpx.request(method, sandbox.url + path)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == 404 and path in error["message"]
    if shape == "errors":
        assert error["errors"][0] == {
            "message": error["message"],
            "domain": "global",
            "reason": "notFound",
        }
    else:
        assert error["status"] == "NOT_FOUND"
