"""Reading flow-log blobs from a storage account through ``azure-storage-blob``: list the
flow-log containers, a blob's committed block list, and ranged reads of the blocks not
read yet, guarded by the etag the block list came with (``If-Match``).

Where Network Watcher writes: the containers ``insights-logs-flowlogflowevent`` (VNet flow
logs) and ``insights-logs-networksecuritygroupflowevent`` (NSG flow logs), one
``PT1H.json`` per target and hour; the path inside differs between the two documents
(``flowLogResourceID=/…/macAddress=…/PT1H.json`` for VNet flow logs, ``resourceId=/…/
y=…/m=…/d=…/h=…/m=00/macAddress=…/PT1H.json`` for NSG flow logs), so blobs are found by
listing, not by building paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ClientAuthenticationError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ExponentialRetry

from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import Api, translated
from clamp.providers.azure.flowlogs import CONTAINERS

STORAGE = Api("Azure Storage", "assign Storage Blob Data Reader on the account (see README)")
READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
FLOW_LOG_BLOB = "PT1H.json"


@dataclass(frozen=True, slots=True)
class ListedBlob:
    """A flow-log blob as listing shows it."""

    container: str
    name: str
    etag: str


@dataclass(frozen=True, slots=True)
class BlockList:
    """A blob's committed blocks (id, size) in order, with the etag they belong to."""

    etag: str
    blocks: tuple[tuple[str, int], ...]


class FlowLogRetry(ExponentialRetry):
    """azure-storage-blob's exponential retry, short, and not retrying a failed sign-in.

    azure-core's ``RetryPolicy`` re-raises ``ClientAuthenticationError`` at once (the
    credential already retried its own requests; the blob request can never be sent), but
    azure-storage-blob's ``StorageRetryPolicy`` retries every ``AzureError``, so a machine
    without Azure credentials waited out every backoff (3 s, 5 s, 9 s, 17 s) before the
    one-line error. Its default waits (15 s, then 18 s, 24 s…) would hold a command on an
    unreachable account for minutes: one reconnect, short waits.
    """

    def __init__(self) -> None:
        super().__init__(initial_backoff=1, increment_base=2, retry_total=4, retry_connect=1)

    def increment(
        self,
        settings: dict[str, Any],
        request: Any,
        response: Any = None,
        error: AzureError | None = None,
    ) -> bool:
        """Whether to try again: never after the credential failed."""
        if isinstance(error, ClientAuthenticationError):
            return False
        return bool(super().increment(settings, request, response=response, error=error))


class FlowLogBlobs:
    """The flow-log blobs of one storage account."""

    def __init__(self, clients: AzureClients, account: str) -> None:
        self.clients = clients
        self.account = account

    @cached_property
    def service(self) -> BlobServiceClient:
        """The blob service client: the account's endpoint, or the sandbox's (path-style)."""
        options: dict[str, Any] = {"retry_policy": FlowLogRetry()}
        if self.clients.settings.sandbox_url:
            base = str(self.clients.options["base_url"])
            url = f"{base}/{self.account}"
            options["connection_verify"] = self.clients.options["connection_verify"]
        else:
            url = f"https://{self.account}.blob.core.windows.net"
        return BlobServiceClient(url, credential=self.clients.credential, **options)

    def listed(self) -> Iterator[ListedBlob]:
        """Every ``PT1H.json`` in the flow-log containers (a missing container is skipped)."""
        for container in CONTAINERS:
            client = self.service.get_container_client(container)
            with translated(f"list blobs in {self.account}/{container}", READ, STORAGE):
                try:
                    for blob in client.list_blobs():
                        if str(blob.name).endswith(FLOW_LOG_BLOB):
                            yield ListedBlob(container, str(blob.name), str(blob.etag))
                except ResourceNotFoundError:  # no flow log of that kind writes here
                    continue

    def block_list(self, blob: ListedBlob) -> BlockList:
        """The committed blocks of ``blob`` and the etag read just before them (a read
        with that etag fails if the blob changed after it)."""
        client = self.service.get_blob_client(blob.container, blob.name)
        with translated(f"read the block list of {blob.name}", READ, STORAGE):
            etag = client.get_blob_properties().etag
            committed, _ = client.get_block_list("committed")
        return BlockList(str(etag), tuple((str(b.id), int(b.size)) for b in committed))

    def read(self, blob: ListedBlob, etag: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``, only while the blob still has ``etag`` (a
        ``ConflictError`` if it changed since: read its block list again)."""
        client = self.service.get_blob_client(blob.container, blob.name)
        with translated(f"read {blob.name}", READ, STORAGE):
            stream = client.download_blob(
                offset=offset,
                length=length,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
            data: bytes = stream.readall()
        return data
