"""Clamp's core records: small, typed, no I/O.

``Resource`` is what collectors produce (normalized facets plus the raw API object),
``Finding`` what checks produce, ``Plan``/``Change`` what intents produce, and
``ActionRecord`` what the action engine journals; ``Incident``, ``Run`` and ``Approval``
what incident response keeps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Any


class Provider(StrEnum):
    """The clouds Clamp drives."""

    AZURE = "azure"
    GCP = "gcp"


class Severity(StrEnum):
    """How bad a finding is; compare with ``rank``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical."""
        return list(Severity).index(self)


class FindingStatus(StrEnum):
    """A finding's lifecycle."""

    OPEN = "open"
    RESOLVED = "resolved"
    SUPPRESSED = "suppressed"


class ActionStatus(StrEnum):
    """An action's lifecycle, as ``clamp actions`` shows it."""

    PLANNED = "planned"
    APPLIED = "applied"
    VERIFIED = "verified"
    FAILED = "failed"
    UNDONE = "undone"


class Direction(StrEnum):
    """Traffic direction of a network rule."""

    INGRESS = "ingress"
    EGRESS = "egress"


class Access(StrEnum):
    """What a network rule does with matching traffic."""

    ALLOW = "allow"
    DENY = "deny"


class ResourceType(StrEnum):
    """The resource types Clamp collects, named as the clouds name them."""

    AZURE_NSG = "Microsoft.Network/networkSecurityGroups"
    AZURE_ADMIN_RULE = (
        "Microsoft.Network/networkManagers/securityAdminConfigurations/ruleCollections/rules"
    )
    AZURE_NIC = "Microsoft.Network/networkInterfaces"
    AZURE_VNET = "Microsoft.Network/virtualNetworks"
    AZURE_SUBNET = "Microsoft.Network/virtualNetworks/subnets"
    AZURE_PUBLIC_IP = "Microsoft.Network/publicIPAddresses"
    AZURE_LOAD_BALANCER = "Microsoft.Network/loadBalancers"
    AZURE_VM = "Microsoft.Compute/virtualMachines"
    AZURE_STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"
    AZURE_ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
    AZURE_ROLE_DEFINITION = "Microsoft.Authorization/roleDefinitions"
    AZURE_SQL_SERVER = "Microsoft.Sql/servers"
    AZURE_POSTGRES_SERVER = "Microsoft.DBforPostgreSQL/flexibleServers"
    AZURE_MYSQL_SERVER = "Microsoft.DBforMySQL/flexibleServers"
    ENTRA_TENANT = "graph.microsoft.com/organization"
    GCP_FIREWALL = "compute.googleapis.com/Firewall"
    GCP_INSTANCE = "compute.googleapis.com/Instance"
    GCP_NETWORK = "compute.googleapis.com/Network"
    GCS_BUCKET = "storage.googleapis.com/Bucket"
    GCP_PROJECT_POLICY = "cloudresourcemanager.googleapis.com/Project"
    GOOGLE_CUSTOMER = "cloudidentity.googleapis.com/Customer"
    CLOUD_SQL_INSTANCE = "sqladmin.googleapis.com/Instance"


ALL_PORTS_MAX = 65535


