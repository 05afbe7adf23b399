"""The check plug-point: a check reads normalized facets and yields findings. No I/O.

To add a check: subclass ``Check``, fill its class attributes (id, title, severity,
rationale), map it to compliance controls in ``clamp/compliance/*.yaml``, implement ``evaluate``
over an ``Inventory``, and register it with ``@CHECKS.register(id)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cached_property
from sys import intern
from typing import ClassVar

from clamp.config import Settings
from clamp.exposure import gcp_network_key
from clamp.model import Finding, Resource, ResourceType, Severity
from clamp.registry import Registry


def id_key(resource_id: str) -> str:
    """A resource id lower-cased, as the inventory's indexes key it: the id itself when it
    is lower-case already (Google's), else one interned copy (ARM's), so the indexes of a
    million resources share their keys."""
    return resource_id if resource_id.islower() else intern(resource_id.lower())


class Inventory:
    """Resources indexed by type and by (lower-cased) id, with the links checks follow.

    The link indexes are built on first use and shared by every check of one evaluation.
    """

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.by_type: dict[ResourceType, list[Resource]] = defaultdict(list)
        self.by_id: dict[str, Resource] = {}
        for resource in resources:
            self.by_type[resource.type].append(resource)
            self.by_id[id_key(resource.id)] = resource

    def of_type(self, kind: ResourceType) -> list[Resource]:
        """Every resource of one type."""
        return self.by_type.get(kind, [])

    def get(self, resource_id: str | None) -> Resource | None:
        """A resource by id (case-insensitive), or None."""
        return self.by_id.get(resource_id.lower()) if resource_id else None

    @cached_property
    def _nsg_of(self) -> dict[str, str]:
        """Lower-cased NIC and subnet ids → the id of the NSG associated with them.

        Read from both sides of the association (the NIC's or subnet's ``nsg`` facet and
        the NSG's ``network_interfaces``/``subnets``), so NSG and NIC exports are enough
        without the VNets."""
        index: dict[str, str] = {}
        for nsg in self.of_type(ResourceType.AZURE_NSG):
            key = id_key(nsg.id)
            for linked in (
                *nsg.facets.get("subnets", ()),
                *nsg.facets.get("network_interfaces", ()),
            ):
                index[id_key(linked)] = key
        for kind in (ResourceType.AZURE_SUBNET, ResourceType.AZURE_NIC):
            for resource in self.of_type(kind):
                if resource.facets.get("nsg"):
                    index[id_key(resource.id)] = id_key(str(resource.facets["nsg"]))
        return index

    def nsgs_guarding(self, nic: Resource) -> list[str]:
        """Lower-cased ids of the NSGs a NIC's inbound traffic passes: its subnets', its own."""
        links = (*nic.facets.get("subnets", ()), nic.id)
        gates = (self._nsg_of.get(link.lower()) for link in links)
        return list(dict.fromkeys(g for g in gates if g))

    @cached_property
    def _nics_by_nsg(self) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = defaultdict(list)
        for nic in self.of_type(ResourceType.AZURE_NIC):
            for gate in self.nsgs_guarding(nic):
                index[gate].append(nic)
        return index

    def nics_behind(self, nsg_id: str) -> list[Resource]:
        """NICs associated with the NSG directly or through one of their subnets."""
        return self._nics_by_nsg.get(nsg_id.lower(), [])

    @cached_property
    def _instances_by_network(self) -> dict[str, dict[str, list[Resource]]]:
        """Network key → {"": every instance, "tag:T": tagged T, "sa:E": running as E}.

        Each list holds the instances with an external IP first, then by id: the order
        does not depend on the order the cloud listed them in (it differs between
        processes), so findings are the same wherever they are evaluated."""
        index: dict[str, dict[str, list[Resource]]] = defaultdict(lambda: defaultdict(list))
        instances = sorted(
            self.of_type(ResourceType.GCP_INSTANCE),
            key=lambda i: (not i.facets["external_ip"], i.id),
        )
        for instance in instances:
            keys = {gcp_network_key(n, instance.scope) for n in instance.facets["networks"]}
            labels = [
                "",
                *(f"tag:{t}" for t in set(instance.facets["tags"])),
                *(f"sa:{a}" for a in set(instance.facets["service_accounts"])),
            ]
            for key in keys:
                for label in labels:
                    index[key][label].append(instance)
        return index

    def instances_on(
        self,
        network: str,
        project: str = "",
        *,
        tags: Iterable[str] = (),
        service_accounts: Iterable[str] = (),
    ) -> Sequence[Resource]:
        """GCP instances on a network (any form of its URL; Shared VPC too) that a rule with
        these target tags / target service accounts applies to (no targets: all of them).

        Instances with an external IP come first. Do not mutate the result."""
        on_network = self._instances_by_network.get(gcp_network_key(network, project), {})
        tags, service_accounts = set(tags), set(service_accounts)
        if not tags and not service_accounts:
            return on_network.get("", [])
        if len(tags) == 1 and not service_accounts:
            return on_network.get(f"tag:{next(iter(tags))}", [])
        found: dict[str, Resource] = {}
        for tag in sorted(tags):
            found.update((i.id, i) for i in on_network.get(f"tag:{tag}", ()))
        if service_accounts:
            by_account: dict[str, Resource] = {}
            for account in sorted(service_accounts):
                by_account.update((i.id, i) for i in on_network.get(f"sa:{account}", ()))
            found = {k: v for k, v in found.items() if k in by_account} if tags else by_account
        return sorted(found.values(), key=lambda i: (not i.facets["external_ip"], i.id))


class Check(ABC):
    """One detection rule: declares what it is, evaluates an inventory.

    What fixes a check is declared by the intents (``Intent.fixes``), never here:
    ``clamp.actions.interface.remediations`` lists them. Which compliance controls it
    assesses is data: ``clamp/compliance/*.yaml``."""

    id: ClassVar[str]
    title: ClassVar[str]
    severity: ClassVar[Severity]
    rationale: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    def evaluate(self, inventory: Inventory) -> Iterable[Finding]:
        """The findings of this check on the inventory."""


CHECKS: Registry[type[Check]] = Registry("check")
