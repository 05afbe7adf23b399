"""Flow logs from an Azure storage account: every ``PT1H.json`` of the flow-log
containers, only the blocks not read before.

A blob's cursor holds the etag it was last read at, the ids of the committed blocks read
and the bytes they span. A blob whose listed etag is the cursor's is not touched; else its
block list is read and only the blocks whose ids are new are fetched, in ranged reads of
at most ``READ_BYTES`` guarded by the etag. Each blob is one transaction: its aggregates
and its cursor commit together. A blob that changed between its block list and a read
(412) is left for the next round.
"""

from __future__ import annotations

from collections.abc import Iterator

from clamp.config import Settings
from clamp.errors import ConflictError
from clamp.events.flows.config import FlowsConfig
from clamp.events.flows.fold import Addresses, IngestSummary
from clamp.events.flows.ingest import FlowIngest, count_aggregates
from clamp.providers.azure.flowlog_blobs import FlowLogBlobs, ListedBlob
from clamp.providers.azure.flowlogs import block_record
from clamp.store.store import Store

READ_BYTES = 4 * 1024 * 1024
"""At most this much is read (and held) at a time; a larger block is read alone."""


def _runs(pending: list[tuple[str, int, int]]) -> Iterator[list[tuple[str, int, int]]]:
    """Contiguous blocks (id, offset, size) grouped into reads of at most ``READ_BYTES``."""
    run: list[tuple[str, int, int]] = []
    for block in pending:
        if run and (
            block[1] != run[-1][1] + run[-1][2] or block[1] + block[2] - run[0][1] > READ_BYTES
        ):
            yield run
            run = []
        run.append(block)
    if run:
        yield run


class StorageIngest:
    """One round over a storage account's flow-log blobs."""

    def __init__(self, store: Store, config: FlowsConfig, blobs: FlowLogBlobs) -> None:
        self.store = store
        self.config = config
        self.blobs = blobs
        self.store.flows.bucket = config.bucket
        self.addresses = Addresses.of(store.rules.inventory())
        self.summary = IngestSummary()
        self.changed_while_read = 0

    def run(self) -> IngestSummary:
        """Read every blob's new blocks; the summary of the round."""
        with self.store.flows.writing() as writer:
            before = count_aggregates(writer)
        for listed in self.blobs.listed():
            try:
                self.summary.merge(self._blob(listed))
            except ConflictError:
                self.changed_while_read += 1
        with self.store.flows.writing() as writer:
            self.summary.aggregates = max(0, count_aggregates(writer) - before)
        return self.summary

    def _blob(self, listed: ListedBlob) -> IngestSummary:
        source = f"blob:{self.blobs.account}/{listed.container}/{listed.name}"
        with self.store.flows.writing() as writer:
            cursor = writer.cursor(source)
            ingest = FlowIngest(writer, self.config, self.addresses, count=False)
            if cursor.etag == listed.etag:
                ingest.summary.skipped += len(cursor.blocks)
                return ingest.summary
            blocks = self.blobs.block_list(listed)
            seen = set(cursor.blocks)
            pending, offset = [], 0
            for block_id, size in blocks.blocks:
                if block_id in seen:
                    ingest.summary.skipped += 1
                else:
                    pending.append((block_id, offset, size))
                offset += size
            for run in _runs(pending):
                start = run[0][1]
                data = self.blobs.read(listed, blocks.etag, start, run[-1][1] + run[-1][2] - start)
                for block_id, at, size in run:
                    where = f"{source}: block {block_id}"
                    record = block_record(data[at - start : at - start + size], where)
                    if record is not None:
                        ingest.azure_record(record, where)
                    cursor.blocks.append(block_id)
            cursor.etag, cursor.offset = blocks.etag, offset
            writer.save_cursor(cursor)
            ingest.summary.files += 1
            return ingest.finish()


def ingest_storage(store: Store, config: FlowsConfig, blobs: FlowLogBlobs) -> IngestSummary:
    """One round over ``blobs``' account (see ``StorageIngest``)."""
    return StorageIngest(store, config, blobs).run()


def ingest_accounts(store: Store, settings: Settings) -> IngestSummary:
    """One round over every ``[flows] storage_accounts`` account (the service's schedule)."""
    from clamp.providers.azure.clients import AzureClients

    clients = AzureClients(settings)
    total = IngestSummary()
    for account in settings.flows.storage_accounts:
        total.merge(ingest_storage(store, settings.flows, FlowLogBlobs(clients, account)))
    return total
