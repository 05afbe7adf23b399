"""Load balancers read by the Azure driver (azure-mgmt-network ``load_balancers.list_all``)
from the sandbox's demo estate: db-1 has no public IP, yet the public load balancer db-lb's
inbound NAT rule forwards 51433 to its SQL Server port, so db-nsg's open 1433 is critical
and its reach names that path."""

from __future__ import annotations

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.model import ResourceType, Severity
from clamp.providers.azure.driver import AzureDriver

SUB = "00000000-0000-4000-8000-000000000001"
NET = f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Network"


def test_the_demo_database_vm_is_reached_through_the_load_balancer_nat_rule(
    sandbox_settings: Settings,
) -> None:
    resources = list(AzureDriver(sandbox_settings).collect(SUB))
    [lb] = [r for r in resources if r.type == ResourceType.AZURE_LOAD_BALANCER]
    assert lb.facets["paths"][0]["nic"] == f"{NET}/networkInterfaces/db-1-nic".lower()

    [finding] = [
        f
        for f in evaluate(resources, sandbox_settings)
        if f.check == "exposed-database-port" and f.resource.endswith("/db-nsg")
    ]
    [reach] = [r for r in finding.details["reaches"] if r["vm"].endswith("/db-1")]
    assert reach["public_ip"] is None
    assert reach["path"]["via"] == "load_balancer"
    assert reach["path"]["frontend_ip"] == "20.61.10.9"
    assert (reach["path"]["rule"], reach["path"]["frontend_port"]) == ("sql-vendor", 51433)
    assert finding.severity == Severity.CRITICAL
