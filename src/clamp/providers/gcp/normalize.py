"""Compute Engine API objects → ``Resource`` with normalized facets (pure, no SDK).

Used by the GCP driver and by offline import (Cloud Asset Inventory ``resource.data``).
Facets per type:
- Firewall: ``rule`` (a ``NetworkRule``; ``network`` is the network URL).
- Instance: ``networks``, ``external_ip``, ``tags``, ``service_accounts``, ``status``.
- Network: none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clamp.checks.ports import merge
from clamp.model import (
    ALL_PORTS,
    Access,
    Direction,
    NetworkRule,
    PortRange,
    Protocol,
    Provider,
    Resource,
    ResourceType,
)

COMPUTE = "//compute.googleapis.com/projects"
PROTOCOLS = {
    "all": Protocol.ANY,
    "tcp": Protocol.TCP,
    "udp": Protocol.UDP,
    "icmp": Protocol.ICMP,
    "sctp": Protocol.SCTP,
    "esp": Protocol.ESP,
    "ah": Protocol.AH,
}


def _protocol(value: Any) -> Protocol:
    text = str(value).lower()
    if text.isdigit():
        number = int(text)
        return Protocol(number) if number in Protocol._value2member_map_ else Protocol.OTHER
    return PROTOCOLS.get(text, Protocol.OTHER)


def _ports(values: Iterable[Any]) -> tuple[PortRange, ...]:
    ranges = []
    for value in values:
        lo, _, hi = str(value).partition("-")
        ranges.append(PortRange(int(lo), int(hi or lo)))
    return merge(ranges) if ranges else ALL_PORTS


def firewall_rules(fw: Mapping[str, Any]) -> tuple[NetworkRule, ...]:
    """One ``NetworkRule`` per allowed/denied entry (each entry has its own ports)."""
    access, entries = (
        (Access.ALLOW, fw.get("allowed"))
        if fw.get("allowed")
        else (Access.DENY, fw.get("denied") or [])
    )
    direction = (
        Direction.EGRESS
        if str(fw.get("direction", "INGRESS")).upper() == "EGRESS"
        else Direction.INGRESS
    )
    sources = fw.get("sourceRanges") or (
        fw.get("destinationRanges") or [] if direction == Direction.EGRESS else []
    )
    return tuple(
        NetworkRule(
            name=str(fw.get("name", "")),
            priority=int(fw.get("priority", 1000)),
            direction=direction,
            access=access,
            protocols=frozenset({_protocol(e.get("IPProtocol", "all"))}),
            sources=tuple(sources),
            ports=_ports(e.get("ports") or []),
            enabled=not fw.get("disabled", False),
            network=str(fw.get("network", "")),
            target_tags=tuple(fw.get("targetTags") or ()),
            target_service_accounts=tuple(fw.get("targetServiceAccounts") or ()),
        )
        for e in entries or []
    )


def _zone(obj: Mapping[str, Any]) -> str:
    return str(obj.get("zone", "")).rstrip("/").rsplit("/", 1)[-1]


def full_name(project: str, obj: Mapping[str, Any]) -> str:
    """The resource's full name, e.g. ``//compute.googleapis.com/projects/P/global/firewalls/F``."""
    name = obj.get("name", "")
    match obj.get("kind"):
        case "compute#instance":
            return f"{COMPUTE}/{project}/zones/{_zone(obj)}/instances/{name}"
        case "compute#network":
            return f"{COMPUTE}/{project}/global/networks/{name}"
        case _:
            return f"{COMPUTE}/{project}/global/firewalls/{name}"


def _instance_facets(obj: Mapping[str, Any]) -> dict[str, Any]:
    nics = obj.get("networkInterfaces") or []
    configs = [c for nic in nics for c in nic.get("accessConfigs") or []]
    return {
        "networks": tuple(str(n.get("network", "")) for n in nics),
        "external_ip": any(c.get("natIP") or c.get("type") == "ONE_TO_ONE_NAT" for c in configs),
        "tags": tuple((obj.get("tags") or {}).get("items") or ()),
        "service_accounts": tuple(
            str(s.get("email", "")) for s in obj.get("serviceAccounts") or []
        ),
        "status": str(obj.get("status", "")),
    }


KINDS = {
    "compute#firewall": ResourceType.GCP_FIREWALL,
    "compute#instance": ResourceType.GCP_INSTANCE,
    "compute#network": ResourceType.GCP_NETWORK,
}


def resources_from_compute(project: str, objects: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """Normalize Compute API objects by ``kind``; other kinds are skipped."""
    out = []
    for obj in objects:
        kind = KINDS.get(str(obj.get("kind", "")))
        if kind is None:
            continue
        match kind:
            case ResourceType.GCP_FIREWALL:
                facets: dict[str, Any] = {
                    "rules": firewall_rules(obj),
                    "network": str(obj.get("network", "")),
                }
            case ResourceType.GCP_INSTANCE:
                facets = _instance_facets(obj)
            case _:
                facets = {}
        out.append(
            Resource(
                id=full_name(project, obj),
                provider=Provider.GCP,
                type=kind,
                name=str(obj.get("name", "")),
                scope=project,
                facets=facets,
                raw=obj,
                tags=dict(obj.get("labels") or {}),
            )
        )
    return out
