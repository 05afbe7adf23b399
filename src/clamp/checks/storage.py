"""Storage data protection on Azure storage accounts and Cloud Storage buckets.

Each check raises one finding per account or bucket that lacks its protection; every
finding's ``details`` carries the whole protection table of that account or bucket
(``protections``: each protection ``on``/``off``/``unknown`` with what was seen), the
``problem`` in words and the ``classification`` it was ranked by. Protections are mapped
honestly per cloud (there is no "MFA Delete" on either):

- Azure: blob versioning, blob and container soft delete, a ``CanNotDelete`` (or
  ``ReadOnly``) management lock or immutable storage, no anonymous blob access, HTTPS only
  with TLS 1.2 or later.
- GCS: object versioning, soft-delete policy, retention policy (and its lock), public access
  prevention, uniform bucket-level access, no ``allUsers``/``allAuthenticatedUsers`` grants.
  Versioning and a retention policy exclude each other, so a bucket protected by a
  retention policy is not reported for missing versioning.

Severity follows the data: a ``data-classification`` tag (Azure) or label (GCS) of
``business-critical`` raises it two steps, ``sensitive``/``confidential``/``restricted``
one, ``public``/``scratch``/``test`` lowers it one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from clamp.checks.interface import CHECKS, Check, Inventory
from clamp.model import Finding, Resource, ResourceType, Severity

CLASSIFICATION_KEYS = ("data-classification", "data_classification", "classification")
CLASSIFICATION_STEPS = {
    "business-critical": 2,
    "business_critical": 2,
    "critical": 2,
    "sensitive": 1,
    "confidential": 1,
    "restricted": 1,
    "pii": 1,
    "public": -1,
    "scratch": -1,
    "test": -1,
    "non-sensitive": -1,
}
TLS_OK = ("TLS1_2", "TLS1_3")
WRITE_ROLES = ("admin", "writer", "owner", "creator", "editor")


def classification(resource: Resource) -> str:
    """The data classification the user marked on the account or bucket ('' if none)."""
    tags = {k.lower(): v for k, v in resource.tags.items()}
    return next((str(tags[k]).lower() for k in CLASSIFICATION_KEYS if tags.get(k)), "")


def ranked(base: Severity, resource: Resource, extra: int = 0) -> Severity:
    """``base`` moved by the resource's data classification (and ``extra`` steps)."""
    steps = CLASSIFICATION_STEPS.get(classification(resource), 0) + extra
    levels = list(Severity)
    return levels[max(Severity.LOW.rank, min(Severity.CRITICAL.rank, base.rank + steps))]


def _row(protection: str, on: bool | None, detail: str) -> dict[str, str]:
    status = "unknown" if on is None else "on" if on else "off"
    return {"protection": protection, "status": status, "detail": detail}


def _days(seconds_or_days: int | None, unit: int = 1) -> str:
    if seconds_or_days is None:
        return "not read"
    return f"{seconds_or_days // unit} days" if seconds_or_days else "off"


def protections(resource: Resource) -> list[dict[str, str]]:
    """The protection table of an account or bucket, as findings' ``details`` carry it."""
    f = resource.facets
    if resource.type == ResourceType.AZURE_STORAGE_ACCOUNT:
        locks, public = f["delete_locks"], f["public_containers"]
        return [
            _row(
                "blob versioning",
                f["versioning"],
                "" if f["versioning"] is not None else "not read",
            ),
            _row(
                "blob soft delete",
                None if f["blob_soft_delete_days"] is None else f["blob_soft_delete_days"] > 0,
                _days(f["blob_soft_delete_days"]),
            ),
            _row(
                "container soft delete",
                None
                if f["container_soft_delete_days"] is None
                else f["container_soft_delete_days"] > 0,
                _days(f["container_soft_delete_days"]),
            ),
            _row("delete lock", None if locks is None else bool(locks), ", ".join(locks or ())),
            _row("immutable storage", bool(f["immutability"]), ", ".join(f["immutability"])),
            _row(
                "anonymous access blocked",
                not f["allow_blob_public_access"],
                f"public containers: {', '.join(public)}" if public else "",
            ),
            _row("HTTPS only", f["https_only"], ""),
            _row("TLS 1.2 or later", f["min_tls"] in TLS_OK, f"minimum {f['min_tls']}"),
        ]
    bindings = f["public_bindings"]
    retention = f["retention_seconds"]
    return [
        _row("object versioning", f["versioning"], ""),
        _row(
            "soft delete",
            None if f["soft_delete_seconds"] is None else f["soft_delete_seconds"] > 0,
            _days(f["soft_delete_seconds"], 86400),
        ),
        _row(
            "retention policy",
            None if retention is None else retention > 0,
            (_days(retention, 86400) + (", locked" if f["retention_locked"] else ""))
            if retention
            else "",
        ),
        _row(
            "public access prevention",
            None
            if f["public_access_prevention"] is None
            else f["public_access_prevention"] == "enforced",
            str(f["public_access_prevention"] or "not read"),
        ),
        _row("uniform bucket-level access", f["uniform_access"], ""),
        _row(
            "no public grants",
            None if bindings is None else not bindings and not f["public_acls"],
            ", ".join(f"{m} has {r}" for r, m in (*(bindings or ()), *f["public_acls"])),
        ),
    ]


