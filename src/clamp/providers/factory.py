"""Build the driver for a provider from the settings (sandbox or real cloud, same code),
and find the provider's change plug-points: containment, identity, storage, ingress,
policy layers, database and password (pure, no SDK)."""

from __future__ import annotations

from collections.abc import Callable

from clamp.config import Settings
from clamp.model import Provider
from clamp.providers.azure.admin_rule_changes import AzureAdminRuleChanges
from clamp.providers.azure.database_changes import AzureDatabaseChanges
from clamp.providers.azure.entra_password import EntraPasswordChanges
from clamp.providers.azure.identity_changes import AzureIdentityChanges
from clamp.providers.azure.nsg_changes import AzureNsgChanges
from clamp.providers.azure.storage_changes import AzureStorageChanges
from clamp.providers.azure.vm_changes import AzureVmChanges
from clamp.providers.containment import VmChanges
from clamp.providers.database_changes import DatabaseChanges
from clamp.providers.gcp.bucket_changes import GcsBucketChanges
from clamp.providers.gcp.customer_password import GoogleCustomerPasswordChanges
from clamp.providers.gcp.database_changes import CloudSqlChanges
from clamp.providers.gcp.firewall_changes import GceFirewallChanges
from clamp.providers.gcp.identity_changes import GceIdentityChanges
from clamp.providers.gcp.instance_changes import GceInstanceChanges
from clamp.providers.gcp.policy_rule_changes import GcpPolicyRuleChanges
from clamp.providers.identity_changes import IdentityChanges
from clamp.providers.ingress import IngressChanges
from clamp.providers.interface import CloudDriver
from clamp.providers.layer_changes import LayerChanges
from clamp.providers.limits import CallBudget
from clamp.providers.password import PasswordChanges
from clamp.providers.storage_changes import StorageChanges

VM_CHANGES: dict[Provider, VmChanges] = {
    Provider.AZURE: AzureVmChanges(),
    Provider.GCP: GceInstanceChanges(),
}
IDENTITY_CHANGES: dict[Provider, IdentityChanges] = {
    Provider.AZURE: AzureIdentityChanges(),
    Provider.GCP: GceIdentityChanges(),
}
STORAGE_CHANGES: dict[Provider, StorageChanges] = {
    Provider.AZURE: AzureStorageChanges(),
    Provider.GCP: GcsBucketChanges(),
}

INGRESS_CHANGES: dict[Provider, IngressChanges] = {
    Provider.AZURE: AzureNsgChanges(),
    Provider.GCP: GceFirewallChanges(),
}
LAYER_CHANGES: dict[Provider, LayerChanges] = {
    Provider.AZURE: AzureAdminRuleChanges(),
    Provider.GCP: GcpPolicyRuleChanges(),
}
DATABASE_CHANGES: dict[Provider, DatabaseChanges] = {
    Provider.AZURE: AzureDatabaseChanges(),
    Provider.GCP: CloudSqlChanges(),
}
PASSWORD_CHANGES: dict[Provider, PasswordChanges] = {
    Provider.AZURE: EntraPasswordChanges(),
    Provider.GCP: GoogleCustomerPasswordChanges(),
}


def driver_factory(
    settings: Settings, budget: CallBudget | None = None
) -> Callable[[Provider], CloudDriver]:
    """A function returning one cached driver per provider; SDKs load on first use.
    ``budget`` paces both drivers' calls (default: in-process token buckets for Azure, no
    pacing for Google; workers pass one shared across processes, ``clamp.workers.budget``)."""
    cache: dict[Provider, CloudDriver] = {}

    def get(provider: Provider) -> CloudDriver:
        if provider not in cache:
            match provider:
                case Provider.AZURE:
                    from clamp.providers.azure.driver import AzureDriver

                    cache[provider] = AzureDriver(settings, budget=budget)
                case Provider.GCP:
                    from clamp.providers.gcp.driver import GcpDriver

                    cache[provider] = GcpDriver(settings, budget=budget)
        return cache[provider]

    return get


def vm_changes(provider: Provider) -> VmChanges:
    """What containment needs from ``provider`` about a VM (``clamp.providers.containment``)."""
    return VM_CHANGES[provider]


def identity_changes(provider: Provider) -> IdentityChanges:
    """What the identity intents need from ``provider`` about a VM's identity
    (``clamp.providers.identity_changes``)."""
    return IDENTITY_CHANGES[provider]


def storage_changes(provider: Provider) -> StorageChanges:
    """What the storage intents need from ``provider`` about a storage account or bucket
    (``clamp.providers.storage_changes``)."""
    return STORAGE_CHANGES[provider]


def ingress_changes(provider: Provider) -> IngressChanges:
    """What ``restrict_ingress`` needs from ``provider`` (``clamp.providers.ingress``)."""
    return INGRESS_CHANGES[provider]


def layer_changes(provider: Provider) -> LayerChanges | None:
    """What ``restrict_ingress`` needs from ``provider`` to fix a policy layer's rule
    (``clamp.providers.layer_changes``); None where Clamp changes no policy layer."""
    return LAYER_CHANGES.get(provider)


def password_changes(provider: Provider) -> PasswordChanges:
    """What ``apply_password_policy`` needs from ``provider`` (``clamp.providers.password``)."""
    return PASSWORD_CHANGES[provider]


def database_changes(provider: Provider) -> DatabaseChanges:
    """What ``restrict_database_access`` needs from ``provider``
    (``clamp.providers.database_changes``)."""
    return DATABASE_CHANGES[provider]
