"""Microsoft Defender for Cloud assessments (azure-mgmt-security, ``assessments`` at
api-version 2021-06-01): the unhealthy ones of a subscription, as ``ExternalFinding``s
for ``clamp import defender``.

``SecurityCenter.assessments.list(scope="/subscriptions/S")`` returns every assessment
of every resource below the subscription: ``name`` (the assessment key, a GUID),
``displayName``, ``status.code`` (``Healthy``, ``Unhealthy``, ``NotApplicable``) and
``resourceDetails`` (``source`` ``Azure``: the assessed resource's ARM ``id``). Only
``Unhealthy`` ones are findings. The list carries no severity (that is in the assessment
metadata), so a mapped finding takes its Clamp check's. Needs
``Microsoft.Security/assessments/read`` (role Security Reader).

A VM's assessment (the management-ports recommendation) maps to the network security
groups that guard the VM: ``vm_network_security_groups`` reads the VM, its network
interfaces and their subnets and names the NSG of each interface and each subnet.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.security import SecurityCenter

from clamp.config import Settings
from clamp.errors import InputError
from clamp.imports.interface import ExternalFinding, Source
from clamp.model import Provider
from clamp.providers.azure.base import resource_ref
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.azure.identity import VM_READ, vm_ref
from clamp.providers.azure.network import NIC_READ, nic_ref

ASSESSMENTS_READ = "Microsoft.Security/assessments/read"
SUBNET_READ = "Microsoft.Network/virtualNetworks/subnets/read"


def unhealthy_assessments(
    settings: Settings, subscription: str
) -> tuple[list[ExternalFinding], int]:
    """The unhealthy assessments of ``subscription``, and how many others it has."""
    if not subscription or "/" in subscription:
        raise InputError(f"not a subscription id: {subscription!r}")
    clients = AzureClients(settings)
    client = SecurityCenter(clients.credential, subscription, **clients.paced_options())
    scope = f"/subscriptions/{subscription}"
    with translated(f"list the Defender for Cloud assessments of {scope}", ASSESSMENTS_READ):
        assessments = list(client.assessments.list(scope=scope))
    unhealthy = [a for a in assessments if _code(a) == "unhealthy"]
    return [_external(a, subscription) for a in unhealthy], len(assessments) - len(unhealthy)


def _code(assessment: Any) -> str:
    status = assessment.status
    return str(status.code if status is not None else "").lower()


def _external(assessment: Any, subscription: str) -> ExternalFinding:
    details = assessment.resource_details
    resource = str(getattr(details, "id", "") or "")
    return ExternalFinding(
        source=Source.DEFENDER,
        uid=str(assessment.id),
        rule=str(assessment.name),
        provider=Provider.AZURE,
        scope=subscription,
        resource=resource,
        name=resource.rsplit("/", 1)[-1],
        title=str(assessment.display_name or ""),
        extra={
            "resource_source": str(getattr(details, "source", "") or ""),
            "cause": str(assessment.status.cause or ""),
            "description": str(assessment.status.description or ""),
        },
    )


def vm_network_security_groups(settings: Settings, vm_id: str) -> list[str]:
    """The ids of the NSGs on the VM's network interfaces and on their subnets."""
    clients = AzureClients(settings)
    subscription, group, name = vm_ref(vm_id)
    with translated(f"read {vm_id}", VM_READ):
        vm = clients.compute(subscription).virtual_machines.get(group, name)
    found: set[str] = set()
    profile = vm.network_profile
    for ref in (profile.network_interfaces if profile else None) or []:
        nic_sub, nic_group, nic_name = nic_ref(str(ref.id))
        with translated(f"read {ref.id}", NIC_READ):
            nic = clients.network(nic_sub).network_interfaces.get(nic_group, nic_name)
        if nic.network_security_group is not None:
            found.add(str(nic.network_security_group.id))
        for config in nic.ip_configurations or []:
            if config.subnet is not None and config.subnet.id:
                found.update(_subnet_nsg(clients, str(config.subnet.id)))
    return sorted(found)


def _subnet_nsg(clients: AzureClients, subnet_id: str) -> list[str]:
    subscription, group, vnet = resource_ref(subnet_id, "virtualNetworks", below=True)
    subnet_name = subnet_id.rstrip("/").rsplit("/", 1)[-1]
    with translated(f"read {subnet_id}", SUBNET_READ):
        subnet = clients.network(subscription).subnets.get(group, vnet, subnet_name)
    nsg = subnet.network_security_group
    return [str(nsg.id)] if nsg is not None and nsg.id else []
