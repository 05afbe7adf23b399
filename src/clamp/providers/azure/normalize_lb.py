"""An Azure load balancer → the paths it opens from its frontends to NICs (pure, no SDK).

Input: a ``Microsoft.Network/loadBalancers`` object as ``load_balancers.list_all`` returns
it (azure-mgmt-network 33 ``LoadBalancer``, api-version 2026-03-01). Facets:

- ``frontends``: frontend IP configuration id → the public IP's id (None for a private
  frontend: an internal load balancer);
- ``paths``: one per inbound NAT rule with a backend NIC and per load-balancing rule and
  NIC of its backend pools: ``{"rule", "kind" ("inbound_nat_rule" | "load_balancing_rule"),
  "frontend", "protocol" ("tcp" | "udp" | "all"), "frontend_port", "backend_port", "nic"}``
  (ids lower-cased). Pool membership is read from the pools' ``backendIPConfigurations``
  (NIC IP configurations, which ARM fills in) and a NAT rule's ``backendIPConfiguration``;
  a backend port of 0 (HA ports, ``protocol: All``) means every port. Pools addressed by IP
  (``loadBalancerBackendAddresses``) are not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NAT, BALANCED = "inbound_nat_rule", "load_balancing_rule"


def _id(obj: Any) -> str | None:
    return str(obj["id"]).lower() if isinstance(obj, Mapping) and obj.get("id") else None


def _nic_of(ip_configuration: str) -> str:
    """The NIC of one of its IP configurations' ids."""
    return ip_configuration.split("/ipconfigurations/", 1)[0]


def load_balancer_facets(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The load balancer's ``frontends`` and ``paths`` (see the module)."""
    props = obj.get("properties") or {}
    frontends = {
        str(_id(f)): _id((f.get("properties") or {}).get("publicIPAddress"))
        for f in props.get("frontendIPConfigurations") or []
        if _id(f)
    }
    pools = {
        str(_id(p)): [
            _nic_of(str(i))
            for i in (
                _id(c) for c in (p.get("properties") or {}).get("backendIPConfigurations") or []
            )
            if i
        ]
        for p in props.get("backendAddressPools") or []
        if _id(p)
    }
    paths: list[dict[str, Any]] = []

    def add(rule: Mapping[str, Any], kind: str, nic: str) -> None:
        rp = rule.get("properties") or {}
        paths.append(
            {
                "rule": str(rule.get("name", "")),
                "kind": kind,
                "frontend": _id(rp.get("frontendIPConfiguration")),
                "protocol": str(rp.get("protocol", "")).lower(),
                "frontend_port": int(rp.get("frontendPort") or 0),
                "backend_port": int(rp.get("backendPort") or 0),
                "nic": nic,
            }
        )

    for rule in props.get("inboundNatRules") or []:
        backend = _id((rule.get("properties") or {}).get("backendIPConfiguration"))
        if backend:
            add(rule, NAT, _nic_of(backend))
    for rule in props.get("loadBalancingRules") or []:
        rp = rule.get("properties") or {}
        chosen = [_id(rp.get("backendAddressPool"))] + [
            _id(p) for p in rp.get("backendAddressPools") or []
        ]
        for pool in dict.fromkeys(p for p in chosen if p):
            for nic in pools.get(pool, []):
                add(rule, BALANCED, nic)
    return {"frontends": frontends, "paths": tuple(paths)}
