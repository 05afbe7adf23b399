"""What an Azure scan needs granted, declared without importing any SDK, so that
``clamp permissions`` and the catalog start fast."""

from __future__ import annotations

GRAPH_READ_PERMISSIONS = ("Domain.Read.All", "Directory.Read.All", "Policy.Read.All")
"""Microsoft Graph application permissions reading the tenant's settings needs (admin consent)."""

SCAN_PERMISSIONS = (
    "Microsoft.Resources/subscriptions/read",
    # Azure Resource Graph's queries (``resource_graph``); without it, each type is listed
    "Microsoft.ResourceGraph/resources/read",
    "Microsoft.Network/networkSecurityGroups/read",
    "Microsoft.Network/networkInterfaces/read",
    "Microsoft.Network/publicIPAddresses/read",
    "Microsoft.Network/loadBalancers/read",
    "Microsoft.Network/virtualNetworks/read",
    # Virtual Network Manager security admin rules in effect on each VNet (``admin_rules``)
    "Microsoft.Network/virtualNetworks/listNetworkManagerEffectiveSecurityAdminRules/action",
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Storage/storageAccounts/blobServices/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
    "Microsoft.Authorization/locks/read",
    "Microsoft.Authorization/roleAssignments/read",
    "Microsoft.Authorization/roleDefinitions/read",
    # The database engines' reads (``databases.ENGINES``: each server, its firewall rules
    # and, on flexible servers, the configurations holding require_secure_transport).
    "Microsoft.Sql/servers/read",
    "Microsoft.Sql/servers/firewallRules/read",
    "Microsoft.DBforPostgreSQL/flexibleServers/read",
    "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/read",
    "Microsoft.DBforPostgreSQL/flexibleServers/configurations/read",
    "Microsoft.DBforMySQL/flexibleServers/read",
    "Microsoft.DBforMySQL/flexibleServers/firewallRules/read",
    "Microsoft.DBforMySQL/flexibleServers/configurations/read",
)
"""The ARM actions ``discover_scopes`` and ``collect`` of a subscription need (what the
services name in their read calls)."""
DIRECTORY_SCAN_PERMISSIONS = GRAPH_READ_PERMISSIONS
"""The Microsoft Graph application permissions ``collect`` of ``tenant:<id>`` needs."""

EVENTS_SETUP_READS = (
    "Microsoft.EventGrid/systemTopics/read",
    "Microsoft.EventGrid/systemTopics/eventSubscriptions/read",
)
"""The reads ``clamp events setup`` plans with (``event_subscriptions``)."""
EVENTS_SETUP_PERMISSIONS = (
    *EVENTS_SETUP_READS,
    "Microsoft.EventGrid/systemTopics/write",
    "Microsoft.EventGrid/systemTopics/eventSubscriptions/write",
)
"""Everything ``clamp events setup`` needs on the Azure subscription."""
EVENTS_SETUP_ROLES = ("EventGrid Contributor",)
"""The built-in role that holds them (EventGrid EventSubscription Contributor alone cannot
create the system topic: Event Grid's "Authorizing access to Event Grid resources")."""
