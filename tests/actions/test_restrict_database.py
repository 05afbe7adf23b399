"""restrict_database_access on the demo estate, through the real SDK clients and the
sandbox: each database kind is fixed, verified and undone exactly; bad input and drift
change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clamp.errors import InputError, PlanRefused, UndoRefused
from clamp.model import ActionStatus, Provider
from clamp.sandbox.scenario import demo_scenario, load_state
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState
from rig import Rig, make_rig

CHECK = "exposed-database-service"
SUB = "00000000-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with Sandbox(load_state(None)) as sandbox:
        yield make_rig(sandbox, Path(tmp_path_factory.mktemp("databases")))


def _rules(rig: Rig, server: str) -> dict[str, tuple[str, str]]:
    """The firewall rules of an Azure server in the sandbox, by name."""
    return {
        o["name"]: (o["properties"]["startIpAddress"], o["properties"]["endIpAddress"])
        for o in rig.state()["azure"][SUB]
        if str(o.get("type", "")).endswith("/firewallRules") and f"/{server}/" in o["id"]
    }


def _object(rig: Rig, cloud: str, scope: str, name: str) -> dict[str, Any]:
    return next(o for o in rig.state()[cloud][scope] if o.get("name") == name)


def test_azure_sql_rules_are_replaced_by_the_allowed_network_and_undo_restores_them(
    rig: Rig,
) -> None:
    before = _rules(rig, "clamp-demo-sql")
    finding = rig.finding(Provider.AZURE, CHECK, "clamp-demo-sql").finding
    plan = rig.engine.plan(finding.id, params={"allow": ["198.51.100.0/24"]})

    assert "Azure services" in plan.blast_radius and "office (203.0.113.0/24)" in plan.blast_radius
    assert [c.api_call for c in plan.changes] == [
        "FirewallRulesOperations.create_or_update",
        "FirewallRulesOperations.delete",
        "FirewallRulesOperations.delete",
    ]
    record = rig.engine.apply(plan, actor="tester")
    assert record.status == ActionStatus.VERIFIED
    assert _rules(rig, "clamp-demo-sql") == {
        "office": ("203.0.113.0", "203.0.113.255"),
        "clamp-allow-198-51-100-0-24": ("198.51.100.0", "198.51.100.255"),
    }

    rig.engine.undo(record.id, actor="tester")
    assert _rules(rig, "clamp-demo-sql") == before


def test_postgres_halves_of_the_internet_both_go(rig: Rig) -> None:
    finding = rig.finding(Provider.AZURE, CHECK, "clamp-demo-pg").finding
    record = rig.engine.apply(rig.engine.plan(finding.id), actor="tester")

    assert record.status == ActionStatus.VERIFIED
    assert _rules(rig, "clamp-demo-pg") == {}
    assert [c.api_call for c in record.plan.changes] == ["FirewallRulesOperations.begin_delete"] * 2
    rig.engine.undo(record.id, actor="tester")
    assert set(_rules(rig, "clamp-demo-pg")) == {"clients-low", "clients-high"}


def test_mysql_public_access_off_warns_nobody_can_connect_and_undo_turns_it_on(rig: Rig) -> None:
    finding = rig.finding(Provider.AZURE, CHECK, "clamp-demo-mysql").finding
    assert finding.details["kind"] == "azure-services"
    plan = rig.engine.plan(finding.id, params={"mode": "disable_public"})

    assert "⚠ no private endpoint" in plan.blast_radius
    assert plan.changes[0].api_call == "ServersOperations.begin_update"
    record = rig.engine.apply(plan, actor="tester")
    network = _object(rig, "azure", SUB, "clamp-demo-mysql")["properties"]["network"]
    assert record.status == ActionStatus.VERIFIED and network["publicNetworkAccess"] == "Disabled"

    rig.engine.undo(record.id, actor="tester")
    network = _object(rig, "azure", SUB, "clamp-demo-mysql")["properties"]["network"]
    assert network["publicNetworkAccess"] == "Enabled"


def test_cloud_sql_open_network_goes_and_undo_re_creates_it(rig: Rig) -> None:
    finding = rig.finding(Provider.GCP, CHECK, "orders-db").finding
    record = rig.engine.apply(
        rig.engine.plan(finding.id, params={"allow": ["192.0.2.0/28"]}), actor="tester"
    )

    ip = _object(rig, "gcp", "clamp-demo-prod", "orders-db")["settings"]["ipConfiguration"]
    assert record.status == ActionStatus.VERIFIED
    assert [n["value"] for n in ip["authorizedNetworks"]] == ["192.0.2.0/28", "198.51.100.0/24"]
    rig.engine.undo(record.id, actor="tester")
    ip = _object(rig, "gcp", "clamp-demo-prod", "orders-db")["settings"]["ipConfiguration"]
    assert [n["value"] for n in ip["authorizedNetworks"]] == ["0.0.0.0/0", "198.51.100.0/24"]


def test_cloud_sql_without_a_private_ip_cannot_lose_its_public_one(rig: Rig) -> None:
    finding = rig.finding(Provider.GCP, CHECK, "orders-db").finding
    with pytest.raises(PlanRefused, match="no private IP or Private Service Connect"):
        rig.engine.plan(finding.id, params={"mode": "disable_public"})


def test_undo_refuses_when_the_rules_changed_since(rig: Rig) -> None:
    finding = rig.finding(Provider.AZURE, CHECK, "clamp-demo-pg").finding
    record = rig.engine.apply(rig.engine.plan(finding.id), actor="tester")
    with rig.sandbox.state.lock:  # someone re-creates one of the removed rules by hand
        objects = rig.sandbox.state.azure[SUB]
        server = next(o for o in objects if o.get("name") == "clamp-demo-pg")
        objects.append(
            {
                "id": f"{server['id']}/firewallRules/clients-low",
                "name": "clients-low",
                "type": "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",
                "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "1.0.0.0"},
            }
        )
    with pytest.raises(UndoRefused, match="changed since"):
        rig.engine.undo(record.id, actor="tester")
    assert _rules(rig, "clamp-demo-pg") == {"clients-low": ("0.0.0.0", "1.0.0.0")}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"allow": ["128.0.0.0/1"]}, "covers"),
        ({"allow": ["1.0.0.0/8", "2.0.0.0/8"]}, "together cover more than a /8"),
        ({"allow": ["2001:db8::/32"]}, "take IPv4 ranges"),
        ({"allow": ["10.0.0.0/8"], "mode": "disable_public"}, "mode=disable_public"),
        ({"mode": "off"}, "mode must be one of"),
    ],
)
def test_bad_parameters_are_refused_before_the_cloud_is_read(
    rig: Rig, params: dict[str, Any], message: str
) -> None:
    finding = rig.finding(Provider.GCP, CHECK, "orders-db").finding
    with pytest.raises(InputError, match=message):
        rig.engine.plan(finding.id, params=params)


def test_cloud_sql_with_a_private_ip_loses_its_public_one_and_undo_gives_it_back(
    tmp_path: Path,
) -> None:
    scenario = demo_scenario()
    billing = next(o for o in scenario["gcp"]["clamp-demo-prod"] if o.get("name") == "billing-db")
    billing["settings"]["ipConfiguration"]["ipv4Enabled"] = True  # old-vendor now applies
    billing["ipAddresses"].append({"type": "PRIMARY", "ipAddress": "34.76.10.21"})
    with Sandbox(SandboxState.from_scenario(scenario)) as sandbox:
        rig = make_rig(sandbox, tmp_path)
        finding = rig.finding(Provider.GCP, CHECK, "billing-db").finding
        plan = rig.engine.plan(finding.id, params={"mode": "disable_public"})

        assert [c.api_call for c in plan.changes] == ["sqladmin.instances.patch"]
        assert (
            "private access stays: private IP on projects/clamp-demo-prod/global/networks/prod-vpc"
            in (plan.blast_radius)
        )
        assert "1 rule stops applying: old-vendor" in plan.blast_radius
        record = rig.engine.apply(plan, actor="tester")
        ip = _object(rig, "gcp", "clamp-demo-prod", "billing-db")["settings"]["ipConfiguration"]
        assert record.status == ActionStatus.VERIFIED and ip["ipv4Enabled"] is False

        undo = rig.engine.undo(record.id, actor="tester")
        ip = _object(rig, "gcp", "clamp-demo-prod", "billing-db")["settings"]["ipConfiguration"]
        assert undo.status == ActionStatus.VERIFIED and ip["ipv4Enabled"] is True
        assert rig.finding(Provider.GCP, CHECK, "billing-db")  # open again after the undo


def test_azure_sql_public_access_off_and_undo_turns_it_on(rig: Rig) -> None:
    finding = rig.finding(Provider.AZURE, CHECK, "clamp-demo-sql").finding
    plan = rig.engine.plan(finding.id, params={"mode": "disable_public"})

    assert [c.api_call for c in plan.changes] == ["ServersOperations.begin_update"]
    record = rig.engine.apply(plan, actor="tester")
    server = _object(rig, "azure", SUB, "clamp-demo-sql")["properties"]
    assert record.status == ActionStatus.VERIFIED and server["publicNetworkAccess"] == "Disabled"

    undo = rig.engine.undo(record.id, actor="tester")
    server = _object(rig, "azure", SUB, "clamp-demo-sql")["properties"]
    assert undo.status == ActionStatus.VERIFIED and server["publicNetworkAccess"] == "Enabled"
