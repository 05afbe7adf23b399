"""``clamp checks`` and ``clamp permissions``: read from the registries and the drivers'
declared scan permissions, so a new check or intent shows up without editing the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import clamp.actions
from clamp.actions.interface import INTENTS
from clamp.checks import CHECKS
from clamp.cli.exits import ExitCode
from clamp.cli.main import app
from clamp.compliance import references
from clamp.model import Provider
from clamp.providers.azure import permissions as azure
from clamp.providers.gcp import permissions as gcp


def clamp(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"CLAMP_SANDBOX_URL": ""})


def every_intent() -> list[str]:
    return [arg for name in INTENTS.names() for arg in ("--intent", name)]


def test_checks_lists_every_check_with_its_intents_and_compliance() -> None:
    result = clamp("checks", "--format", "json")

    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert result.exit_code == ExitCode.OK
    assert set(rows) == set(CHECKS.names())
    for name, check in CHECKS:
        row = rows[name]
        assert (row["title"], row["severity"]) == (check.title, check.severity)
        assert sorted(row["intents"]) == sorted(i for i, intent in INTENTS if name in intent.fixes)
        assert name in INTENTS.get(row["intents"][0]).preferred  # the default comes first
        assert row["compliance"] == references(name)
        assert row["compliance"]["ISO/IEC 27001:2022 Annex A"]  # every check is mapped
    assert rows["exposed-admin-port"]["intents"] == ["restrict_ingress", "disable_firewall_rule"]


def test_checks_table_names_every_check() -> None:
    result = clamp("checks")

    assert result.exit_code == ExitCode.OK
    assert all(name in result.stdout for name in CHECKS.names())


def test_the_azure_role_carries_the_scan_and_every_intent_asked_for() -> None:
    result = clamp("permissions", *every_intent(), "--format", "azure-role")

    role = json.loads(result.stdout)
    assert result.exit_code == ExitCode.OK, result.output
    assert set(role) == {
        "Name",
        "IsCustom",
        "Description",
        "Actions",
        "NotActions",
        "DataActions",
        "NotDataActions",
        "AssignableScopes",
    }
    assert role["IsCustom"] is True and role["AssignableScopes"][0].startswith("/subscriptions/")
    assert set(azure.SCAN_PERMISSIONS) <= set(role["Actions"])
    for _, intent in INTENTS:
        for permission in intent.permissions.get(Provider.AZURE, ()):
            if "/" in permission:  # an ARM operation
                assert permission in role["Actions"], (intent.name, permission)
            else:  # a Microsoft Graph permission: no role can carry it
                assert permission in role["Description"], (intent.name, permission)
                assert permission not in role["Actions"]
    assert all(p in role["Description"] for p in azure.DIRECTORY_SCAN_PERMISSIONS)
    assert role["Actions"] == sorted(set(role["Actions"]))


def test_the_default_role_is_the_scan_only_and_reads_only() -> None:
    result = clamp("permissions", "--format", "azure-role")

    role = json.loads(result.stdout)
    assert sorted(role["Actions"]) == sorted(azure.SCAN_PERMISSIONS)
    # every action reads; the one POST lists the admin rules in effect on a VNet, changing nothing
    listing = (
        "Microsoft.Network/virtualNetworks/listNetworkManagerEffectiveSecurityAdminRules/action"
    )
    assert all(a.endswith("/read") or a == listing for a in role["Actions"])
    assert "replace" in result.stderr


def test_the_gcp_role_is_yaml_gcloud_reads_with_cloud_identity_left_out() -> None:
    result = clamp("permissions", *every_intent(), "--format", "gcp-role")

    role = yaml.safe_load(result.stdout)
    assert result.exit_code == ExitCode.OK, result.output
    assert set(role) == {"title", "description", "stage", "includedPermissions"}
    assert role["stage"] == "GA"
    included = set(role["includedPermissions"])
    assert set(gcp.SCAN_PERMISSIONS) <= included
    for _, intent in INTENTS:
        assert set(intent.permissions.get(Provider.GCP, ())) <= included, intent.name
    outside = [line for line in result.stdout.splitlines() if line.startswith("#")]
    assert all(any(p in line for line in outside) for p in gcp.DIRECTORY_SCAN_PERMISSIONS)
    assert not any(" " in p for p in included)


def test_only_the_chosen_intents_are_granted() -> None:
    result = clamp("permissions", "--intent", "restrict_ingress", "--format", "gcp-role")

    included = set(yaml.safe_load(result.stdout)["includedPermissions"])
    restrict = set(INTENTS.get("restrict_ingress").permissions[Provider.GCP])
    assert included == set(gcp.SCAN_PERMISSIONS) | restrict
    assert "compute.instances.stop" not in included


def test_the_table_says_who_needs_each_permission() -> None:
    result = clamp("permissions", "--intent", "stop_instance")

    assert result.exit_code == ExitCode.OK
    assert "compute.instances.stop" in result.stdout and "stop_instance" in result.stdout


@pytest.mark.parametrize(
    "args",
    [("--intent", "restrict_ingres"), ("--format", "aws-role")],
)
def test_an_unknown_intent_or_format_is_a_usage_error_naming_the_valid_ones(
    args: tuple[str, ...],
) -> None:
    result = clamp("permissions", *args)

    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    valid = INTENTS.names() if args[0] == "--intent" else ["azure-role", "gcp-role", "table"]
    assert all(name in result.stderr for name in valid)
