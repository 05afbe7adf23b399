"""Azure network and compute: list NSGs, NICs, VNets, public IPs, load balancers and VMs; change NSG
rules; create or delete a whole NSG and move a NIC to another NSG (quarantine)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from azure.mgmt.network.models import (
    NetworkInterface,
    NetworkSecurityGroup,
    PublicIPAddress,
    SecurityRule,
)

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.azure.admin_rules import effective_admin_rules
from clamp.providers.azure.base import resource_ref, same_read
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.interface import ProgressCallback

RULE_TYPE = ChangeType.AZURE_SECURITY_RULE
RULE_WRITE = "Microsoft.Network/networkSecurityGroups/securityRules/write"
RULE_DELETE = "Microsoft.Network/networkSecurityGroups/securityRules/delete"
RULE_READ = "Microsoft.Network/networkSecurityGroups/securityRules/read"
NSG_TYPE = ChangeType.AZURE_NSG
NSG_READ = "Microsoft.Network/networkSecurityGroups/read"
NIC_TYPE = ChangeType.AZURE_NIC_ISOLATION
"""A NIC's NSG and public IPs (what isolation changes on it)."""
NIC_READ = "Microsoft.Network/networkInterfaces/read"
VNET_READ = "Microsoft.Network/virtualNetworks/read"


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
        subscription, group, nsg = resource_ref(arm_id, "networkSecurityGroups", below=True)
        rest = arm_id.strip("/").split("/")[8:]
        if rest and (len(rest) != 2 or rest[0].lower() != "securityrules"):
            raise InputError(f"not a network security group or rule id: {arm_id}")
        return cls(subscription, group, nsg, rest[1] if rest else "")


def _on_vnet(nic: Mapping[str, Any], vnet_id: str) -> bool:
    """Whether one of a NIC's IP configurations is in a subnet of the VNet."""
    prefix = f"{vnet_id.lower()}/subnets/"
    configs = (nic.get("properties") or {}).get("ipConfigurations") or []
    return any(
        str(((c.get("properties") or {}).get("subnet") or {}).get("id", ""))
        .lower()
        .startswith(prefix)
        for c in configs
    )


def raw(model: Any) -> dict[str, Any]:
    """An SDK model as the ARM JSON it was read from."""
    data: dict[str, Any] = model.as_dict()
    return data


def arm_json(pipeline_response: Any, _deserialized: Any, _headers: Any) -> dict[str, Any]:
    """A ``cls=`` for an SDK get: the ARM JSON of the answer itself — what ``raw`` of the
    model gives (azure-mgmt-network's models keep the JSON they are built from and
    ``as_dict`` walks it back), without the walk: the event re-read's hot path."""
    data: dict[str, Any] = pipeline_response.http_response.json()
    return data


