"""The password baseline on a Microsoft Entra tenant, through msgraph-sdk against the
sandbox's Graph: the check's items, apply_password_policy with its manual steps, undo."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from clamp.baseline import PasswordBaseline
from clamp.config import Settings
from clamp.errors import ConfigError, PlanRefused
from clamp.model import ActionStatus, FindingStatus
from clamp.sandbox.scenario import demo_scenario
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState
from rig import Rig, make_rig

TENANT = "tenant:00000000-0000-4000-8000-0000000000aa"


def _scenario(**changes: Any) -> dict[str, Any]:
    """The demo estate's tenant only, with ``changes`` to its directory objects."""
    demo = demo_scenario()
    entra: dict[str, Any] = demo["entra"]  # type: ignore[assignment]
    tenant = dict(next(iter(entra.values())))
    tenant.update(changes)
    return {
        "entra": {next(iter(entra)): tenant},
        "azure": {"00000000-0000-4000-8000-000000000001": []},
    }


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Sandbox(SandboxState.from_scenario(_scenario())) as sandbox:
        yield make_rig(sandbox, tmp_path)


def _tenant(rig: Rig) -> dict[str, Any]:
    entra: dict[str, Any] = rig.state()["entra"]
    return dict(next(iter(entra.values())))


def _finding(rig: Rig) -> Any:
    [record] = [
        r
        for r in rig.store.findings(status=FindingStatus.OPEN)
        if r.finding.check == "password-policy-weak"
    ]
    return record.finding


def test_the_tenant_is_scanned_and_every_baseline_item_is_judged(rig: Rig) -> None:
    finding = _finding(rig)
    items = {i["item"]: i["status"] for i in finding.details["items"]}

    assert finding.resource == TENANT
    assert items == {
        "minimum length 14": "not enforceable by API",
        "character classes": "not enforceable by API",
        "no reuse of the last 5": "not enforceable by API",
        "expiry on clampdemo.onmicrosoft.com": "not met",
        "expiry on corp.example": "not enforceable by API",
        "lockout after 10 failed attempts": "not met",
        "MFA for everyone": "not met",
    }
    assert finding.severity == "high"


def test_apply_changes_what_graph_allows_lists_mfa_as_manual_and_undo_restores(
    rig: Rig,
) -> None:
    finding = _finding(rig)

    plan = rig.engine.plan(finding.id)
    record = rig.engine.apply(plan, actor="tester")

    assert "MANUAL STEPS" in plan.summary and "security defaults" in plan.summary
    assert plan.accepts == ("MFA for everyone",)
    assert record.status == ActionStatus.VERIFIED
    assert "manual steps remain for MFA for everyone" in record.result
    tenant = _tenant(rig)
    domain = next(d for d in tenant["domains"] if d["id"] == "clampdemo.onmicrosoft.com")
    assert domain["passwordValidityPeriodInDays"] == 90
    federated = next(d for d in tenant["domains"] if d["id"] == "corp.example")
    assert federated["passwordValidityPeriodInDays"] == 2147483647
    values = {v["name"]: v["value"] for v in tenant["groupSettings"][0]["values"]}
    assert values["LockoutThreshold"] == "10"
    assert values["BannedPasswordList"] == "clamp\tdemo"

    rig.engine.undo(record.id, actor="tester")

    tenant = _tenant(rig)
    domain = next(d for d in tenant["domains"] if d["id"] == "clampdemo.onmicrosoft.com")
    assert domain["passwordValidityPeriodInDays"] == 2147483647
    values = {v["name"]: v["value"] for v in tenant["groupSettings"][0]["values"]}
    assert values["LockoutThreshold"] == "20"


