"""Whether a rule set lets one observed source in on one port: the exposure engine's own
evaluation (``clamp.exposure``), asked about a single address instead of the internet.

Each rule whose sources hold the address is kept with its sources replaced by "any" and
every other rule is dropped (it does not match this traffic); the exposure engine then
says what the address may reach — priorities, Deny shadowing, protocols, port ranges and
target restrictions exactly as in a scan. Sources held: ``*``/``Any``/``0.0.0.0/0``/``::/0``
(every address), ``Internet`` (public addresses), ``VirtualNetwork`` (private addresses:
the VNet, peerings and on-premises space as Azure defines it — approximated),
``AzureLoadBalancer`` (168.63.129.16), and CIDRs or addresses. Other service tags and
application security groups are never taken to hold the address (Clamp has no map of
them), which the preview's caveats say.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache

from clamp.exposure import azure_exposure, gcp_exposure, is_gcp_shadow
from clamp.model import NetworkRule, PortRange, Protocol, Provider

ANY = frozenset({"*", "any", "0.0.0.0/0", "0.0.0.0", "::/0"})
AZURE_LOAD_BALANCER = "168.63.129.16"
PROTOCOLS = {"tcp": Protocol.TCP, "udp": Protocol.UDP, "sctp": Protocol.SCTP, "6": Protocol.TCP}
PROTOCOLS.update({"17": Protocol.UDP, "132": Protocol.SCTP})
UNMAPPED_CAVEAT = (
    "sources named by service tags (other than Internet, VirtualNetwork, AzureLoadBalancer) "
    "or application security groups are not matched to addresses"
)


@lru_cache(maxsize=65536)
def holds(rule_source: str, address: str) -> bool:
    """Whether a rule's source (as the cloud writes it) holds ``address``."""
    text = rule_source.strip().lower()
    try:
        ip = ipaddress.ip_address(address.split("/", 1)[0].strip())
    except ValueError:
        return False
    if text in ANY:
        return True
    if text == "internet":
        return ip.is_global
    if text == "virtualnetwork":
        return ip.is_private
    if text == "azureloadbalancer":
        return str(ip) == AZURE_LOAD_BALANCER
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return ip.version == network.version and ip in network


def _for(rules: Iterable[NetworkRule], address: str, internet: str) -> list[NetworkRule]:
    return [
        replace(r, sources=(internet,)) for r in rules if any(holds(s, address) for s in r.sources)
    ]


def admits(
    rules: Iterable[NetworkRule], provider: Provider, address: str, port: int, protocol: str
) -> bool:
    """Whether ``rules`` (one NSG, or one network's firewall entries) let ``address`` in
    on ``port``/``protocol``. A protocol without ports (ICMP) is never judged admitted."""
    wanted = PROTOCOLS.get(protocol.strip().lower())
    if wanted is None or not 0 <= port <= 65535:
        return False
    ports = (PortRange(port, port),)
    if provider == Provider.AZURE:
        found = azure_exposure(_for(rules, address, "*"), ports)
    else:
        matched = _for(rules, address, "0.0.0.0/0")
        found = gcp_exposure(matched, [r for r in matched if is_gcp_shadow(r)], ports)
    return any(e.protocol == wanted for e in found)