class StorageCheck(Check):
    """Shared shape: one finding per account or bucket whose ``problem`` is not None."""

    noun: ClassVar[Mapping[ResourceType, str]] = {
        ResourceType.AZURE_STORAGE_ACCOUNT: "storage account",
        ResourceType.GCS_BUCKET: "bucket",
    }

    def evaluate(self, inventory: Inventory) -> Iterator[Finding]:
        """Findings on every storage account and bucket of the inventory."""
        for kind in (ResourceType.AZURE_STORAGE_ACCOUNT, ResourceType.GCS_BUCKET):
            for resource in inventory.of_type(kind):
                found = self.problem(resource)
                if found is None:
                    continue
                problem, extra = found
                yield Finding(
                    check=self.id,
                    provider=resource.provider,
                    resource=resource.id,
                    scope=resource.scope,
                    severity=ranked(self.severity, resource, extra),
                    title=f"{self.noun[kind]} {resource.name}: {problem}",
                    details={
                        "problem": problem,
                        "classification": classification(resource) or "unmarked",
                        "protections": protections(resource),
                    },
                )

    def problem(self, resource: Resource) -> tuple[str, int] | None:
        """What is missing on ``resource`` and extra severity steps, or None if protected."""
        f = resource.facets
        if resource.type == ResourceType.AZURE_STORAGE_ACCOUNT:
            return self.azure(f)
        return self.gcs(f)

    def azure(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """The problem on an Azure storage account's facets."""
        raise NotImplementedError

    def gcs(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """The problem on a bucket's facets."""
        raise NotImplementedError


@CHECKS.register("storage-versioning-disabled")
class VersioningDisabled(StorageCheck):
    """Overwritten or deleted objects cannot be recovered from earlier versions."""

    id = "storage-versioning-disabled"
    title = "Versioning is off, so overwritten or deleted data cannot be recovered"
    severity = Severity.MEDIUM
    rationale = "Ransomware and mistakes overwrite data in place; versions keep what was there."

    def azure(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """Blob versioning off."""
        return ("blob versioning is off", 0) if f["versioning"] is False else None

    def gcs(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """Object versioning off and no retention policy (the two exclude each other)."""
        if f["versioning"] is False and not f["retention_seconds"]:
            return "object versioning is off", 0
        return None


@CHECKS.register("storage-soft-delete-disabled")
class SoftDeleteDisabled(StorageCheck):
    """Deleted data is gone at once instead of recoverable for a while."""

    id = "storage-soft-delete-disabled"
    title = "Soft delete is off, so deleted data is gone at once"
    severity = Severity.MEDIUM
    rationale = "Soft delete keeps deleted blobs, containers and objects recoverable for days."

    def azure(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """Blob or container soft delete off."""
        off = [
            what
            for what, days in (
                ("blob", f["blob_soft_delete_days"]),
                ("container", f["container_soft_delete_days"]),
            )
            if days == 0
        ]
        return (f"{' and '.join(off)} soft delete is off", 0) if off else None

    def gcs(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """No soft-delete retention."""
        return ("soft delete is off", 0) if f["soft_delete_seconds"] == 0 else None


@CHECKS.register("storage-delete-protection-missing")
class DeleteProtectionMissing(StorageCheck):
    """Anyone with write access can delete the account or bucket's data for good."""

    id = "storage-delete-protection-missing"
    title = "Nothing stops the account or bucket and its data from being deleted"
    severity = Severity.MEDIUM
    rationale = (
        "A delete lock, immutable storage or a retention policy makes deletion a deliberate, "
        "separate step; insiders and stolen credentials cannot wipe the data in one call."
    )

    def azure(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """No delete lock (own or inherited) and no immutable storage."""
        if f["delete_locks"] == () and not f["immutability"]:
            return "no CanNotDelete lock and no immutable storage", 0
        return None

    def gcs(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """No retention policy and versioning off."""
        if f["retention_seconds"] == 0 and f["versioning"] is False:
            return "no retention policy and object versioning is off", 0
        return None


@CHECKS.register("storage-public-access")
class PublicAccess(StorageCheck):
    """Data can be read (or written) by anyone on the internet."""

    id = "storage-public-access"
    title = "Anonymous or all-users access to stored data"
    severity = Severity.HIGH
    rationale = "Public buckets and containers are the most common source of data leaks."

    def azure(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """The account allows anonymous blob access; worse when a container uses it."""
        if not f["allow_blob_public_access"]:
            return None
        public = f["public_containers"]
        if public:
            return f"public containers: {', '.join(public)} (the account allows it)", 0
        return "the account allows anonymous blob access (no container uses it yet)", -1

    def gcs(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """Public access prevention not enforced and a public grant or public ACL."""
        if f["public_access_prevention"] == "enforced":
            return None
        grants = [f"{m} has {r}" for r, m in f["public_bindings"] or ()]
        acls = [] if f["uniform_access"] else [f"ACL {e}: {r}" for e, r in f["public_acls"]]
        if not grants and not acls:
            return None
        writable = any(
            word in role.lower()
            for role, _ in (*(f["public_bindings"] or ()), *((r, e) for e, r in f["public_acls"]))
            for word in WRITE_ROLES
        )
        return "; ".join([*grants, *acls]), 1 if writable else 0


@CHECKS.register("storage-insecure-transport")
class InsecureTransport(StorageCheck):
    """Data can travel over plain HTTP or old TLS."""

    id = "storage-insecure-transport"
    title = "Storage accepts plain HTTP or TLS older than 1.2"
    severity = Severity.MEDIUM
    rationale = "Plain HTTP and TLS 1.0/1.1 expose data and keys in transit."

    def azure(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """HTTPS-only off or minimum TLS below 1.2."""
        problems = [
            *([] if f["https_only"] else ["plain HTTP is allowed"]),
            *([] if f["min_tls"] in TLS_OK else [f"minimum TLS is {f['min_tls']}"]),
        ]
        return ("; ".join(problems), 0) if problems else None

    def gcs(self, f: Mapping[str, Any]) -> tuple[str, int] | None:
        """Cloud Storage serves HTTPS only, with TLS 1.2 or later: nothing to report."""
        return None
