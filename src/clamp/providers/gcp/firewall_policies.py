"""Compute Engine: the firewall policies in force on each VPC network of a project.

Per network, ``networks.getEffectiveFirewalls`` (hierarchical and global network
policies) and, per region the network has instances in,
``regionNetworkFirewallPolicies.getEffectiveFirewalls`` (whose regional network policies
are kept), through google-api-python-client's discovery client (``compute v1``). Compute
resolves which hierarchical policies apply by the project's ancestry and the policies'
associations. The answers go into one envelope per network, ``clamp#effectiveFirewalls``
(``normalize_layers`` reads it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clamp.exposure import gcp_network_key
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.normalize_layers import EFFECTIVE_KIND, instance_regions
from clamp.providers.interface import ProgressCallback

GLOBAL_PERMISSION = "compute.networks.getEffectiveFirewalls"
REGION_PERMISSION = "compute.networks.getRegionEffectiveFirewalls"


def effective_firewalls(
    clients: GcpClients,
    project: str,
    objects: Sequence[Mapping[str, Any]],
    progress: ProgressCallback | None = None,
) -> list[dict[str, Any]]:
    """One ``clamp#effectiveFirewalls`` envelope per network among ``objects``."""
    api = clients.compute_api
    regions = instance_regions(project, objects)
    out: list[dict[str, Any]] = []
    for network in (o for o in objects if o.get("kind") == "compute#network"):
        name, link = str(network.get("name", "")), str(network.get("selfLink", ""))
        if progress:
            progress(f"gcp {project}: firewall policies of {name}")
        whole = call(
            f"read the firewall policies of network {name} in {project}",
            GLOBAL_PERMISSION,
            api.networks().getEffectiveFirewalls(project=project, network=name).execute,
        )
        regional: dict[str, Any] = {}
        for region in sorted(regions.get(gcp_network_key(link, project), ())):
            request = api.regionNetworkFirewallPolicies().getEffectiveFirewalls(
                project=project, region=region, network=link
            )
            regional[region] = call(
                f"read the {region} firewall policies of network {name} in {project}",
                REGION_PERMISSION,
                request.execute,
            )
        out.append({"kind": EFFECTIVE_KIND, "network": link, "global": whole, "regions": regional})
    return out
