"""Admin and database ports reachable from the internet, on Azure NSGs and GCP firewalls.

A finding is raised per NSG (Azure) or per firewall rule (GCP) that lets internet traffic
reach one of the check's ports, and per GCP network whose firewall policies alone open one
(``network_layers``: every layer decides, in the network's enforcement order). On Azure a
VNet's Virtual Network Manager security admin rules decide first (``network_admin``: a
finding on the VNet for a port an AlwaysAllow opens; ports they decide leave the NSG
findings), and an NSG that lets only Azure's datacenters in (``AzureCloud`` service
tags) is reported as ``source_kind: broad-service-tag``, medium. ``details``:

- ``ports`` (range strings such as ``"22"``, ``"137-139"``), ``protocols`` (``tcp``...);
- ``rules``: each rule that lets the traffic in, with ``name``, ``priority``, ``sources``
  (as written), ``internet_sources``, and the ``ports``/``protocols`` it opens;
- ``reaches``: Azure — ``{"vm", "nic", "public_ip", "path"}`` for each VM whose NIC is associated
  with the NSG directly or through its subnet, when both the NIC's NSG and the subnet's NSG
  (where present) let the traffic in (``unknown_nsgs`` lists gates missing from the
  inventory, which are assumed open; ``path`` is how the internet gets there:
  ``{"via": "public_ip", "public_ip"}``, ``{"via": "load_balancer", "load_balancer",
  "frontend_ip", "rule", "kind", "protocol", "frontend_port", "backend_port"}`` for a
  public load balancer's NAT or load-balancing rule to the NIC on a port the NSGs let in
  (``network_paths``), or None); GCP — ``{"instance", "external_ip"}`` for each
  instance on the rule's network selected by its target tags / service accounts (or all).
  Public VMs are listed first, at most ``MAX_REACHES`` of them; ``reaches_total`` counts all.
  Each entry has ``addresses`` (private and public IPs) when the inventory knows them.
- GCP: ``decided_by`` (``layer``, ``rule``, ``rule_priority``, ``action``) and ``layers``
  (the layers in evaluation order); on a network finding each rule names its ``layer``.

Severity is the check's (high); it becomes critical when a reached VM has a public IP
address or a public load balancer path to the port (Azure) or an external IP (GCP),
because then the port is one hop from anyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any, ClassVar

from clamp.checks.interface import CHECKS, Check, Inventory
from clamp.checks.network_admin import AdminLayers, as_network_rule, vnet_of, without
from clamp.checks.network_azure import (
    MAX_REACHES,
    Gates,
    Reaches,
    nics_by_vnet,
    nsg_reaches,
    vnet_reaches,
)
from clamp.checks.network_layers import NetworkLayers, by_network, decided, instance_region
from clamp.checks.network_paths import LoadBalancerPaths
from clamp.config import Settings
from clamp.exposure import (
    Exposure,
    gcp_network_key,
    has_broad_sources,
    is_broad_service_tag,
    is_internet,
)
from clamp.model import (
    Finding,
    PortRange,
    Protocol,
    Resource,
    ResourceType,
    Severity,
)
from clamp.ports import merge

BROAD_TAG = "broad-service-tag"


class ExposedPorts(Check):
    """Shared logic of the two port checks; subclasses name the default port set."""

    port_setting: ClassVar[str]
    noun: ClassVar[str]
    severity = Severity.HIGH

    def __init__(self, settings: Settings, ports: tuple[PortRange, ...] | None = None) -> None:
        super().__init__(settings)
        default: tuple[PortRange, ...] = getattr(settings, self.port_setting)
        self.ports: tuple[PortRange, ...] = default if ports is None else ports

    def evaluate(self, inventory: Inventory) -> Iterator[Finding]:
        """Findings on every NSG and firewall of the inventory."""
        if not self.ports:
            return
        yield from self._azure(inventory)
        yield from self._gcp(inventory)

    # -- Azure ----------------------------------------------------------------------------
    def _azure(self, inventory: Inventory) -> Iterator[Finding]:
        nsgs = inventory.of_type(ResourceType.AZURE_NSG)
        gates = Gates({n.id.lower(): n for n in nsgs}, self.ports)
        admin = AdminLayers(inventory, self.ports)
        balancers = LoadBalancerPaths(inventory)
        for nsg in nsgs:
            rules = nsg.facets["rules"]
            exposures = gates.exposures(nsg.id.lower(), None, False)
            if admin.vnets:  # ports the VNets' admin rules decide never reach the NSG
                exposures = without(exposures, admin.decided_for_all(_vnets(inventory, nsg)))
            if exposures:
                reaches = nsg_reaches(inventory, nsg, gates, False, admin, balancers)
                yield self._finding(nsg, exposures, reaches)
            elif has_broad_sources(rules):
                yield from self._azure_broad(inventory, nsg, gates, admin, balancers)
        yield from self._azure_admin(inventory, admin, balancers)

    def _azure_admin(
        self, inventory: Inventory, admin: AdminLayers, balancers: LoadBalancerPaths
    ) -> Iterator[Finding]:
        """One finding per VNet whose security admin rules AlwaysAllow a sensitive port
        from the internet (the NSGs are never asked)."""
        on_vnet = nics_by_vnet(inventory) if admin.verdicts else {}
        for key, verdict in admin.verdicts.items():
            if not verdict.allows:
                continue
            exposures = [
                Exposure(d.protocol, d.ports, as_network_rule(d.rule))
                for d in verdict.allows
                if d.rule
            ]
            layers = [admin.layer_name(key), "nsg"]
            extra = {"decided_by": decided(verdict.allows[0]), "layers": layers}
            finding = self._finding(
                admin.vnets[key],
                exposures,
                vnet_reaches(inventory, on_vnet.get(key, []), balancers, _ports_of(exposures)),
                extra,
            )
            for rule in finding.details["rules"]:
                rule["layer"] = layers[0]
            yield finding

    def _azure_broad(
        self,
        inventory: Inventory,
        nsg: Resource,
        gates: Gates,
        admin: AdminLayers,
        balancers: LoadBalancerPaths,
    ) -> Iterator[Finding]:
        """An NSG that lets only Azure's datacenters in (``AzureCloud`` service tags): a
        finding with ``source_kind: broad-service-tag``, a severity lower than the
        internet's (medium; high when a reached VM has a public IP)."""
        exposures = gates.exposures(nsg.id.lower(), None, True)
        if admin.vnets:  # Azure's addresses are part of the internet the admin rules judge
            exposures = without(exposures, admin.decided_for_all(_vnets(inventory, nsg)))
        if not exposures:
            return
        reaches = nsg_reaches(inventory, nsg, gates, True, admin, balancers)
        finding = self._finding(nsg, exposures, reaches, {"source_kind": BROAD_TAG})
        for rule in finding.details["rules"]:
            rule["broad_sources"] = [s for s in rule["sources"] if is_broad_service_tag(s)]
        public = finding.severity == Severity.CRITICAL
        yield replace(
            finding,
            severity=Severity.HIGH if public else Severity.MEDIUM,
            title=finding.title.replace("open to the internet", "open to all of Azure"),
        )

    # -- GCP ------------------------------------------------------------------------------
    def _gcp(self, inventory: Inventory) -> Iterator[Finding]:
        networks = {gcp_network_key(n.id): n for n in inventory.of_type(ResourceType.GCP_NETWORK)}
        grouped = by_network(inventory.of_type(ResourceType.GCP_FIREWALL))
        entries: dict[str, dict[str, Any]] = {}  # one per instance, shared by its findings
        for key in [*grouped, *(k for k in networks if k not in grouped)]:
            stack = NetworkLayers.of(key, networks.get(key), grouped.get(key, ()))
            for fw in grouped.get(key, ()):
                found = stack.firewall_exposures(fw, self.ports)
                if found:
                    reaches = self._gcp_reaches(inventory, fw, key, entries)
                    extra = {"decided_by": decided(found[0][1]), "layers": stack.names()}
                    yield self._finding(fw, [e for e, _ in found], reaches, extra)
            network = networks.get(key)
            if network is not None and stack.policies_read:
                yield from self._gcp_policies(inventory, network, stack, entries)

    def _gcp_policies(
        self,
        inventory: Inventory,
        network: Resource,
        stack: NetworkLayers,
        entries: dict[str, dict[str, Any]],
    ) -> Iterator[Finding]:
        """One finding per network whose firewall policies alone open a sensitive port."""
        found = stack.policy_exposures(self.ports)
        if not found:
            return
        layer_of = {(e.rule.name, e.rule.priority): d.layer for e, d, _ in found}
        reached: dict[str, dict[str, Any]] = {}
        for exposure, _, layer in found:
            for i in inventory.instances_on(
                stack.key, service_accounts=exposure.rule.target_service_accounts
            ):
                if not layer.region or instance_region(i) == layer.region:
                    reached[i.id] = _instance_entry(i, entries)
        listed = sorted(reached.values(), key=lambda r: (not r["external_ip"], r["instance"]))
        extra = {"decided_by": decided(found[0][1]), "layers": stack.names()}
        finding = self._finding(
            network, [e for e, _, _ in found], (listed[:MAX_REACHES], len(listed)), extra
        )
        for rule in finding.details["rules"]:
            rule["layer"] = layer_of[(rule["name"], rule["priority"])]
        yield finding

    @staticmethod
    def _gcp_reaches(
        inventory: Inventory, fw: Resource, network: str, entries: dict[str, dict[str, Any]]
    ) -> Reaches:
        rule = fw.facets["rules"][0]
        instances = inventory.instances_on(
            network, tags=rule.target_tags, service_accounts=rule.target_service_accounts
        )
        listed = [_instance_entry(i, entries) for i in instances[:MAX_REACHES]]
        return listed, len(instances)

    # -- the finding ----------------------------------------------------------------------
    def _finding(
        self,
        resource: Resource,
        exposures: list[Exposure],
        reach: Reaches,
        extra: Mapping[str, Any] | None = None,
    ) -> Finding:
        by_rule: dict[str, list[Exposure]] = {}
        for e in exposures:
            by_rule.setdefault(e.rule.name, []).append(e)
        rules = []
        for name, found in by_rule.items():
            rule = found[0].rule
            rules.append(
                {
                    "name": name,
                    "priority": rule.priority,
                    "sources": list(rule.sources),
                    "internet_sources": [s for s in rule.sources if is_internet(s)],
                    "ports": _port_strings(p for e in found for p in e.ports),
                    "protocols": sorted({PROTOCOL_NAMES[e.protocol] for e in found}),
                }
            )
        ports = _port_strings(p for e in exposures for p in e.ports)
        reaches, total = reach
        public = any(r.get("public_ip") or r.get("external_ip") or r.get("path") for r in reaches)
        kind = _KINDS.get(resource.type, "firewall rule")
        return Finding(
            check=self.id,
            provider=resource.provider,
            resource=resource.id,
            scope=resource.scope,
            severity=Severity.CRITICAL if public else self.severity,
            title=f"{self.noun} ports {', '.join(ports)} open to the internet "
            f"by {kind} {resource.name}",
            details={
                "ports": ports,
                "protocols": sorted({PROTOCOL_NAMES[e.protocol] for e in exposures}),
                "rules": rules,
                "reaches": reaches,
                "reaches_total": total,
                **(extra or {}),
            },
        )