class NetworkService:
    """NSGs and their security rules, plus the NICs, VNets, IPs and VMs exposure needs."""

    change_types = frozenset({RULE_TYPE, NSG_TYPE, NIC_TYPE})

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """NSGs, NICs, VNets, public IPs and VMs (with power state) of a subscription, and
        the security admin rules in effect on each VNet."""
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
                "load balancers",
                "Microsoft.Network/loadBalancers/read",
                network.load_balancers.list_all,
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
        if progress:
            progress(f"azure {scope}: security admin rules")
        return objects + effective_admin_rules(network, objects)

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is an NSG or a VNet."""
        lower = resource_id.lower()
        return "/microsoft.network/networksecuritygroups/" in lower or (
            "/microsoft.network/virtualnetworks/" in lower and "/subnets/" not in lower
        )

    def read(self, resource_id: str) -> list[dict[str, Any]]:
        """One network security group, or one VNet with its security admin rules and the
        NICs on it (the VMs a finding on it reaches), as ARM returns them."""
        if "/microsoft.network/virtualnetworks/" in resource_id.lower():
            subscription, group, name = resource_ref(resource_id, "virtualNetworks")
            network = self.clients.network(subscription)
            with translated(f"read {resource_id}", VNET_READ):
                vnet = raw(network.virtual_networks.get(group, name))
            with translated(f"list NICs in subscription {subscription}", NIC_READ):
                nics = [raw(n) for n in network.network_interfaces.list_all()]
            on_vnet = [n for n in nics if _on_vnet(n, resource_id)]
            return [vnet, *effective_admin_rules(network, [vnet]), *on_vnet]
        ref = ArmId.parse(resource_id)
        with translated(f"read {resource_id}", NSG_READ):
            nsg: Any = self.clients.network(  # arm_json: the JSON, not the model
                ref.subscription
            ).network_security_groups.get(ref.group, ref.nsg, cls=arm_json)
        return [nsg]

    def current(self, change: Change) -> dict[str, Any] | None:
        """The security rule, NSG or NIC's NSG association as Azure has it now, or None."""
        if change.type == NIC_TYPE:
            return _nic_state(_nic(self.clients, change.target))
        ref = ArmId.parse(change.target)
        network = self.clients.network(ref.subscription)
        try:
            if change.type == NSG_TYPE:
                with translated(f"read {change.target}", NSG_READ):
                    return raw(network.network_security_groups.get(ref.group, ref.nsg))
            with translated(f"read {change.target}", RULE_READ):
                return raw(network.security_rules.get(ref.group, ref.nsg, ref.rule))
        except ResourceNotFound:
            return None

    def apply(self, change: Change) -> None:
        """Write one rule or NSG, or move a NIC to another NSG, only if the object is still
        as the plan read it (re-read and compared just before the write: ARM declares no
        ``If-Match`` on these operations, and an NSG's rules share its etag, so the etag the
        plan read is stale after any earlier write in the same NSG)."""
        if change.type == NIC_TYPE:
            self._associate(change)
        elif change.type == NSG_TYPE:
            self._write_nsg(change)
        else:
            self._write_rule(change)

    def _unchanged(self, change: Change) -> dict[str, Any] | None:
        """The object as Azure has it now; ``ConflictError`` (nothing written) if it is not
        what the plan read (absent, for a creation)."""
        now = self.current(change)
        if not same_read(change.before, now):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        return now

    def _write_rule(self, change: Change) -> None:
        ref = ArmId.parse(change.target)
        rules = self.clients.network(ref.subscription).security_rules
        now = self._unchanged(change)
        match change.op:
            case ChangeOp.CREATE | ChangeOp.UPDATE:
                body = SecurityRule(_body(change.after or {}))
                with translated(f"write {change.target}", RULE_WRITE):
                    rules.begin_create_or_update(
                        ref.group, ref.nsg, ref.rule, body, headers=_condition(now)
                    ).result()
            case ChangeOp.DELETE:
                if now is None:
                    return
                with translated(f"delete {change.target}", RULE_DELETE):
                    rules.begin_delete(
                        ref.group, ref.nsg, ref.rule, headers=_condition(now)
                    ).result()

    def _write_nsg(self, change: Change) -> None:
        ref = ArmId.parse(change.target)
        groups = self.clients.network(ref.subscription).network_security_groups
        if change.op not in (ChangeOp.CREATE, ChangeOp.DELETE):
            raise InputError("Clamp creates or deletes a quarantine NSG; it edits rules")
        now = self._unchanged(change)
        if change.op == ChangeOp.CREATE:
            after = change.after or {}
            body = NetworkSecurityGroup(
                {"location": after.get("location"), "tags": after.get("tags"), **_body(after)}
            )
            with translated(f"create {change.target}", f"{NSG_TYPE}/write"):
                groups.begin_create_or_update(
                    ref.group, ref.nsg, body, headers=_condition(now)
                ).result()
        elif now is not None:
            with translated(f"delete {change.target}", f"{NSG_TYPE}/delete"):
                groups.begin_delete(ref.group, ref.nsg, headers=_condition(now)).result()

    def _associate(self, change: Change) -> None:
        """Point a NIC at another NSG (or none) and attach or detach its public IPs, if it
        is still as the plan read it."""
        nic = _nic(self.clients, change.target)
        if not matches(change.before, _nic_state(nic)):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        after = change.after or {}
        if "networkSecurityGroup" in after:
            wanted = after["networkSecurityGroup"]
            nic.network_security_group = (
                NetworkSecurityGroup(id=str(wanted["id"])) if isinstance(wanted, Mapping) else None
            )
        ips = after.get("publicIPAddresses") or {}
        for config in nic.ip_configurations or []:
            if config.name in ips:
                ip = ips[config.name]
                config.public_ip_address = (
                    PublicIPAddress(id=str(ip["id"])) if isinstance(ip, Mapping) else None
                )
        subscription, group, name = nic_ref(change.target)
        with translated(f"write {change.target}", "Microsoft.Network/networkInterfaces/write"):
            self.clients.network(subscription).network_interfaces.begin_create_or_update(
                group, name, nic, headers={"If-Match": str(nic.etag or "*")}
            ).result()


def nic_ref(arm_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of a network interface id."""
    return resource_ref(arm_id, "networkInterfaces")


def _nic(clients: AzureClients, arm_id: str) -> NetworkInterface:
    """A NIC as the SDK reads it."""
    subscription, group, name = nic_ref(arm_id)
    with translated(f"read {arm_id}", NIC_READ):
        nic: NetworkInterface = clients.network(subscription).network_interfaces.get(group, name)
    return nic


def _ref(obj: Any) -> dict[str, str] | None:
    return {"id": str(obj.id)} if obj is not None and obj.id else None


def _nic_state(nic: NetworkInterface) -> dict[str, Any]:
    """What isolation changes on a NIC: its NSG and each IP configuration's public IP."""
    return {
        "networkSecurityGroup": _ref(nic.network_security_group),
        "publicIPAddresses": {
            str(c.name): _ref(c.public_ip_address) for c in nic.ip_configurations or []
        },
    }


def _condition(now: Mapping[str, Any] | None) -> dict[str, str]:
    """The etag just read, as ``If-Match`` (``If-None-Match: *`` for a creation): ignored
    by ARM on these operations (the spec declares neither), but honoured by anything that
    does; the protection Clamp relies on is the re-read before it (``_unchanged``)."""
    if now is None:
        return {"If-None-Match": "*"}
    return {"If-Match": str(now.get("etag") or "*")}


def _body(obj: Mapping[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in (obj.get("properties") or {}).items() if k != "provisioningState"}
    return {"properties": props}
