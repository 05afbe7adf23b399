"""Fidelity of the sandbox's list-effective-security-admin-rules POST: what it answers for
the demo VNet is a ``NetworkManagerEffectiveSecurityAdminRulesListResult`` the
azure-mgmt-network models accept (no unknown fields, the declared JSON types), read by the
real SDK call Clamp's driver makes."""

from __future__ import annotations

import json
from typing import Any

from azure.mgmt.network import models as network

from arm_models import check_typespec
from clamp.config import Settings
from clamp.providers.azure.admin_rules import effective_admin_rules
from clamp.providers.azure.clients import AzureClients
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

SUB = "00000000-0000-4000-8000-000000000001"
VNET = (
    f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Network/"
    "virtualNetworks/demo-vnet"
)


def test_the_effective_admin_rules_answer_matches_the_sdk_models() -> None:
    bodies: list[Any] = []

    def capture(response: Any) -> None:
        if response.http_request.method == "POST":
            bodies.append(json.loads(response.http_response.text()))

    with Sandbox(load_state(None)) as box:
        clients = AzureClients(Settings(database_url="sqlite://", sandbox_url=box.url))
        clients.options["raw_response_hook"] = capture
        [envelope] = effective_admin_rules(
            clients.network(SUB), [{"id": VNET, "type": "Microsoft.Network/virtualNetworks"}]
        )

    problems: list[str] = []
    [body] = bodies
    check_typespec(network.NetworkManagerEffectiveSecurityAdminRulesListResult, body, "", problems)
    assert not problems, "\n".join(problems)
    [rule] = envelope["value"]
    assert rule["kind"] == "Custom"
    assert rule["properties"]["access"] == "AlwaysAllow"
    assert rule["properties"]["destinationPortRanges"] == ["5985-5986"]
    assert rule["id"].endswith("/ruleCollections/vendor-access/rules/always-allow-winrm")


def test_the_admin_rule_write_and_deployment_answers_match_the_sdk_models() -> None:
    """The GET and PUT of a security admin rule, the network manager, and its deployment
    status, as the SDK calls of ``restrict_ingress`` on an admin rule receive them."""
    bodies: list[tuple[str, str, Any]] = []

    def capture(response: Any) -> None:
        text = response.http_response.text()
        request = response.http_request
        if text and response.http_response.status_code < 300:
            bodies.append((request.method, request.url, json.loads(text)))

    args = ("clamp-demo", "demo-avnm", "platform-baseline", "vendor-access", "always-allow-winrm")
    with Sandbox(load_state(None)) as box:
        clients = AzureClients(Settings(database_url="sqlite://", sandbox_url=box.url))
        clients.options["raw_response_hook"] = capture
        client = clients.network(SUB)
        rule = client.admin_rules.get(*args)
        client.admin_rules.create_or_update(*args, rule)
        client.network_managers.get("clamp-demo", "demo-avnm")
        client.network_manager_deployment_status.list(
            "clamp-demo", "demo-avnm", {"deploymentTypes": ["SecurityAdmin"]}
        )

    models = {
        "/rules/always-allow-winrm": network.AdminRule,
        "/networkManagers/demo-avnm?": network.NetworkManager,
        "/listDeploymentStatus": network.NetworkManagerDeploymentStatusListResult,
    }
    problems: list[str] = []
    checked = 0
    for _, url, body in bodies:
        for marker, model in models.items():
            if marker in url:
                check_typespec(model, body, "", problems)
                checked += 1
    assert checked == 4
    assert not problems, "\n".join(problems)
