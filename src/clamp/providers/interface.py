"""The cloud driver plug-point: one page tells how to add a cloud.

A driver builds SDK clients from the credentials users already have (or from the
sandbox's endpoints when ``Settings.sandbox_url`` is set — same code, endpoint and trust
changed), collects raw API objects into ``Resource`` records, re-reads one resource for
plan and verify, and applies ``Change`` records with the cloud's optimistic concurrency.
A bulk inventory API reads many scopes at once: ``collect_many`` (with ``batch_size`` and
``thread_safe`` saying how a scan may call it) and ``call_counts`` (what the calls cost).
SDK exceptions are translated into ``clamp.errors.CloudError`` subclasses here, once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence

from clamp.errors import CloudError
from clamp.model import Change, Provider, Resource
from clamp.providers.calls import Call, CallTable, call_of
from clamp.providers.limits import CallCounts

ProgressCallback = Callable[[str], None]
ScopeOutcome = tuple[str, list[Resource]] | tuple[str, CloudError]
"""One scope and its resources, or the error that kept it from being read."""


class CloudDriver(ABC):
    """One cloud. Instances are cheap; SDK clients are built lazily and cached."""

    provider: Provider
    calls: CallTable
    """Every write the driver makes, by change type and operation (``clamp.providers.calls``)."""

    @abstractmethod
    def discover_scopes(self) -> list[str]:
        """The subscriptions (Azure) or projects (GCP) the credentials can see."""

    @abstractmethod
    def collect(self, scope: str, progress: ProgressCallback | None = None) -> Iterable[Resource]:
        """Every resource Clamp evaluates in one subscription or project."""

    thread_safe: bool = False
    """Whether ``collect_many`` may run for several batches at once in threads (its SDK
    clients are safe to share; httplib2, under googleapiclient, is not)."""
    batch_size: int = 1
    """How many scopes ``collect_many`` reads together at best (a bulk inventory API's
    batch); a scan hands it batches of this size, several batches at once."""

    def collect_many(
        self, scopes: Sequence[str], progress: ProgressCallback | None = None
    ) -> Iterator[ScopeOutcome]:
        """Each scope of ``scopes`` (in order) with its resources, or the ``CloudError``
        that kept it from being read; by default ``collect`` one scope after another."""
        for scope in scopes:
            try:
                yield scope, list(self.collect(scope, progress))
            except CloudError as exc:
                yield scope, exc

    def call_counts(self) -> CallCounts | None:
        """The calls this driver made so far (made, retried, throttled), if it counts them."""
        return None

    @abstractmethod
    def read(self, resource_id: str) -> Resource:
        """Re-read one resource (an NSG, a firewall) from the cloud, for plan and verify."""

    def read_related(self, resource_id: str) -> list[Resource]:
        """The resource (first) and what its checks need besides it: a VM's role
        assignments and role definitions, an instance's project IAM policy."""
        return [self.read(resource_id)]

    def evaluated_resource(self, object_id: str) -> str | None:
        """The resource Clamp evaluates that holds the cloud object ``object_id`` (the
        object itself, an NSG for one of its rules), or None when Clamp evaluates nothing
        there: what a change event about ``object_id`` makes Clamp re-read."""
        return None

    @abstractmethod
    def apply(self, change: Change) -> None:
        """Make one change, refusing with ``ConflictError`` if the object is no longer
        ``change.before``: the condition the API declares (an etag, a fingerprint, a
        metageneration), else a re-read and compare just before the write (README:
        "Concurrency"). Waits for long-running operations to finish."""

    @abstractmethod
    def current(self, change: Change) -> dict[str, object] | None:
        """The object ``change`` targets as the cloud has it now (None if absent),
        in the same raw shape as ``change.before``/``change.after``."""

    def describe(self, change: Change) -> Call:
        """The SDK call that makes ``change`` and the permissions it needs."""
        return call_of(self.calls, change)

    def resource_of(self, change: Change) -> str | None:
        """The resource Clamp evaluates that holds the object ``change`` writes (an NSG for
        one of its rules, a firewall itself), or None when checks do not look at it."""
        return None
