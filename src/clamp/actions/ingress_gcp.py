"""Planning ``restrict_ingress`` on a Google Cloud VPC firewall rule (pure, no I/O).

The firewall is never deleted: its internet ranges are dropped (private ranges kept,
``--allow`` ranges added), it is disabled when nothing would remain, and a rule that also
allows other traffic is split so that traffic stays exactly as it was.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from clamp.actions.ingress_common import keep_sources, parse_port, port_strings
from clamp.checks.exposure import is_internet
from clamp.checks.ports import intersect, merge, subtract
from clamp.errors import PlanRefused
from clamp.model import ALL_PORTS, Change, ChangeOp, PortRange

FIREWALL_TYPE = "compute.googleapis.com/Firewall"
PORTED = {"tcp", "udp", "sctp", "6", "17", "132"}
ALL_EXPANDED = ("tcp", "udp", "sctp")
PORTLESS_OF_ALL = ("icmp", "esp", "ah", "ipip")
OUTPUT_ONLY = ("id", "selfLink", "creationTimestamp", "kind")


def _ports(entry: Mapping[str, Any]) -> tuple[PortRange, ...]:
    ports = entry.get("ports") or []
    return merge(parse_port(p) for p in ports) if ports else ALL_PORTS


def split_allowed(
    allowed: list[Mapping[str, Any]], sensitive: tuple[PortRange, ...]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(entries for the sensitive traffic, entries for everything else the rule allows)."""
    hit: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for entry in allowed:
        protocol = str(entry.get("IPProtocol", "")).lower()
        protocols = ALL_EXPANDED if protocol == "all" else (protocol,)
        if protocol == "all":
            rest.extend({"IPProtocol": p} for p in PORTLESS_OF_ALL)
        for proto in protocols:
            if proto not in PORTED:
                rest.append(
                    {
                        "IPProtocol": proto,
                        **({"ports": entry["ports"]} if entry.get("ports") else {}),
                    }
                )
                continue
            ports = _ports(entry)
            covered, others = intersect(ports, sensitive), subtract(ports, sensitive)
            if not covered:
                rest.append({**entry, "IPProtocol": proto})
                continue
            hit.append({"IPProtocol": proto, "ports": port_strings(covered, star=False)})
            if others:
                rest.append({"IPProtocol": proto, "ports": port_strings(others, star=False)})
    return hit, rest


def _writable(firewall: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in firewall.items() if k not in OUTPUT_ONLY}


def _restricted_name(name: str) -> str:
    base = re.sub(r"-+$", "", name[: 63 - len("-restricted")])
    return f"{base}-restricted"


def plan_firewall(
    firewall: Mapping[str, Any], target: str, sensitive: tuple[PortRange, ...], allow: list[str]
) -> list[Change]:
    """The changes that stop internet traffic to ``sensitive`` ports through this rule."""
    ranges = list(firewall.get("sourceRanges") or [])
    if (
        str(firewall.get("direction", "INGRESS")).upper() != "INGRESS"
        or firewall.get("disabled")
        or not any(is_internet(r) for r in ranges)
    ):
        return []
    hit, rest = split_allowed(list(firewall.get("allowed") or []), sensitive)
    if not hit:
        return []
    kept = keep_sources(ranges, allow)
    has_other_sources = bool(firewall.get("sourceTags") or firewall.get("sourceServiceAccounts"))
    after = {**copy.deepcopy(dict(firewall))}
    if not rest:
        if kept:
            after["sourceRanges"] = kept
        elif has_other_sources:
            after.pop("sourceRanges", None)
        else:
            after["disabled"] = True
        return [
            Change(
                ChangeOp.UPDATE, target, FIREWALL_TYPE, firewall, after, "FirewallsClient.update"
            )
        ]
    after["allowed"] = rest
    changes = [
        Change(ChangeOp.UPDATE, target, FIREWALL_TYPE, firewall, after, "FirewallsClient.update")
    ]
    if kept or has_other_sources:
        created = _writable(firewall)
        created["name"] = _restricted_name(str(firewall["name"]))
        created["allowed"] = hit
        created["description"] = f"Created by Clamp from {firewall['name']}: trusted sources"
        if kept:
            created["sourceRanges"] = kept
        else:
            created.pop("sourceRanges", None)
        new_target = target.rsplit("/", 1)[0] + "/" + created["name"]
        changes.append(
            Change(
                ChangeOp.CREATE, new_target, FIREWALL_TYPE, None, created, "FirewallsClient.insert"
            )
        )
    return changes


def refuse_if_empty(changes: list[Change]) -> list[Change]:
    """Refuse a plan with nothing in it: the finding is already gone."""
    if not changes:
        raise PlanRefused("finding no longer present on the resource; run `clamp scan`")
    return changes