def _vnets(inventory: Inventory, nsg: Resource) -> list[str]:
    """The VNets (lower-cased ids) of the subnets and NICs an NSG guards."""
    subnets = [*nsg.facets["subnets"]]
    subnets += [
        s for nic in inventory.nics_behind(nsg.id) for s in nic.facets.get("subnets", ())[:1]
    ]
    return [vnet_of(s) for s in subnets]


def _instance_entry(instance: Resource, entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A reached GCP instance; ``addresses`` (what flow logs name it by) when known. One
    entry per instance in ``entries``: many firewalls reach the same instances (a network
    of 25k instances, 100 listed per finding), and no reader changes an entry."""
    entry = entries.get(instance.id)
    if entry is None:
        entry = {"instance": instance.id, "external_ip": instance.facets["external_ip"]}
        if instance.facets.get("addresses"):
            entry["addresses"] = list(instance.facets["addresses"])
        entries[instance.id] = entry
    return entry


def _ports_of(exposures: list[Exposure]) -> dict[Protocol, tuple[PortRange, ...]]:
    """The ports per protocol a finding's exposures open."""
    out: dict[Protocol, list[PortRange]] = {}
    for e in exposures:
        out.setdefault(e.protocol, []).extend(e.ports)
    return {protocol: merge(ranges) for protocol, ranges in out.items()}


def _port_strings(ranges: Iterable[PortRange]) -> list[str]:
    """The ranges merged, as ``22`` and ``20-25`` (one string per range, shared by the
    findings that name it)."""
    out = []
    for r in merge(ranges):
        text = _PORT_TEXT.get(r)
        if text is None:
            if len(_PORT_TEXT) >= 4096:  # a bound for long-running processes
                _PORT_TEXT.clear()
            text = _PORT_TEXT[r] = str(r)
        out.append(text)
    return out


_PORT_TEXT: dict[PortRange, str] = {}
_KINDS = {
    ResourceType.AZURE_NSG: "network security group",
    ResourceType.GCP_NETWORK: "firewall policies of network",
    ResourceType.AZURE_VNET: "security admin rules of virtual network",
}
"""How a finding's title names what opens the ports (a GCP firewall rule otherwise)."""
PROTOCOL_NAMES = {p: p.name.lower() for p in Protocol}
"""How findings name a protocol (``tcp``, ``udp``…): one string each."""


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
