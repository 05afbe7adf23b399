"""Azure exposure of one NSG's NICs (pure): which VMs behind an NSG internet traffic (or
traffic from Azure's datacenters, ``broad``) reaches on a sensitive port.

A NIC's inbound traffic passes its subnet's NSG and its own, and both must let it in
(``exposure.both_allow``). Each NSG is evaluated for the NIC's application security groups
(a rule whose destination is an ASG holds only for NICs in it); a gate missing from the
inventory is assumed open and named in ``unknown_nsgs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clamp.checks.interface import Inventory
from clamp.checks.network_admin import AdminLayers, left_to_nsgs, vnet_of
from clamp.checks.network_paths import LoadBalancerPaths
from clamp.exposure import Exposure, azure_exposure, both_allow, internet_ports
from clamp.model import PortRange, Protocol, Resource, ResourceType

Ports = dict[Protocol, tuple[PortRange, ...]]
Reaches = tuple[list[dict[str, Any]], int]
"""The reached VMs listed in a finding (public ones first, at most ``MAX_REACHES``), and
how many there are in all."""
MAX_REACHES = 100


class Gates:
    """What each NSG lets through, per set of application security groups and origin
    (internet or broad), computed once per scan: the NSG's own finding and every NIC
    behind it share one evaluation."""

    def __init__(self, nsgs: Mapping[str, Resource], sensitive: tuple[PortRange, ...]) -> None:
        self.nsgs = nsgs
        self.sensitive = sensitive
        self._found: dict[tuple[str, frozenset[str] | None, bool], list[Exposure]] = {}
        self._open: dict[tuple[str, frozenset[str] | None, bool], Ports] = {}
        self._tagged: dict[str, bool] = {}

    def exposures(self, gate: str, asgs: frozenset[str] | None, broad: bool) -> list[Exposure]:
        """``azure_exposure`` of the NSG ``gate`` (lower-cased id, in ``nsgs``)."""
        key = self._key(gate, asgs, broad)
        if key not in self._found:
            rules = self.nsgs[gate].facets["rules"]
            self._found[key] = azure_exposure(rules, self.sensitive, asgs=asgs, broad=broad)
        return self._found[key]

    def open_ports(self, gate: str, asgs: frozenset[str], broad: bool) -> Ports:
        """What the NSG ``gate`` (lower-cased id, in ``nsgs``) lets in to such a NIC."""
        key = self._key(gate, asgs, broad)
        if key not in self._open:
            self._open[key] = internet_ports(self.exposures(gate, asgs, broad))
        return self._open[key]

    def _key(
        self, gate: str, asgs: frozenset[str] | None, broad: bool
    ) -> tuple[str, frozenset[str] | None, bool]:
        """The application security groups matter only to an NSG with rules on them."""
        if gate not in self._tagged:
            self._tagged[gate] = any(r.target_tags for r in self.nsgs[gate].facets["rules"])
        return (gate, asgs if self._tagged[gate] else None, broad)


def nic_passing(
    inventory: Inventory, nic: Resource, gates: Gates, broad: bool
) -> tuple[Ports | None, list[str]]:
    """What traffic passes every known NSG guarding ``nic`` (``None``: no known gate),
    and the gates missing from the inventory."""
    asgs = frozenset(nic.facets.get("asgs", ()))
    passing: Ports | None = None
    unknown = []
    for gate in inventory.nsgs_guarding(nic):
        if gate not in gates.nsgs:
            unknown.append(gate)
            continue
        ports = gates.open_ports(gate, asgs, broad)
        passing = ports if passing is None else both_allow(passing, ports)
    return passing, unknown


def nsg_reaches(
    inventory: Inventory,
    nsg: Resource,
    gates: Gates,
    broad: bool,
    admin: AdminLayers | None = None,
    balancers: LoadBalancerPaths | None = None,
) -> Reaches:
    """The VMs behind ``nsg`` that the traffic reaches on ports the VNet's security admin
    rules (``admin``) leave to the NSGs, those with a path from the internet (a public IP,
    a public load balancer's rule on a passing port: ``balancers``) first."""
    reached = []
    for nic in inventory.nics_behind(nsg.id):
        if not nic.facets.get("vm"):
            continue
        passing, unknown = nic_passing(inventory, nic, gates, broad)
        if passing and admin is not None:
            passing = left_to_nsgs(admin.of_nic(nic), passing)
        if not passing:
            continue
        reached.append(_entry(inventory, nic, unknown, balancers, passing))
    return listed(reached)


def nics_by_vnet(inventory: Inventory) -> dict[str, list[Resource]]:
    """The NICs of VMs per VNet (lower-cased id, by the NIC's first subnet)."""
    index: dict[str, list[Resource]] = {}
    for nic in inventory.of_type(ResourceType.AZURE_NIC):
        if nic.facets.get("vm") and nic.facets.get("subnets"):
            index.setdefault(vnet_of(nic.facets["subnets"][0]), []).append(nic)
    return index


def vnet_reaches(
    inventory: Inventory,
    nics: list[Resource],
    balancers: LoadBalancerPaths | None = None,
    ports: Ports | None = None,
) -> Reaches:
    """The VMs of ``nics`` (those on one VNet), those with a path from the internet on
    ``ports`` first."""
    return listed([_entry(inventory, nic, [], balancers, ports) for nic in nics])


def listed(reached: list[dict[str, Any]]) -> Reaches:
    """Reached VMs, those with a path from the internet first, then by id (whatever order
    the collection listed them in), at most ``MAX_REACHES``, and their count."""
    reached.sort(key=lambda r: (not (r["public_ip"] or r.get("path")), r["vm"].lower()))
    return reached[:MAX_REACHES], len(reached)


def _entry(
    inventory: Inventory,
    nic: Resource,
    unknown: list[str],
    balancers: LoadBalancerPaths | None = None,
    passing: Ports | None = None,
) -> dict[str, Any]:
    ips = [inventory.get(i) for i in nic.facets.get("public_ips", ())]
    address = next((ip.facets.get("ip_address") for ip in ips if ip is not None), None)
    # an attached public IP the inventory lacks still makes the VM public
    public_ip = address or next(iter(nic.facets.get("public_ips", ())), None)
    entry: dict[str, Any] = {"vm": nic.facets["vm"], "nic": nic.id, "public_ip": public_ip}
    if public_ip:
        entry["path"] = {"via": "public_ip", "public_ip": public_ip}
    elif balancers is not None:
        entry["path"] = balancers.path_to(nic, passing)
    addresses = [*nic.facets.get("private_ips", ()), *([address] if address else [])]
    if addresses:  # what flow logs name the VM by (``clamp.events.flows``)
        entry["addresses"] = addresses
    if unknown:
        entry["unknown_nsgs"] = unknown
    return entry
