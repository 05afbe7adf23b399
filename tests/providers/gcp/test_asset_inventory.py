"""Cloud Asset Inventory collection through the real google-cloud-asset client against the
sandbox: the same findings as the per-API lists, paging, an organization fanned out to its
projects, the fallback when CAI is disabled, and a clear error for a bad asset type."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import asset_v1, compute_v1
from typer.testing import CliRunner

from clamp.cli.main import app
from clamp.config import Settings
from clamp.errors import CloudError, ConfigError
from clamp.model import Resource
from clamp.providers.gcp.asset_inventory import LIST_RESOURCES, AssetInventory
from clamp.providers.gcp.driver import GcpDriver
from clamp.sandbox.scenario import demo_scenario
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault, SandboxState
from clamp.scanning import evaluate_checks

PROJECTS = ("clamp-demo-prod", "clamp-demo-dev")
ORG = "organizations/123456789012"
DISABLED = {
    "kind": "serviceusage#service",
    "name": "projects/100000000000/services/cloudasset.googleapis.com",
    "state": "DISABLED",
}


def _sandbox(**extra: list[dict[str, Any]]) -> Sandbox:
    scenario: dict[str, Any] = copy.deepcopy(demo_scenario())
    for project, objects in extra.items():
        scenario["gcp"][project.replace("_", "-")].extend(objects)
    return Sandbox(SandboxState.from_scenario(scenario))


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    with _sandbox() as box:
        yield box


def _driver(box: Sandbox, inventory: str = "asset-inventory") -> GcpDriver:
    return GcpDriver(
        Settings(database_url="sqlite://", sandbox_url=box.url, gcp_inventory=inventory)
    )


def _calls(driver: GcpDriver, api: str) -> int:
    return sum(n for key, n in driver.call_counts().made.items() if key.endswith(":" + api))


def _view(resources: list[Resource]) -> list[tuple[str, str, str, str]]:
    """What a user sees of resources: id, type, scope and normalized facets."""
    return sorted((r.id, str(r.type), r.scope, repr(sorted(r.facets.items()))) for r in resources)


def _findings(resources: list[Resource]) -> list[tuple[str, str, str]]:
    settings = Settings(database_url="sqlite://")
    return sorted((f.check, f.resource, f.scope) for f in evaluate_checks(resources, settings))


def _collect(driver: GcpDriver, projects: tuple[str, ...] = PROJECTS) -> list[Resource]:
    return [r for p in projects for r in driver.collect(p)]


def test_asset_inventory_gives_the_same_resources_and_findings_as_the_per_api_lists(
    demo: Sandbox,
) -> None:
    cai, api = _driver(demo), _driver(demo, "api")
    through_cai, through_api = _collect(cai), _collect(api)
    assert _calls(cai, "cloudasset") == 2 * len(PROJECTS)  # resources + IAM policies, per project
    assert _calls(api, "cloudasset") == 0
    assert _view(through_cai) == _view(through_api)
    findings = _findings(through_cai)
    assert findings and findings == _findings(through_api)
    # Bucket IAM policies came from CAI: no bucket getIamPolicy call was made.
    assert not any("/iam" in k for k in cai.call_counts().made)
    assert any(k.endswith(":storage") for k in api.call_counts().made)


def test_listing_pages_through_a_thousand_assets_at_a_time() -> None:
    rules = [
        {
            "kind": "compute#firewall",
            "name": f"bulk-{i}",
            "network": "https://www.googleapis.com/compute/v1/projects/clamp-demo-dev/global/networks/dev-vpc",
            "selfLink": f"https://www.googleapis.com/compute/v1/projects/clamp-demo-dev/global/firewalls/bulk-{i}",
            "direction": "INGRESS",
            "priority": 1000,
            "sourceRanges": ["10.0.0.0/8"],
            "allowed": [{"IPProtocol": "tcp", "ports": [str(1024 + i)]}],
        }
        for i in range(2_500)
    ]
    with _sandbox(clamp_demo_dev=rules) as box:
        driver = _driver(box)
        resources = list(driver.collect("clamp-demo-dev"))
    names = {r.name for r in resources}
    assert {f"bulk-{i}" for i in range(2_500)} <= names
    # 2,500 firewalls + a few other resources: 3 pages of resources, 1 of IAM policies.
    assert driver.call_counts().made["gcp:clamp-demo-dev:cloudasset"] == 4


def test_an_organization_is_listed_once_and_fanned_out_to_its_projects(demo: Sandbox) -> None:
    driver = _driver(demo)
    assert driver.projects_under(ORG) == sorted(PROJECTS)
    listed = _calls(driver, "cloudasset")
    assert driver.call_counts().made[f"gcp:{ORG}:cloudasset"] == 2
    resources = _collect(driver)
    assert _calls(driver, "cloudasset") == listed  # the projects came from that one listing
    assert {r.scope for r in resources} == set(PROJECTS)
    assert _view(resources) == _view(_collect(_driver(demo, "api")))


def test_collection_falls_back_to_each_api_when_asset_inventory_is_disabled() -> None:
    with _sandbox(clamp_demo_prod=[DISABLED]) as box:
        client = asset_v1.AssetServiceClient(
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            transport="rest",
            client_options={"api_endpoint": box.url},
        )
        with pytest.raises(gexc.Forbidden) as refused:
            list(client.list_assets(request={"parent": "projects/clamp-demo-prod"}))
        assert refused.value.reason == "SERVICE_DISABLED"
        assert refused.value.metadata == {
            "service": "cloudasset.googleapis.com",
            "consumer": "projects/100000000000",
        }
        driver = _driver(box)
        resources = list(driver.collect("clamp-demo-prod"))
        assert driver.assets_denied == "the Cloud Asset API is not enabled"
        expected = list(_driver(box, "api").collect("clamp-demo-prod"))
    assert resources and _view(resources) == _view(expected)
    assert _findings(resources) == _findings(expected)


def test_a_bad_asset_type_is_a_clear_error(demo: Sandbox) -> None:
    inventory = AssetInventory(_driver(demo).clients)
    with pytest.raises(CloudError) as refused:
        inventory.assets(
            "projects/clamp-demo-prod",
            asset_v1.ContentType.RESOURCE,
            ["compute.googleapis.com/Frewall"],
            LIST_RESOURCES,
        )
    assert "compute.googleapis.com/Frewall does not match any supported asset type" in str(
        refused.value
    )


def test_a_fix_shows_in_the_next_listing() -> None:
    with _sandbox() as box:
        _fix_shows(_driver(box))


def _fix_shows(driver: GcpDriver) -> None:
    name = "//compute.googleapis.com/projects/clamp-demo-dev/global/firewalls/"
    before = {r.id for r in driver.collect("clamp-demo-dev") if r.id.startswith(name)}
    doomed = sorted(before)[0]
    firewalls = driver.clients.firewalls
    op = firewalls.delete_unary(project="clamp-demo-dev", firewall=doomed.rsplit("/", 1)[1])
    assert isinstance(op, compute_v1.Operation)
    after = {r.id for r in driver.collect("clamp-demo-dev") if r.id.startswith(name)}
    assert after == before - {doomed}


def test_a_project_cai_may_not_read_is_listed_by_api_and_cai_stays_on(demo: Sandbox) -> None:
    driver = _driver(demo)
    demo.state.faults.append(
        Fault(status=403, provider="gcp", path="/v1/projects/clamp-demo-dev/assets", times=1)
    )
    dev = list(driver.collect("clamp-demo-dev"))
    prod = list(driver.collect("clamp-demo-prod"))
    assert dev and driver.assets_denied is None
    assert driver.call_counts().made["gcp:clamp-demo-prod:cloudasset"] == 2
    assert _view(dev + prod) == _view(_collect(_driver(demo, "api")))


def test_gcp_config_names_the_inventory_and_the_organization(tmp_path: Path) -> None:
    config = tmp_path / "clamp.toml"
    config.write_text('[gcp]\ninventory = "api"\nscope = "organizations/123456789012"\n')
    settings = Settings.from_env({"CLAMP_CONFIG": str(config)})
    assert (settings.gcp_inventory, settings.gcp_parents) == ("api", (ORG,))
    config.write_text('[gcp]\ninventory = "cai"\n')
    with pytest.raises(ConfigError, match="asset-inventory"):
        Settings.from_env({"CLAMP_CONFIG": str(config)})
    config.write_text('[gcp]\nscope = "projects/x"\n')
    with pytest.raises(ConfigError, match="organizations/N or folders/N"):
        Settings.from_env({"CLAMP_CONFIG": str(config)})


def test_scan_scope_organization_scans_its_projects(demo: Sandbox, tmp_path: Path) -> None:
    env = {"CLAMP_SANDBOX_URL": demo.url, "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    result = CliRunner().invoke(app, ["scan", "--scope", ORG, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    scopes = json.loads(result.stdout)["scopes"]
    assert sorted(s["scope"] for s in scopes) == sorted(PROJECTS)
    refused = CliRunner().invoke(app, ["scan", "--scope", "projects/clamp-demo-dev"], env=env)
    assert refused.exit_code != 0 and "not an organization or folder" in refused.output
    assert len(refused.output.strip().splitlines()) == 1


def test_without_asset_inventory_an_organization_is_found_through_resource_manager() -> None:
    with _sandbox(clamp_demo_prod=[DISABLED]) as box:
        driver = _driver(box)
        assert driver.projects_under(ORG) == sorted(PROJECTS)
        assert driver.assets_denied == "the Cloud Asset API is not enabled"
        assert driver.call_counts().made["gcp:cloudresourcemanager"] == 1
        assert {r.scope for r in _collect(driver)} == set(PROJECTS)


def test_a_folder_is_listed_once_and_fanned_out_to_the_projects_in_it() -> None:
    in_folder = {"kind": "cloudresourcemanager#project", "parent": "folders/456"}
    with _sandbox(clamp_demo_dev=[in_folder]) as box:
        driver = _driver(box)
        assert driver.projects_under("folders/456") == ["clamp-demo-dev"]
        assert driver.projects_under(ORG) == sorted(PROJECTS)  # the folder is in it
        listed = _calls(driver, "cloudasset")
        resources = list(driver.collect("clamp-demo-dev"))
        assert _calls(driver, "cloudasset") == listed
        expected = list(_driver(box, "api").collect("clamp-demo-dev"))
        without = _driver(box, "api").projects_under("folders/456")
    assert {r.scope for r in resources} == {"clamp-demo-dev"}
    assert _view(resources) == _view(expected)
    assert without == ["clamp-demo-dev"]  # Resource Manager's answer agrees
