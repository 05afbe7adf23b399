"""How internet traffic gets to an Azure VM (pure): a public IP on its NIC, or a public load
balancer frontend with an inbound NAT rule or a load-balancing rule to it (the load
balancers' ``paths`` facets, ``providers/azure/normalize_lb``).

The NSGs judge a load-balanced packet on its backend port (the load balancer rewrites the
destination, Microsoft docs "Azure Load Balancer: inbound NAT rules" and "Network security
groups: how they filter"), so a path counts when the backend port (every port for HA
ports, 0) is among those both of the NIC's NSGs let in, on that protocol, and its frontend
has a public IP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clamp.checks.interface import Inventory
from clamp.model import PortRange, Protocol, Resource, ResourceType

Ports = Mapping[Protocol, tuple[PortRange, ...]]
PROTOCOLS = {"tcp": (Protocol.TCP,), "udp": (Protocol.UDP,), "all": (Protocol.TCP, Protocol.UDP)}


class LoadBalancerPaths:
    """The public load-balancer paths to each NIC of an inventory, indexed once per scan."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.by_nic: dict[str, list[tuple[Resource, Mapping[str, Any]]]] = {}
        for lb in inventory.of_type(ResourceType.AZURE_LOAD_BALANCER):
            for path in lb.facets.get("paths", ()):
                self.by_nic.setdefault(str(path["nic"]), []).append((lb, path))

    def path_to(self, nic: Resource, passing: Ports | None) -> dict[str, Any] | None:
        """The first public path to ``nic`` on a port of ``passing`` (every port when
        None), as a finding's ``reaches[].path``; None when there is none."""
        for lb, path in self.by_nic.get(nic.id.lower(), ()):
            public_ip = lb.facets["frontends"].get(path["frontend"])
            if public_ip is None or not _passes(path, passing):
                continue
            ip = self.inventory.get(public_ip)
            return {
                "via": "load_balancer",
                "load_balancer": lb.id,
                "frontend_ip": (ip.facets.get("ip_address") if ip else None) or public_ip,
                "rule": path["rule"],
                "kind": path["kind"],
                "protocol": path["protocol"],
                "frontend_port": path["frontend_port"],
                "backend_port": path["backend_port"],
            }
        return None


def _passes(path: Mapping[str, Any], passing: Ports | None) -> bool:
    if passing is None:
        return True
    port = int(path["backend_port"])
    for protocol in PROTOCOLS.get(str(path["protocol"]), ()):
        ranges = passing.get(protocol, ()) + passing.get(Protocol.ANY, ())
        if ranges and (port == 0 or any(port in r for r in ranges)):
            return True
    return False
