"""Cloud Storage through google-cloud-storage against the sandbox's JSON API: collection
from recorded bucket responses, and the rules Cloud Storage enforces on writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.cloud.storage as gcs
import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials

from builders import bucket
from clamp.config import Settings
from clamp.errors import ConflictError, RateLimited
from clamp.model import Change, ChangeOp, ResourceType
from clamp.providers.gcp.driver import GcpDriver
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault, SandboxState

FLIGHTS = Path(__file__).parents[3] / ".." / "shared" / "data" / "custodian" / "gcp-flights"
PROJECT = "p1"


def _flight(folder: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FLIGHTS / folder / name).read_text())["body"]
    return body


@pytest.fixture
def estate() -> Iterator[Sandbox]:
    objects = [
        *bucket("kept", retentionPolicy={"retentionPeriod": "86400"}, versioning={}),
        *bucket("plain", versioning={}),
        *bucket("versioned"),
    ]
    with Sandbox(SandboxState.from_scenario({"gcp": {PROJECT: objects}})) as sandbox:
        yield sandbox


def _client(sandbox: Sandbox) -> gcs.Client:
    return gcs.Client(
        project=None,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": sandbox.url},
    )


def _settings(sandbox: Sandbox) -> Settings:
    return Settings(database_url="sqlite://", sandbox_url=sandbox.url)


@pytest.mark.skipif(not FLIGHTS.is_dir(), reason="../shared/data/custodian is not present")
def test_recorded_buckets_and_iam_policies_are_collected_with_their_protections() -> None:
    listing = _flight("bucket-iam-policy", "get-storage-v1-b_1.json")["items"]
    policy = _flight("bucket-iam-policy", "get-storage-v1-b-cloud-custodian-test-1-iam_1.json")
    scenario = {"gcp": {"custodian": [*listing, policy]}}
    with Sandbox(SandboxState.from_scenario(scenario)) as sandbox:
        resources = list(GcpDriver(_settings(sandbox)).collect("custodian"))

    buckets = {r.name: r for r in resources if r.type == ResourceType.GCS_BUCKET}
    assert set(buckets) == {b["name"] for b in listing}
    first = buckets["cloud-custodian-test-1"]
    assert first.id == "//storage.googleapis.com/cloud-custodian-test-1"
    assert ("roles/cloudbuild.builds.builder", "allUsers") in first.facets["public_bindings"]
    # Buckets without a stored policy get Cloud Storage's default one: nothing public.
    assert all(
        r.facets["public_bindings"] == () for name, r in buckets.items() if name != first.name
    )


def test_read_returns_one_bucket_with_its_policy(estate: Sandbox) -> None:
    resource = GcpDriver(_settings(estate)).read("//storage.googleapis.com/kept")

    assert resource.facets["retention_seconds"] == 86400
    assert resource.raw["iam"]["etag"] == "CAE="


def test_versioning_and_a_retention_policy_cannot_be_combined(estate: Sandbox) -> None:
    client = _client(estate)
    kept = client.get_bucket("kept")
    kept.versioning_enabled = True
    with pytest.raises(gexc.BadRequest, match="retention policy"):
        kept.patch()
    versioned = client.get_bucket("versioned")
    versioned.retention_period = 3600
    with pytest.raises(gexc.BadRequest, match="Versioning"):
        versioned.patch()

    assert client.get_bucket("kept").versioning_enabled is False
    assert client.get_bucket("versioned").retention_period is None


def test_a_locked_retention_policy_can_never_be_removed_or_shortened(estate: Sandbox) -> None:
    client = _client(estate)
    kept = client.get_bucket("kept")
    kept.lock_retention_policy()
    assert client.get_bucket("kept").retention_policy_locked is True

    for period in (None, 60):
        again = client.get_bucket("kept")
        again.retention_period = period
        with pytest.raises(gexc.Forbidden):
            again.patch()
    assert client.get_bucket("kept").retention_period == 86400


def test_soft_delete_must_be_zero_or_seven_to_ninety_days(estate: Sandbox) -> None:
    plain = _client(estate).get_bucket("plain")
    plain.soft_delete_policy.retention_duration_seconds = 3600

    with pytest.raises(gexc.BadRequest, match="7 and 90 days"):
        plain.patch()


def test_public_grants_are_refused_while_public_access_prevention_is_enforced(
    estate: Sandbox,
) -> None:
    target = _client(estate).bucket("plain")
    policy = target.get_iam_policy()
    policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"allUsers"}})

    with pytest.raises(gexc.PreconditionFailed, match="public access prevention"):
        target.set_iam_policy(policy)


def test_a_stale_metageneration_is_a_conflict_and_nothing_changes(estate: Sandbox) -> None:
    driver = GcpDriver(_settings(estate))
    before = dict(driver.read("//storage.googleapis.com/plain").raw["bucket"])
    after = {**before, "versioning": {"enabled": True}}
    other = _client(estate).get_bucket("plain")
    other.labels = {"team": "data"}
    other.patch()

    change = Change(
        ChangeOp.UPDATE, "//storage.googleapis.com/plain", "storage#bucket", before, after, "x"
    )
    with pytest.raises(ConflictError):
        driver.apply(change)

    now = _client(estate).get_bucket("plain")
    assert (now.versioning_enabled, now.labels) == (False, {"team": "data"})


def test_throttling_is_retried_then_reported(estate: Sandbox) -> None:
    driver = GcpDriver(_settings(estate))
    estate.state.faults.append(
        Fault(status=429, retry_after=0, provider="gcp", path="/storage/v1/b", times=1)
    )
    assert driver.read("//storage.googleapis.com/plain").name == "plain"

    estate.state.faults.append(
        Fault(status=429, retry_after=0, provider="gcp", path="/storage/v1/b", times=None)
    )
    with pytest.raises(RateLimited):
        driver.read("//storage.googleapis.com/plain")
