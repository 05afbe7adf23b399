"""The Azure driver: collect, re-read and change network security rules via the SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential
from azure.mgmt.network.models import SecurityRule

from clamp.config import Settings
from clamp.errors import InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, Provider, Resource
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.interface import CloudDriver, ProgressCallback

RULE_TYPE = "Microsoft.Network/networkSecurityGroups/securityRules"
NSG = "Microsoft.Network/networkSecurityGroups"
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


def _raw(model: Any) -> dict[str, Any]:
    raw: dict[str, Any] = model.as_dict()
    return raw


class AzureDriver(CloudDriver):
    """Azure Resource Manager through azure-mgmt-network/-compute/-resource."""

    provider = Provider.AZURE

    def __init__(self, settings: Settings, credential: TokenCredential | None = None) -> None:
        self.clients = AzureClients(settings, credential)

    def discover_scopes(self) -> list[str]:
        """Enabled subscriptions the credential can see."""
        with translated("list subscriptions", "Microsoft.Resources/subscriptions/read"):
            return [
                s.subscription_id
                for s in self.clients.subscriptions.subscriptions.list()
                if s.subscription_id and s.state in (None, "Enabled")
            ]

    def collect(self, scope: str, progress: ProgressCallback | None = None) -> Iterable[Resource]:
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
                objects.extend(_raw(item) for item in lister())
        return resources_from_arm(objects, scope)

    def read(self, resource_id: str) -> Resource:
        """Re-read one network security group."""
        ref = ArmId.parse(resource_id)
        with translated(f"read {resource_id}", NSG_READ):
            nsg = self.clients.network(ref.subscription).network_security_groups.get(
                ref.group, ref.nsg
            )
        return resources_from_arm([_raw(nsg)], ref.subscription)[0]

    def current(self, change: Change) -> dict[str, object] | None:
        """The security rule as Azure has it now, or None."""
        self._check_type(change)
        ref = ArmId.parse(change.target)
        try:
            with translated(f"read {change.target}", RULE_READ):
                rule = self.clients.network(ref.subscription).security_rules.get(
                    ref.group, ref.nsg, ref.rule
                )
        except ResourceNotFound:
            return None
        return _raw(rule)

    def apply(self, change: Change) -> None:
        """PUT or DELETE one security rule, conditional on the etag it was planned from."""
        self._check_type(change)
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

    @staticmethod
    def _check_type(change: Change) -> None:
        if change.type != RULE_TYPE:
            raise InputError(f"the Azure driver cannot change {change.type} objects")


def _body(obj: Mapping[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in (obj.get("properties") or {}).items() if k != "provisioningState"}
    return {"properties": props}
