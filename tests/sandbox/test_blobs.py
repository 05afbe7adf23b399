"""The sandbox's Blob endpoints through the real azure-storage-blob client, and flow-log
ingestion from a storage account: new blocks only, after growth and a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core import MatchConditions
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from clamp.config import Settings
from clamp.errors import AuthenticationError, ConflictError
from clamp.events.flows.config import FlowsConfig
from clamp.events.flows.storage import ingest_storage
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.flowlog_blobs import FlowLogBlobs
from clamp.providers.azure.flowlogs import VNET_CONTAINER
from clamp.sandbox.flow_traffic import TRAILER_ID, publish_azure
from clamp.sandbox.server import Sandbox
from clamp.store import Store

ACCOUNT = "clampflowlogs"
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def _reader(sandbox: Sandbox) -> FlowLogBlobs:
    return FlowLogBlobs(AzureClients(Settings(sandbox_url=sandbox.url)), ACCOUNT)


def test_listing_pages_and_names_every_flow_log_blob(sandbox: Sandbox) -> None:
    publish_azure(sandbox.state, sandbox.blobs, ACCOUNT, START, 2)
    container = _reader(sandbox).service.get_container_client(VNET_CONTAINER)
    pages = list(container.list_blobs(results_per_page=2).by_page())
    names = [b.name for page in pages for b in page]
    assert len(pages) >= 2 and len(names) == len(set(names)) >= 3
    assert all(n.startswith("flowLogResourceID=/") and n.endswith("/PT1H.json") for n in names)
    with pytest.raises(ResourceNotFoundError):
        list(_reader(sandbox).service.get_container_client("nope").list_blobs())


def test_block_lists_and_ranged_reads_are_what_was_committed(sandbox: Sandbox) -> None:
    publish_azure(sandbox.state, sandbox.blobs, ACCOUNT, START, 3)
    reader = _reader(sandbox)
    listed = next(iter(reader.listed()))
    blocks = reader.block_list(listed)
    assert blocks.blocks[0][1] == len(b'{"records":[') and blocks.blocks[-1][0] == TRAILER_ID
    content = sandbox.blobs.get(ACCOUNT, listed.container, listed.name)
    assert content is not None
    whole = content.content
    size = blocks.blocks[1][1]
    assert reader.read(listed, blocks.etag, 12, size) == whole[12 : 12 + size]
    client = reader.service.get_blob_client(listed.container, listed.name)
    assert client.download_blob().readall() == whole
    with pytest.raises(ResourceModifiedError):
        client.download_blob(
            etag='"0xOTHER"', match_condition=MatchConditions.IfNotModified
        ).readall()
    with pytest.raises(ConflictError):
        reader.read(listed, '"0xOTHER"', 0, 10)
    with pytest.raises(HttpResponseError) as refused:
        client.download_blob(offset=len(whole) + 10, length=5).readall()
    assert refused.value.status_code == 416


def test_storage_ingest_reads_only_new_blocks_after_growth_and_restart(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'clamp.db'}"
    config = FlowsConfig()
    publish_azure(sandbox.state, sandbox.blobs, ACCOUNT, START, 3)
    with Store.open(url) as store:
        first = ingest_storage(store, config, _reader(sandbox))
        idle = ingest_storage(store, config, _reader(sandbox))
    assert first.tuples > 0 and idle.tuples == 0 and idle.files == 0
    publish_azure(sandbox.state, sandbox.blobs, ACCOUNT, START + timedelta(minutes=3), 2, seed=2)
    with Store.open(url) as restarted:
        grown = ingest_storage(restarted, config, _reader(sandbox))
        kept = restarted.flows.observed(since=START, direction=None)
    assert grown.tuples > 0 and grown.skipped > 0
    # the same traffic read in one go gives the same totals
    with Sandbox(sandbox.state) as fresh:
        publish_azure(fresh.state, fresh.blobs, ACCOUNT, START, 3)
        publish_azure(fresh.state, fresh.blobs, ACCOUNT, START + timedelta(minutes=3), 2, seed=2)
        with Store.open(f"sqlite:///{tmp_path / 'once.db'}") as once:
            whole = ingest_storage(once, config, _reader(fresh))
            expected = once.flows.observed(since=START, direction=None)
    assert first.tuples + grown.tuples == whole.tuples
    assert sum(a.flows for a in kept) == sum(a.flows for a in expected)
    assert sum(a.bytes_received for a in kept) == sum(a.bytes_received for a in expected)


class NoCredential:
    """A credential chain that finds nothing, as on a machine never signed in to Azure."""

    def __init__(self) -> None:
        self.asked = 0

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        """Fail the way ``DefaultAzureCredential`` fails with nothing configured."""
        self.asked += 1
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")


def test_no_credentials_fail_at_once_without_retrying_the_blob_request(sandbox: Sandbox) -> None:
    credential = NoCredential()
    clients = AzureClients(Settings(sandbox_url=sandbox.url), credential=credential)

    with pytest.raises(AuthenticationError, match="no usable Azure credentials"):
        list(FlowLogBlobs(clients, ACCOUNT).listed())

    assert credential.asked == 1  # azure-storage-blob's retry asked again, 5 times in all