@dataclass(frozen=True, slots=True, order=True)
class PortRange:
    """An inclusive range of ports, ``lo`` to ``hi``."""

    lo: int
    hi: int

    def __post_init__(self) -> None:
        if not 0 <= self.lo <= self.hi <= ALL_PORTS_MAX:
            raise ValueError(f"invalid port range {self.lo}-{self.hi}")

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.lo <= port <= self.hi

    def __str__(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"


ALL_PORTS = (PortRange(0, ALL_PORTS_MAX),)


class Protocol(IntEnum):
    """Layer-4 protocols a rule can name; ``ANY`` covers all of them."""

    ANY = 0
    TCP = 6
    UDP = 17
    ICMP = 1
    SCTP = 132
    ESP = 50
    AH = 51
    OTHER = 255


@dataclass(frozen=True, slots=True)
class NetworkRule:
    """One network rule normalized across clouds (an NSG security rule or a VPC firewall).

    ``sources`` are kept as the cloud wrote them (``*``, ``Internet``, ``0.0.0.0/0``,
    ``10.0.0.0/8``, service tags); ``ports`` empty means all ports. Lower ``priority``
    numbers win on both clouds.
    """

    name: str
    priority: int
    direction: Direction
    access: Access
    protocols: frozenset[Protocol]
    sources: tuple[str, ...]
    ports: tuple[PortRange, ...] = ALL_PORTS
    enabled: bool = True
    default: bool = False
    network: str = ""
    target_tags: tuple[str, ...] = ()
    target_service_accounts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Resource:
    """A cloud resource as Clamp sees it: normalized facets plus the raw API object.

    ``id`` is the ARM id on Azure and the full resource name on GCP
    (``//compute.googleapis.com/projects/P/global/firewalls/F``); ``scope`` is the
    subscription id or project id. The keys of ``facets`` per type are documented in
    each provider's ``normalize`` module.
    """

    id: str
    provider: Provider
    type: ResourceType
    name: str
    scope: str
    facets: Mapping[str, Any]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    tags: Mapping[str, str] = field(default_factory=dict)


NO_TAGS: Mapping[str, str] = MappingProxyType({})
"""The tags of a resource that has none: one shared, read-only mapping (a million
resources need not hold a million empty dicts)."""


def tags_of(tags: Any) -> Mapping[str, str]:
    """A resource's tags (labels) from the cloud's mapping of them (``NO_TAGS`` for none)."""
    return dict(tags) if tags else NO_TAGS


def finding_id(check: str, resource_id: str) -> str:
    """The stable id of a check's finding on a resource (the same across scans)."""
    digest = hashlib.sha256(f"{check}\x00{resource_id.lower()}".encode()).hexdigest()
    return f"f-{digest[:16]}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One check failing on one resource. ``details`` is JSON-ready."""

    check: str
    provider: Provider
    resource: str
    scope: str
    severity: Severity
    title: str
    details: Mapping[str, Any]
    status: FindingStatus = FindingStatus.OPEN

    @property
    def id(self) -> str:
        """Stable across scans: derived from the check id and the resource id."""
        return finding_id(self.check, self.resource)


class ChangeOp(StrEnum):
    """What a change does to one cloud object."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class ChangeType(StrEnum):
    """The kinds of cloud object a ``Change`` writes, named once for the drivers that make
    them and the intents that plan them. An ARM or Google type where the object is one;
    ``<type>/<facet>`` where a change touches one facet of it (a VM's power state)."""

    AZURE_SECURITY_RULE = "Microsoft.Network/networkSecurityGroups/securityRules"
    AZURE_NSG = "Microsoft.Network/networkSecurityGroups"
    AZURE_ADMIN_RULE = (
        "Microsoft.Network/networkManagers/securityAdminConfigurations/ruleCollections/rules"
    )
    AZURE_NIC_ISOLATION = "Microsoft.Network/networkInterfaces/isolation"
    AZURE_VM_IDENTITY = "Microsoft.Compute/virtualMachines"
    AZURE_VM_POWER = "Microsoft.Compute/virtualMachines/powerState"
    AZURE_VM_TAGS = "Microsoft.Compute/virtualMachines/tags"
    AZURE_VM_LIFECYCLE = "Microsoft.Compute/virtualMachines/lifecycle"
    AZURE_ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
    AZURE_STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"
    AZURE_BLOB_SERVICE = "Microsoft.Storage/storageAccounts/blobServices"
    AZURE_LOCK = "Microsoft.Authorization/locks"
    AZURE_SNAPSHOT = "Microsoft.Compute/snapshots"
    AZURE_SQL_FIREWALL_RULE = "Microsoft.Sql/servers/firewallRules"
    AZURE_SQL_PUBLIC_ACCESS = "Microsoft.Sql/servers/publicNetworkAccess"
    AZURE_POSTGRES_FIREWALL_RULE = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"
    AZURE_POSTGRES_PUBLIC_ACCESS = "Microsoft.DBforPostgreSQL/flexibleServers/publicNetworkAccess"
    AZURE_MYSQL_FIREWALL_RULE = "Microsoft.DBforMySQL/flexibleServers/firewallRules"
    AZURE_MYSQL_PUBLIC_ACCESS = "Microsoft.DBforMySQL/flexibleServers/publicNetworkAccess"
    ENTRA_DOMAIN = "graph#domain"
    ENTRA_SETTING = "graph#groupSetting"
    GCP_FIREWALL = "compute.googleapis.com/Firewall"
    GCP_FIREWALL_POLICY_RULE = "compute#firewallPolicyRule"
    GCP_INSTANCE_STATUS = "compute#instance/status"
    GCP_INSTANCE_LABELS = "compute#instance/labels"
    GCP_INSTANCE_TAGS = "compute#instance/tags"
    GCP_INSTANCE_LIFECYCLE = "compute#instance/lifecycle"
    GCP_INSTANCE_ACCESS = "compute#instance/accessConfigs"
    GCP_INSTANCE_ACCOUNTS = "compute#instance/serviceAccounts"
    GCP_SNAPSHOT = "compute#snapshot"
    GCP_PROJECT_POLICY = "cloudresourcemanager#policy"
    GCS_BUCKET = "storage#bucket"
    GCS_BUCKET_POLICY = "storage#policy"
    CLOUD_SQL_IP_CONFIGURATION = "sql#instance/ipConfiguration"


@dataclass(frozen=True, slots=True)
class Change:
    """One write to one cloud object, with the object before and after (raw API shape).

    ``target`` is the object's cloud id (an NSG security rule's ARM id, a firewall's full
    name). ``before`` is None for a create, ``after`` None for a delete. ``api_call``
    names the SDK operation, e.g. ``SecurityRulesOperations.begin_create_or_update``.
    """

    op: ChangeOp
    target: str
    type: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    api_call: str

    def inverse(self) -> Change:
        """The change that undoes this one (create ↔ delete, update swaps the images)."""
        op = {ChangeOp.CREATE: ChangeOp.DELETE, ChangeOp.DELETE: ChangeOp.CREATE}.get(
            self.op, ChangeOp.UPDATE
        )
        return Change(op, self.target, self.type, self.after, self.before, self.api_call)


@dataclass(frozen=True, slots=True)
class Plan:
    """What an action will do, computed before anything changes; dry-run prints it.

    ``changes`` run in order; undo runs their inverses in reverse order. ``resolves``
    lists further findings the plan must make disappear (a bundle fixes several at once);
    ``irreversible`` marks a plan that can never be taken back (a locked retention policy),
    which needs an explicit extra confirmation and is never run by automation.
    ``alternatives`` names the check's other remediation intents (``clamp fix --intent``).
    ``accepts`` names the items of the finding (its ``details.not_met``) that may remain
    after the plan because they are manual steps the plan lists.
    """

    intent: str
    finding: str
    resource: str
    provider: Provider
    summary: str
    changes: tuple[Change, ...]
    reversible: bool
    blast_radius: str
    permissions: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    resolves: tuple[str, ...] = ()
    irreversible: bool = False
    alternatives: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ()

    @property
    def findings(self) -> tuple[str, ...]:
        """Every finding the plan must make disappear, its own first (none for containment,
        which is verified on the objects it changed)."""
        return tuple(f for f in dict.fromkeys((self.finding, *self.resolves)) if f)


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One journaled action: the plan, who asked for it and where it stands.

    ``applied`` holds the changes as the cloud realized them (``after`` re-read after each
    write, with its new etag); undo inverts those, so a drifted resource is detected.
    ``baseline`` maps each finding on the objects the plan touches, as read just before the
    first write, to its severity: verification fails (and rolls back) a change after which
    any other finding appears or gets worse.
    """

    id: str
    finding: str
    intent: str
    status: ActionStatus
    actor: str
    created: datetime
    plan: Plan
    reason: str = ""
    result: str = ""
    in_flight: bool = False
    undoes: str | None = None
    updated: datetime | None = None
    applied: tuple[Change, ...] = ()
    baseline: Mapping[str, str] = field(default_factory=dict)


class RunStatus(StrEnum):
    """Where a playbook run stands."""

    AWAITING_APPROVAL = "awaiting-approval"
    REJECTED = "rejected"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    """Every step verified (or already in the state it would bring)."""
    FAILED = "failed"
    """A step failed; the steps after a ``stop`` step did not run."""
    INTERRUPTED = "interrupted"
    """The process died mid-run; reconciled on restart (see each step)."""
    UNDONE = "undone"
    UNDO_FAILED = "undo-failed"


class StepStatus(StrEnum):
    """Where one step of a playbook run stands."""

    PENDING = "pending"
    RUNNING = "running"
    VERIFIED = "verified"
    SKIPPED = "skipped"
    """Nothing to do: the target already was as the step would leave it."""
    FAILED = "failed"
    NOT_RUN = "not-run"
    UNDONE = "undone"
    KEPT = "kept"
    """Not undone by design (evidence such as disk snapshots)."""


@dataclass(frozen=True, slots=True)
class Incident:
    """A security incident: what is affected and who opened and closed it."""

    id: str
    title: str
    resource: str
    opened_by: str
    created: datetime
    open: bool = True
    closed_by: str | None = None
    closed: datetime | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class RunStep:
    """One step of a playbook run: the intent, its parameters, and its outcome."""

    intent: str
    params: Mapping[str, Any] = field(default_factory=dict)
    on_failure: str = "stop"
    status: StepStatus = StepStatus.PENDING
    action: str | None = None
    result: str = ""
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Run:
    """One run of a playbook against a target, for an incident; journaled step by step.

    ``origin`` is the target as read when the run began (evidence, and what later steps
    plan from: see ``Intent.contain``); ``owner`` the process that runs it, so a run left
    ``running`` by a dead process is reconciled on restart."""

    id: str
    incident: str
    playbook: str
    target: str
    actor: str
    status: RunStatus
    created: datetime
    steps: tuple[RunStep, ...]
    updated: datetime | None = None
    approved_by: str | None = None
    origin: Mapping[str, Any] | None = None
    owner: str = ""
    result: str = ""
    irreversible_confirmed: bool = False


class Outcome(StrEnum):
    """What an automation rule did with one matched finding."""

    PLANNED = "planned"
    """A dry run's (or a ``notify`` rule's) plan, nothing applied."""
    APPLIED = "applied"
    QUEUED = "queued"
    """Waiting for approval (``approve`` mode)."""
    SKIPPED = "skipped"
    FAILED = "failed"


class ApprovalKind(StrEnum):
    """What an approval lets happen."""

    RUN = "run"
    """A playbook run (``subject``: the run id)."""
    PLAN = "plan"
    """A rule's exact plan (``subject``: the finding id; ``plan``: the plan)."""


class Decision(StrEnum):
    """Where an approval request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    """The resource changed since the plan: re-planned and asked again."""


@dataclass(frozen=True, slots=True)
class Approval:
    """A request waiting for a second person (four-eyes) to approve or reject it."""

    id: str
    subject: str
    """What is to be approved: a run id (``kind`` run) or a finding id (``kind`` plan)."""
    requester: str
    created: datetime
    summary: str
    decision: Decision = Decision.PENDING
    decided_by: str | None = None
    decided: datetime | None = None
    reason: str = ""
    kind: ApprovalKind = ApprovalKind.RUN
    plan: Mapping[str, Any] | None = None
    """For ``kind`` plan: the exact plan an approval applies (JSON)."""
    rule: str = ""
    authorized_by: str = ""
    """Who set the requester (a rule) going: the role check of the apply is theirs."""
