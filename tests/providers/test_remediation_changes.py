"""Each cloud's ingress and password changes (``clamp.providers.ingress``, ``password``),
built from the demo estate read from the sandbox through the real SDKs: every change is
one its driver knows how to make, by the call the change names, and so is its undo."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from clamp.actions.ingress_common import keep_sources
from clamp.actions.password import ApplyPasswordPolicy
from clamp.checks.password import NOT_MET, entra_items
from clamp.errors import PlanRefused
from clamp.model import FindingStatus, Provider, Resource, ResourceType
from clamp.providers.factory import (
    INGRESS_CHANGES,
    PASSWORD_CHANGES,
    ingress_changes,
    password_changes,
)
from rig import Rig


def _keep(sources: Iterable[str], internet: object) -> list[str]:
    assert callable(internet)
    return keep_sources(sources, ["203.0.113.0/24"], internet)


def _read(rig: Rig, check: str, provider: Provider) -> list[Resource]:
    """Every resource of an open ``check`` finding on ``provider``, as read now."""
    found = [
        r.finding
        for r in rig.store.findings(status=FindingStatus.OPEN)
        if r.finding.check == check and r.finding.provider == provider
    ]
    assert found, f"the demo estate has no {check} finding on {provider}"
    driver = rig.engine.drivers(provider)
    return [driver.read_related(f.resource)[0] for f in found]


def test_every_provider_has_its_remediation_changes() -> None:
    assert set(INGRESS_CHANGES) == set(PASSWORD_CHANGES) == set(Provider)
    assert all(ingress_changes(p).provider == p for p in Provider)
    assert all(password_changes(p).provider == p for p in Provider)


@pytest.mark.parametrize("provider", list(Provider))
def test_each_ingress_change_is_made_by_the_call_it_names(
    demo_rig: Rig, provider: Provider
) -> None:
    ingress = ingress_changes(provider)
    driver = demo_rig.engine.drivers(provider)
    built = 0
    for resource in _read(demo_rig, "exposed-admin-port", provider):
        if resource.type in (ResourceType.GCP_NETWORK, ResourceType.AZURE_VNET):
            continue  # a port only a policy or admin rule opens: restrict_ingress refuses it
        assert resource.type == ingress.resource_type
        fixes = ingress.narrow(resource, demo_rig.settings.admin_ports, _keep, "restricted")
        assert fixes.fixes and fixes.closed, resource.id
        for change in fixes.changes:
            assert driver.describe(change).api == change.api_call, change
            assert driver.describe(change.inverse()).api, change
            built += 1
    assert built


@pytest.mark.parametrize("provider", list(Provider))
def test_only_the_clouds_internet_is_dropped_from_the_sources(provider: Provider) -> None:
    ingress = ingress_changes(provider)
    assert ingress.is_internet("0.0.0.0/0") and ingress.is_internet("::/0")
    assert not ingress.is_internet("10.0.0.0/8")
    assert ingress.is_internet("Internet") is (provider == Provider.AZURE)


def test_each_entra_change_is_one_the_driver_makes(demo_rig: Rig) -> None:
    # The plan names the msgraph request builder; the driver's call table names the Graph
    # request itself (``graph: PATCH /domains/{id}``), so only the call's existence and its
    # permissions are compared here.
    driver = demo_rig.engine.drivers(Provider.AZURE)
    policy = password_changes(Provider.AZURE)
    baseline = demo_rig.settings.password_baseline
    (tenant,) = _read(demo_rig, "password-policy-weak", Provider.AZURE)
    unmet = [i["item"] for i in entra_items(tenant, baseline) if i["status"] == NOT_MET]
    fixes = policy.fixes(tenant, unmet, baseline)
    assert fixes.changes and "MFA for everyone" in fixes.manual
    granted = set(ApplyPasswordPolicy.permissions[Provider.AZURE])
    for change in fixes.changes:
        assert driver.describe(change).api == change.api_call, change
        assert set(driver.describe(change).permissions) <= granted, change
        assert driver.describe(change).permissions, change
        assert set(driver.describe(change.inverse()).permissions) <= granted, change
        assert policy.describe(change)


def test_a_google_customer_is_refused_with_the_console_steps(demo_rig: Rig) -> None:
    (customer,) = _read(demo_rig, "password-policy-weak", Provider.GCP)
    baseline = demo_rig.settings.password_baseline
    with pytest.raises(PlanRefused, match="Google Admin console"):
        password_changes(Provider.GCP).fixes(customer, ["MFA for everyone"], baseline)
