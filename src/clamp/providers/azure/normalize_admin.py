"""Virtual Network Manager security admin rules in effect on a VNet → ``clamp.layers.Layer``
(pure, no SDK).

Input: Clamp's envelope ``{"type": "clamp#effectiveSecurityAdminRules", "virtualNetwork":
<VNet ARM id>, "value": [<EffectiveSecurityAdminRule / EffectiveDefaultSecurityAdminRule>]}``,
the ``value`` of ``POST …/virtualNetworks/{vnet}/listNetworkManagerEffectiveSecurityAdminRules``
(azure-mgmt-network 33, api-version 2026-03-01: ``NetworkManagerEffectiveSecurityAdminRulesListResult``;
each rule's ``properties`` is ``AdminPropertiesFormat``).

Semantics (Microsoft docs, "Security admin rules in Azure Virtual Network Manager"): admin
rules are evaluated before NSGs; ``AlwaysAllow`` allows and skips the NSGs (layer action
``allow``), ``Allow`` lets the NSGs decide (``goto_next``), ``Deny`` drops (``deny``); lower
priority numbers first. Sources are ``addressPrefix`` items (IP prefixes or service tags,
``Internet`` included); a destination other than everything (``*``, ``0.0.0.0/0``, ``::/0``)
narrows the rule to part of the VNet (``Match.narrowed``). Outbound rules are kept (the
core ignores them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clamp.errors import InputError
from clamp.layers import Action, Layer, LayerRule, Match
from clamp.model import ALL_PORTS, Direction, Protocol
from clamp.ports import parse_ranges

ENVELOPE = "clamp#effectiveSecurityAdminRules"
ACTIONS = {"alwaysallow": Action.ALLOW, "allow": Action.GOTO_NEXT, "deny": Action.DENY}
PROTOCOLS = {
    "any": Protocol.ANY,
    "tcp": Protocol.TCP,
    "udp": Protocol.UDP,
    "icmp": Protocol.ICMP,
    "esp": Protocol.ESP,
    "ah": Protocol.AH,
}
EVERYWHERE = frozenset({"*", "0.0.0.0/0", "::/0"})


def admin_rule(raw: Mapping[str, Any]) -> LayerRule:
    """One effective security admin rule as a layer rule."""
    props = raw.get("properties") or {}
    name = str(raw.get("id", "")).rstrip("/").rsplit("/", 1)[-1]
    access = str(props.get("access", "")).lower()
    if access not in ACTIONS:
        raise InputError(f"admin rule {name!r}: unknown access {props.get('access')!r}")
    ports = [str(p) for p in props.get("destinationPortRanges") or [] if str(p).strip()]
    destinations = [str(d.get("addressPrefix", "")) for d in props.get("destinations") or []]
    return LayerRule(
        name=name,
        priority=int(props.get("priority", 0)),
        action=ACTIONS[access],
        match=Match(
            protocols=frozenset(
                {PROTOCOLS.get(str(props.get("protocol", "")).lower(), Protocol.OTHER)}
            ),
            ports=parse_ranges(ports) if ports else ALL_PORTS,
            sources=tuple(str(s.get("addressPrefix", "")) for s in props.get("sources") or []),
            direction=Direction.INGRESS
            if str(props.get("direction", "")).lower() == "inbound"
            else Direction.EGRESS,
            narrowed=tuple(d for d in destinations if d.strip().lower() not in EVERYWHERE),
        ),
    )


def admin_layer(vnet_id: str, rules: Iterable[Mapping[str, Any]]) -> Layer:
    """The VNet's admin rules as one layer named ``admin:<VNet id>``."""
    try:
        return Layer(f"admin:{vnet_id}", tuple(admin_rule(r) for r in rules))
    except (InputError, TypeError, ValueError, AttributeError) as exc:
        detail = exc.message if isinstance(exc, InputError) else str(exc)
        raise InputError(f"security admin rules of {vnet_id}: {detail}") from None


def effective_by_vnet(objects: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The effective admin rules per lower-cased VNet id, from Clamp's envelopes."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for obj in objects:
        if obj.get("type") == ENVELOPE:
            out.setdefault(str(obj.get("virtualNetwork", "")).lower(), []).extend(
                obj.get("value") or []
            )
    return out


def admin_rules_raw(rules: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
    """The effective admin rules as listed, by (rule name, priority)."""
    return {
        (
            str(r.get("id", "")).rstrip("/").rsplit("/", 1)[-1],
            int((r.get("properties") or {}).get("priority", 0)),
        ): r
        for r in rules
    }
