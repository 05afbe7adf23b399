"""What a Google Cloud scan needs granted, declared without importing any SDK, so that
``clamp permissions`` and the catalog start fast."""

from __future__ import annotations

POLICIES_SCOPE = "https://www.googleapis.com/auth/cloud-identity.policies.readonly"
POLICIES_LIST = "cloudidentity.policies.list (Admin role: Services > Security settings read)"

SCAN_PERMISSIONS = (
    "resourcemanager.projects.get",
    "resourcemanager.projects.getIamPolicy",
    "resourcemanager.organizations.get",
    "compute.firewalls.list",
    "compute.instances.list",
    "compute.networks.list",
    "compute.networks.getEffectiveFirewalls",
    "compute.networks.getRegionEffectiveFirewalls",
    "storage.buckets.list",
    "storage.buckets.get",
    "storage.buckets.getIamPolicy",
    "cloudsql.instances.list",
    "cloudasset.assets.listResource",
    "cloudasset.assets.listIamPolicy",
)
"""The IAM permissions ``discover_scopes`` and ``collect`` of a project need (what the
services name in their read calls; ``organizations.get`` finds the Cloud Identity
customer and only applies to an organization-level role; the two ``getEffectiveFirewalls``
read the hierarchical, global and regional firewall policies in force on each network;
``buckets.get`` re-reads one bucket (an event, a verification); the
two ``cloudasset`` ones list resources and IAM policies through Cloud Asset Inventory, granted
at the project, folder or organization scanned — without them a scan lists each API, which
the others cover)."""
DIRECTORY_SCAN_PERMISSIONS = (f"OAuth scope {POLICIES_SCOPE}", POLICIES_LIST)
"""What ``collect`` of ``customer:<id>`` needs outside IAM (Cloud Identity Policy API): the
Policy API's OAuth scope and a Workspace / Cloud Identity admin privilege (neither goes in
an IAM role)."""

EVENTS_SETUP_READS = (
    "pubsub.topics.get",
    "logging.sinks.get",
    "pubsub.topics.getIamPolicy",
    "pubsub.subscriptions.get",
)
"""The reads ``clamp events setup`` plans with (``event_sinks``)."""
EVENTS_SETUP_PERMISSIONS = (
    *EVENTS_SETUP_READS,
    "pubsub.topics.create",
    "logging.sinks.create",
    "pubsub.topics.setIamPolicy",
    "pubsub.subscriptions.create",
    "pubsub.topics.attachSubscription",
    "iam.serviceAccounts.actAs",
)
"""Everything ``clamp events setup`` needs on the project (``attachSubscription`` on the
topic for the subscription's create; ``actAs`` on the push service account)."""
EVENTS_SETUP_ROLES = (
    "roles/pubsub.admin",
    "roles/logging.configWriter",
    "roles/iam.serviceAccountUser (on the push service account)",
)
"""Predefined roles holding them: Pub/Sub Admin (topics, subscriptions, the topic's IAM),
Logs Configuration Writer (sinks), Service Account User (the OIDC token's account)."""
