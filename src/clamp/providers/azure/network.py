"""Azure network and compute: list NSGs, NICs, VNets, public IPs and VMs; change NSG rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from azure.mgmt.network.models import SecurityRule

from clamp.errors import InputError, ResourceNotFound
from clamp.model import Change, ChangeOp
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.interface import ProgressCallback

RULE_TYPE = "Microsoft.Network/networkSecurityGroups/securityRules"
RULE_WRITE = "Microsoft.Network/networkSecurityGroups/securityRules/write"
RULE_DELETE = "Microsoft.Network/networkSecurityGroups/securityRules/delete"
RULE_READ = "Microsoft.Network/networkSecurityGroups/securityRules/read"
NSG_READ = "Microsoft.Network/networkSecurityGroups/read"


@dataclass(frozen=True)
class ArmId:
    """The parts of an NSG or security-rule ARM id Clamp needs."""

    subscription: str
    group: str
    nsg: str
    rule: str = ""

    @classmethod
    def parse(cls, arm_id: str) -> ArmId:
        """Parse ``/subscriptions/S/resourceGroups/G/providers/Microsoft.Network/
        networkSecurityGroups/N[/securityRules/R]``."""
        parts = arm_id.strip("/").split("/")
        lower = [p.lower() for p in parts]
        if (
            len(parts) not in (8, 10)
            or lower[0] != "subscriptions"
            or lower[2] != "resourcegroups"
            or lower[6] != "networksecuritygroups"
        ):
            raise InputError(f"not a network security group or rule id: {arm_id}")
        return cls(parts[1], parts[3], parts[7], parts[9] if len(parts) == 10 else "")


def raw(model: Any) -> dict[str, Any]:
    """An SDK model as the ARM JSON it was read from."""
    data: dict[str, Any] = model.as_dict()
    return data


class NetworkService:
    """NSGs and their security rules, plus the NICs, VNets, IPs and VMs exposure needs."""

    change_types = frozenset({RULE_TYPE})

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """NSGs, NICs, VNets, public IPs and VMs (with power state) of a subscription."""
        network, compute = self.clients.network(scope), self.clients.compute(scope)
        listings: list[tuple[str, str, Callable[[], Iterable[Any]]]] = [
            ("NSGs", NSG_READ, network.network_security_groups.list_all),
            (
                "NICs",
                "Microsoft.Network/networkInterfaces/read",
                network.network_interfaces.list_all,
            ),
            ("VNets", "Microsoft.Network/virtualNetworks/read", network.virtual_networks.list_all),
            (
                "public IPs",
                "Microsoft.Network/publicIPAddresses/read",
                network.public_ip_addresses.list_all,
            ),
            (
                "VMs",
                "Microsoft.Compute/virtualMachines/read",
                lambda: compute.virtual_machines.list_all(status_only="true"),
            ),
        ]
        objects: list[dict[str, Any]] = []
        for label, permission, lister in listings:
            if progress:
                progress(f"azure {scope}: {label}")
            with translated(f"list {label} in subscription {scope}", permission):
                objects.extend(raw(item) for item in lister())
        return objects

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is an NSG."""
        return "/microsoft.network/networksecuritygroups/" in resource_id.lower()

    def read(self, resource_id: str) -> list[dict[str, Any]]:
        """One network security group, as ARM returns it."""
        ref = ArmId.parse(resource_id)
        with translated(f"read {resource_id}", NSG_READ):
            nsg = self.clients.network(ref.subscription).network_security_groups.get(
                ref.group, ref.nsg
            )
        return [raw(nsg)]

    def current(self, change: Change) -> dict[str, Any] | None:
        """The security rule as Azure has it now, or None."""
        ref = ArmId.parse(change.target)
        try:
            with translated(f"read {change.target}", RULE_READ):
                rule = self.clients.network(ref.subscription).security_rules.get(
                    ref.group, ref.nsg, ref.rule
                )
        except ResourceNotFound:
            return None
        return raw(rule)

    def apply(self, change: Change) -> None:
        """PUT or DELETE one security rule, conditional on the etag it was planned from."""
        ref = ArmId.parse(change.target)
        rules = self.clients.network(ref.subscription).security_rules
        match change.op:
            case ChangeOp.CREATE | ChangeOp.UPDATE:
                headers = (
                    {"If-None-Match": "*"}
                    if change.op == ChangeOp.CREATE
                    else {"If-Match": str((change.before or {}).get("etag", "*"))}
                )
                body = SecurityRule(_body(change.after or {}))
                with translated(f"write {change.target}", RULE_WRITE):
                    rules.begin_create_or_update(
                        ref.group, ref.nsg, ref.rule, body, headers=headers
                    ).result()
            case ChangeOp.DELETE:
                headers = {"If-Match": str((change.before or {}).get("etag", "*"))}
                with translated(f"delete {change.target}", RULE_DELETE):
                    rules.begin_delete(ref.group, ref.nsg, ref.rule, headers=headers).result()


def _body(obj: Mapping[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in (obj.get("properties") or {}).items() if k != "provisioningState"}
    return {"properties": props}