def test_a_gap_only_a_human_can_close_is_refused_with_the_steps(tmp_path: Path) -> None:
    scenario = _scenario(groupSettings=[])
    domains = scenario["entra"][next(iter(scenario["entra"]))]["domains"]
    for domain in domains:
        domain["passwordValidityPeriodInDays"] = 90
    with Sandbox(SandboxState.from_scenario(scenario)) as sandbox:
        rig = make_rig(sandbox, tmp_path)
        rig.engine.settings = replace(
            rig.settings, password_baseline=PasswordBaseline(lockout_threshold=10)
        )
        with pytest.raises(PlanRefused, match="do it by hand: \\(1\\) require MFA"):
            rig.engine.plan(_finding(rig).id)


def test_a_never_expire_baseline_follows_nist(tmp_path: Path) -> None:
    baseline = PasswordBaseline(max_age_days="never", lockout_threshold=20, require_mfa=False)
    with Sandbox(SandboxState.from_scenario(_scenario())) as sandbox:
        rig = make_rig(sandbox, tmp_path)
        rig.settings = replace(rig.settings, password_baseline=baseline)
        rig.engine.settings = rig.settings
        rig.scan()

    open_checks = {r.finding.check for r in rig.store.findings(status=FindingStatus.OPEN)}
    assert "password-policy-weak" not in open_checks


def test_the_baseline_comes_from_the_config_file_and_bad_values_are_named(
    tmp_path: Path,
) -> None:
    config = tmp_path / "clamp.toml"
    config.write_text('[password_baseline]\nmin_length = 16\nmax_age_days = "never"\n')

    settings = Settings.from_env({"CLAMP_CONFIG": str(config)})

    assert settings.password_baseline.min_length == 16
    assert not settings.password_baseline.expires
    config.write_text("[password_baseline]\nmin_lenght = 16\n")
    with pytest.raises(ConfigError, match="min_lenght"):
        Settings.from_env({"CLAMP_CONFIG": str(config)})
    config.write_text('[password_baseline]\nlockout_threshold = "ten"\n')
    with pytest.raises(ConfigError, match="lockout_threshold must be int"):
        Settings.from_env({"CLAMP_CONFIG": str(config)})


def _google_scenario(**value: Any) -> dict[str, Any]:
    demo: dict[str, Any] = demo_scenario()["cloudidentity"]  # type: ignore[assignment]
    directory = dict(next(iter(demo.values())))
    if value:
        directory["policies"] = [
            {**p, "setting": {**p["setting"], "value": {**p["setting"]["value"], **value}}}
            if p["setting"]["type"] == "settings/security.password"
            else p
            for p in directory["policies"]
        ]
    return {"gcp": {"acme-prod": []}, "cloudidentity": {next(iter(demo)): directory}}


def test_the_google_customer_is_found_from_the_projects_and_judged(tmp_path: Path) -> None:
    with Sandbox(SandboxState.from_scenario(_google_scenario())) as sandbox:
        rig = make_rig(sandbox, tmp_path)
        finding = _finding(rig)

        assert finding.resource == "customer:C03az79cb"
        items = {i["item"]: i["status"] for i in finding.details["items"]}
        assert items["minimum length 14"] == "not met"
        assert items["lockout after 10 failed attempts"] == "not enforceable by API"
        assert items["MFA for everyone"] == "not met"
        with pytest.raises(PlanRefused, match="Password management") as refused:
            rig.engine.plan(finding.id)
        assert "2-step verification" in str(refused.value)


def test_a_google_policy_that_meets_the_baseline_raises_nothing(tmp_path: Path) -> None:
    scenario = _google_scenario(
        allowedStrength="STRONG",
        minimumLength=16,
        enforceRequirementsAtLogin=True,
        allowReuse=False,
        expirationDuration=f"{60 * 86400}s",
    )
    directory = next(iter(scenario["cloudidentity"].values()))
    for policy in directory["policies"]:
        if "two_step" in policy["setting"]["type"]:
            policy["setting"]["value"] = {"enforcedFrom": "2025-01-01T00:00:00Z"}
    with Sandbox(SandboxState.from_scenario(scenario)) as sandbox:
        rig = make_rig(sandbox, tmp_path)
        checks = {r.finding.check for r in rig.store.findings(status=FindingStatus.OPEN)}

    assert "password-policy-weak" not in checks
