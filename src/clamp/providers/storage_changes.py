"""The storage plug-point: what the data protections need from a cloud about one storage
account or bucket.

The storage intents (``clamp.actions.protect_storage``, ``bundles``) say what they want in
Clamp's terms — versioning on, soft delete for N days, deletion made a deliberate step,
public access blocked, secure transport required, a retention policy locked — and a
``StorageChanges`` of the resource's cloud edits a ``Draft`` of its parts to match (ARM's
account, blob service and management locks vs the bucket and its IAM policy), says what
it did and what users may notice, and turns the draft into ``Change`` records. Every
method is pure: it reads the ``Resource`` as read just now, and never calls the cloud. One
implementation per cloud (``providers/azure/storage_changes.py``,
``providers/gcp/bucket_changes.py``); ``clamp.providers.factory.storage_changes(provider)``
returns the one for a provider.

Each protection turns itself on where it is off and leaves protections that are already
on exactly as they are; a bundle lets several protections edit the same draft, so each
cloud object is written once. ``changes`` lists one change per object that differs from
what was read, in an order that is safe to apply and to undo in reverse.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from clamp.model import Change, ChangeOp, Provider, Resource


@dataclass
class Draft:
    """The parts being edited, what each edit does in words, and what it may break."""

    resource: Resource
    parts: dict[str, Any]
    steps: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, resource: Resource) -> Draft:
        """A draft of a storage account or bucket, read just now."""
        return cls(resource, copy.deepcopy(dict(resource.raw)))

    def part(self, name: str) -> dict[str, Any]:
        """A part (``account``, ``blobService``, ``bucket``, ``iam``) to edit in place."""
        value: dict[str, Any] = self.parts[name]
        return value


class StorageChanges(ABC):
    """One cloud's data protections for a storage account or bucket, in Clamp's terms.
    Pure: no I/O.

    The protections raise ``PlanRefused`` or ``InputError`` (``clamp.errors``) where the
    cloud's objects or rules say so (a part not read, versioning with a retention policy
    on GCS, a soft-delete period the cloud does not allow)."""

    provider: ClassVar[Provider]
    noun: ClassVar[str]
    """What the cloud calls the resource, in messages: ``storage account``, ``bucket``."""

    @abstractmethod
    def edited(self, draft: Draft) -> Resource:
        """The resource as it will be once the draft is applied (facets recomputed)."""

    @abstractmethod
    def changes(self, draft: Draft) -> tuple[Change, ...]:
        """One change per object that differs from what was read, in the safe order."""

    @abstractmethod
    def enable_versioning(self, draft: Draft) -> None:
        """Keep the previous version of every overwritten or deleted object."""

    @abstractmethod
    def enable_soft_delete(self, draft: Draft, days: int) -> None:
        """Keep deleted data recoverable for ``days``."""

    @abstractmethod
    def protect_from_deletion(
        self, draft: Draft, finding: str, method: str | None, days: int | None
    ) -> None:
        """Make deleting a deliberate step. ``method`` (``retention`` or ``versioning``)
        and ``days`` (a retention period), where the cloud offers a choice; ``finding``:
        the finding's id, for a note on what Clamp adds."""

    @abstractmethod
    def block_public_access(self, draft: Draft) -> None:
        """Stop anonymous access."""

    @abstractmethod
    def require_secure_transport(self, draft: Draft) -> None:
        """HTTPS only, TLS 1.2 or later."""

    @abstractmethod
    def lock_retention(self, draft: Draft, days: int | None) -> None:
        """Set a retention policy of ``days`` if there is none, and lock it (irreversible)."""


def update(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    kind: str,
    api_call: str,
    target: str | None = None,
) -> tuple[Change, ...]:
    """The UPDATE of one part from ``before`` to ``after``, or nothing if they are equal
    (or the part was not read); its target is ``target`` or the part's own ``id``."""
    if before is None or after is None or before == after:
        return ()
    return (
        Change(
            ChangeOp.UPDATE,
            target or str(before.get("id", "")),
            kind,
            copy.deepcopy(dict(before)),
            copy.deepcopy(dict(after)),
            api_call,
        ),
    )
