"""Admin and database ports reachable from the internet, on Azure NSGs and GCP firewalls.

A finding is raised per NSG (Azure) or per firewall rule (GCP). Its ``details`` name the
ports, protocols and rules that cause it and the VMs it reaches: on Azure a VM is reached
only when both its NIC's NSG and its subnet's NSG let the traffic in. Severity is high,
critical when a reached VM has a public IP.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from clamp.checks.exposure import (
    Exposure,
    azure_exposure,
    both_allow,
    gcp_exposure,
    internet_ports,
    is_gcp_shadow,
)
from clamp.checks.interface import CHECKS, Check, Inventory
from clamp.checks.ports import merge
from clamp.model import (
    Finding,
    NetworkRule,
    PortRange,
    Protocol,
    Provider,
    Resource,
    ResourceType,
    Severity,
)

Ports = dict[Protocol, tuple[PortRange, ...]]


def _network_key(url: str) -> str:
    """``projects/P/global/networks/N`` from any form of a network URL."""
    index = url.find("projects/")
    return url[index:] if index >= 0 else url


class ExposedPorts(Check):
    """Shared logic of the two port checks; subclasses choose the port set."""

    port_setting: ClassVar[str]
    noun: ClassVar[str]
    remediations = ("restrict_ingress",)

    @property
    def ports(self) -> tuple[PortRange, ...]:
        """The sensitive ports this check looks for (from the settings)."""
        ports: tuple[PortRange, ...] = getattr(self.settings, self.port_setting)
        return ports

    def evaluate(self, inventory: Inventory) -> Iterator[Finding]:
        """Findings on every NSG and firewall of the inventory."""
        yield from self._azure(inventory)
        yield from self._gcp(inventory)

    # -- Azure ----------------------------------------------------------------------------
    def _azure(self, inventory: Inventory) -> Iterator[Finding]:
        nsgs = inventory.of_type(ResourceType.AZURE_NSG)
        exposed = {n.id.lower(): azure_exposure(n.facets["rules"], self.ports) for n in nsgs}
        open_ports = {k: internet_ports(v) for k, v in exposed.items()}
        for nsg in nsgs:
            exposures = exposed[nsg.id.lower()]
            if exposures:
                reaches = self._azure_reaches(inventory, nsg, open_ports)
                yield self._finding(nsg, exposures, reaches)

    def _azure_reaches(
        self, inventory: Inventory, nsg: Resource, open_ports: dict[str, Ports]
    ) -> list[dict[str, Any]]:
        reached = []
        for nic in inventory.of_type(ResourceType.AZURE_NIC):
            nic_nsg = (nic.facets.get("nsg") or "").lower()
            subnet_nsgs = [
                (s.facets.get("nsg") or "").lower()
                for s in (inventory.get(i) for i in nic.facets.get("subnets", ()))
                if s is not None
            ]
            gates = [g for g in [nic_nsg, *subnet_nsgs] if g]
            if nsg.id.lower() not in gates:
                continue
            passing: Ports = open_ports.get(gates[0], {})
            for gate in gates[1:]:
                passing = both_allow(passing, open_ports.get(gate, {}))
            if not passing or not nic.facets.get("vm"):
                continue
            ips = [inventory.get(i) for i in nic.facets.get("public_ips", ())]
            address = next((ip.facets.get("ip_address") for ip in ips if ip is not None), None)
            public = address or (nic.facets.get("public_ips") or [None])[0]
            reached.append({"vm": nic.facets["vm"], "nic": nic.id, "public_ip": public})
        return reached

    # -- GCP ------------------------------------------------------------------------------
    def _gcp(self, inventory: Inventory) -> Iterator[Finding]:
        firewalls = inventory.of_type(ResourceType.GCP_FIREWALL)
        shadows: dict[tuple[str, str], list[NetworkRule]] = defaultdict(list)
        for fw in firewalls:
            for rule in fw.facets["rules"]:
                if is_gcp_shadow(rule):
                    shadows[(fw.scope, _network_key(rule.network))].append(rule)
        instances = inventory.of_type(ResourceType.GCP_INSTANCE)
        for fw in firewalls:
            key = (fw.scope, _network_key(fw.facets["network"]))
            exposures = gcp_exposure(fw.facets["rules"], shadows.get(key, []), self.ports)
            if exposures:
                yield self._finding(fw, exposures, self._gcp_reaches(fw, key[1], instances))

    @staticmethod
    def _gcp_reaches(
        fw: Resource, network: str, instances: Iterable[Resource]
    ) -> list[dict[str, Any]]:
        raw = fw.raw
        tags, accounts = (
            set(raw.get("targetTags") or ()),
            set(raw.get("targetServiceAccounts") or ()),
        )
        reached = []
        for instance in instances:
            if instance.scope != fw.scope or network not in {
                _network_key(n) for n in instance.facets["networks"]
            }:
                continue
            if tags and not tags & set(instance.facets["tags"]):
                continue
            if accounts and not accounts & set(instance.facets["service_accounts"]):
                continue
            reached.append({"instance": instance.id, "external_ip": instance.facets["external_ip"]})
        return reached

    # -- the finding ----------------------------------------------------------------------
    def _finding(
        self, resource: Resource, exposures: list[Exposure], reaches: list[dict[str, Any]]
    ) -> Finding:
        ports = merge(p for e in exposures for p in e.ports)
        rules: dict[str, dict[str, Any]] = {}
        for e in exposures:
            entry = rules.setdefault(
                e.rule.name,
                {
                    "name": e.rule.name,
                    "priority": e.rule.priority,
                    "sources": list(e.rule.sources),
                    "ports": [],
                    "protocols": [],
                },
            )
            entry["ports"] = [str(p) for p in merge([*map(_parse, entry["ports"]), *e.ports])]
            if e.protocol.name.lower() not in entry["protocols"]:
                entry["protocols"].append(e.protocol.name.lower())
        public = any(r.get("public_ip") or r.get("external_ip") for r in reaches)
        kind = "network security group" if resource.provider == Provider.AZURE else "firewall rule"
        return Finding(
            check=self.id,
            provider=resource.provider,
            resource=resource.id,
            scope=resource.scope,
            severity=Severity.CRITICAL if public else Severity.HIGH,
            title=f"{self.noun} ports {', '.join(map(str, ports))} open to the internet "
            f"by {kind} {resource.name}",
            details={
                "ports": [str(p) for p in ports],
                "protocols": sorted({e.protocol.name.lower() for e in exposures}),
                "rules": list(rules.values()),
                "reaches": reaches,
            },
        )


def _parse(text: str) -> PortRange:
    lo, _, hi = text.partition("-")
    return PortRange(int(lo), int(hi or lo))


@CHECKS.register("exposed-admin-port")
class ExposedAdminPort(ExposedPorts):
    """Remote administration ports (SSH, RDP, WinRM, SMB, VNC, ...) open to the internet."""

    id = "exposed-admin-port"
    title = "Admin port open to the internet"
    noun = "Admin"
    port_setting = "admin_ports"
    rationale = (
        "Internet-facing SSH, RDP, WinRM, SMB, Telnet, FTP and VNC are scanned and "
        "brute-forced within minutes; restrict them to known networks or a bastion."
    )
    compliance: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "CIS Microsoft Azure Foundations 2.0": ("6.1", "6.2"),
        "CIS Google Cloud Platform Foundation 2.0": ("3.6", "3.7"),
        "NIST CSF 2.0": ("PR.AA-05", "PR.IR-01"),
        "ISO/IEC 27001:2022": ("A.8.20", "A.8.22"),
    }


@CHECKS.register("exposed-database-port")
class ExposedDatabasePort(ExposedPorts):
    """Database and cache ports (SQL Server, MySQL, PostgreSQL, Redis, ...) open to the internet."""

    id = "exposed-database-port"
    title = "Database port open to the internet"
    noun = "Database"
    port_setting = "database_ports"
    rationale = (
        "Databases and caches reachable from the internet are found by mass scanners "
        "and ransomed or dumped; they should only accept application networks."
    )
    compliance: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "CIS Microsoft Azure Foundations 2.0": ("6.3",),
        "CIS Google Cloud Platform Foundation 2.0": ("3.6",),
        "NIST CSF 2.0": ("PR.AA-05", "PR.IR-01"),
        "ISO/IEC 27001:2022": ("A.8.20", "A.8.22"),
    }
