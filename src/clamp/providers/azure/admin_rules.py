"""The Virtual Network Manager security admin rules in effect on each VNet, read through
azure-mgmt-network (``NetworkManagementClient.list_network_manager_effective_security_admin_rules``:
``POST …/virtualNetworks/{vnet}/listNetworkManagerEffectiveSecurityAdminRules``, paged by
``skipToken`` in the body). The answers go into one envelope per VNet,
``clamp#effectiveSecurityAdminRules`` (``normalize_admin``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import QueryRequestOptions

from clamp.providers.azure.base import resource_ref
from clamp.providers.azure.errors import translated
from clamp.providers.azure.normalize_admin import ENVELOPE

ADMIN_RULES_PERMISSION = (
    "Microsoft.Network/virtualNetworks/listNetworkManagerEffectiveSecurityAdminRules/action"
)
VNET_TYPE = "microsoft.network/virtualnetworks"
MAX_PAGES = 100
"""A bound on ``skipToken`` pages per VNet (a server that keeps answering one is wrong)."""


def effective_admin_rules(
    network: NetworkManagementClient, objects: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One envelope per VNet among ``objects`` with the admin rules in effect on it."""
    out: list[dict[str, Any]] = []
    for vnet in objects:
        if str(vnet.get("type", "")).lower() != VNET_TYPE or not vnet.get("id"):
            continue
        arm_id = str(vnet["id"])
        _, group, name = resource_ref(arm_id, "virtualNetworks")
        rules: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            with translated(f"list security admin rules of {arm_id}", ADMIN_RULES_PERMISSION):
                page = network.list_network_manager_effective_security_admin_rules(
                    group, name, QueryRequestOptions(skip_token=token)
                )
            rules.extend(rule.as_dict() for rule in page.value or [])
            token = page.skip_token
            if not token:
                break
        out.append({"type": ENVELOPE, "virtualNetwork": arm_id, "value": rules})
    return out
