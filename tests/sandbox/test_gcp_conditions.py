"""The conditions Google declares per write, enforced by the sandbox exactly there, through
the real SDKs: ``labelFingerprint`` on setLabels and ``tags.fingerprint`` on setTags (412
conditionNotMet), the policy ``etag`` on setIamPolicy (project: 409 ABORTED; bucket: 412),
``ifMetagenerationMatch`` on bucket writes (412) — and none on firewall writes, where the
discovery document declares none (last writer wins, which is why Clamp re-reads first)."""

from __future__ import annotations

from typing import Any

import google.cloud.storage as storage
import pytest
from google.api_core import exceptions as gexc
from google.api_core.iam import Policy
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1, resourcemanager_v3

from clamp.sandbox.server import Sandbox

PROJECT = "clamp-demo-prod"
ZONE = "europe-west1-b"


def _options(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": sandbox.url},
    }


def _zone_wait(sandbox: Sandbox, op: compute_v1.Operation) -> None:
    compute_v1.ZoneOperationsClient(**_options(sandbox)).wait(
        project=PROJECT, zone=ZONE, operation=op.name
    )


def _reason(error: gexc.GoogleAPICallError) -> str:
    return str(error.errors[0]["reason"])


def test_set_labels_needs_the_current_label_fingerprint(sandbox: Sandbox) -> None:
    instances = compute_v1.InstancesClient(**_options(sandbox))
    read = instances.get(project=PROJECT, zone=ZONE, instance="web-1")
    request = compute_v1.InstancesSetLabelsRequest(
        labels={"quarantine": "inc-1"}, label_fingerprint=read.label_fingerprint
    )
    _zone_wait(
        sandbox,
        instances.set_labels_unary(
            project=PROJECT,
            zone=ZONE,
            instance="web-1",
            instances_set_labels_request_resource=request,
        ),
    )
    now = instances.get(project=PROJECT, zone=ZONE, instance="web-1")
    assert now.labels == {"quarantine": "inc-1"}
    assert now.label_fingerprint != read.label_fingerprint
    before = sandbox.state.to_scenario()

    request.labels = {"quarantine": "inc-2"}  # still the fingerprint read first: stale
    with pytest.raises(gexc.PreconditionFailed) as stale:
        instances.set_labels_unary(
            project=PROJECT,
            zone=ZONE,
            instance="web-1",
            instances_set_labels_request_resource=request,
        )
    assert _reason(stale.value) == "conditionNotMet"
    assert sandbox.state.to_scenario() == before


def test_set_tags_needs_the_current_tags_fingerprint(sandbox: Sandbox) -> None:
    instances = compute_v1.InstancesClient(**_options(sandbox))
    read = instances.get(project=PROJECT, zone=ZONE, instance="web-1")
    tags = compute_v1.Tags(items=["quarantined"], fingerprint=read.tags.fingerprint)
    _zone_wait(
        sandbox,
        instances.set_tags_unary(project=PROJECT, zone=ZONE, instance="web-1", tags_resource=tags),
    )
    before = sandbox.state.to_scenario()

    with pytest.raises(gexc.PreconditionFailed) as stale:
        instances.set_tags_unary(project=PROJECT, zone=ZONE, instance="web-1", tags_resource=tags)
    assert _reason(stale.value) == "conditionNotMet"
    assert sandbox.state.to_scenario() == before


def test_project_set_iam_policy_with_a_stale_etag_is_409_aborted(sandbox: Sandbox) -> None:
    projects = resourcemanager_v3.ProjectsClient(**_options(sandbox))
    resource = f"projects/{PROJECT}"
    read = projects.get_iam_policy(request={"resource": resource})
    projects.set_iam_policy(request={"resource": resource, "policy": read})
    before = sandbox.state.to_scenario()

    with pytest.raises(gexc.Conflict) as stale:
        projects.set_iam_policy(request={"resource": resource, "policy": read})
    assert stale.value.code == 409 and "concurrent policy changes" in stale.value.message
    assert sandbox.state.to_scenario() == before


def _storage(sandbox: Sandbox) -> storage.Client:
    return storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": sandbox.url},
    )


def test_bucket_set_iam_policy_with_a_stale_etag_is_412(sandbox: Sandbox) -> None:
    bucket = next(iter(_storage(sandbox).list_buckets(project=PROJECT)))
    read = bucket.get_iam_policy(requested_policy_version=3)
    bucket.set_iam_policy(read)
    before = sandbox.state.to_scenario()

    stale = Policy.from_api_repr(read.to_api_repr())  # type: ignore[no-untyped-call]
    with pytest.raises(gexc.PreconditionFailed):
        bucket.set_iam_policy(stale, retry=None)
    assert sandbox.state.to_scenario() == before


def test_bucket_patch_with_a_stale_metageneration_is_412(sandbox: Sandbox) -> None:
    bucket = next(iter(_storage(sandbox).list_buckets(project=PROJECT)))
    read = bucket.metageneration
    bucket.labels = {"owner": "sec"}
    bucket.patch(if_metageneration_match=read)
    before = sandbox.state.to_scenario()

    bucket.labels = {"owner": "someone-else"}
    with pytest.raises(gexc.PreconditionFailed):
        bucket.patch(if_metageneration_match=read, retry=None)
    assert sandbox.state.to_scenario() == before


def test_firewall_update_has_no_condition_so_the_last_writer_wins(sandbox: Sandbox) -> None:
    client = compute_v1.FirewallsClient(**_options(sandbox))
    ops = compute_v1.GlobalOperationsClient(**_options(sandbox))
    first = client.get(project=PROJECT, firewall="allow-mysql")
    second = client.get(project=PROJECT, firewall="allow-mysql")

    first.source_ranges = ["10.0.0.0/8"]
    op = client.update_unary(project=PROJECT, firewall="allow-mysql", firewall_resource=first)
    ops.wait(project=PROJECT, operation=op.name)
    second.source_ranges = ["192.168.0.0/16"]  # planned from the same, now stale, read
    op = client.update_unary(project=PROJECT, firewall="allow-mysql", firewall_resource=second)
    ops.wait(project=PROJECT, operation=op.name)

    got = client.get(project=PROJECT, firewall="allow-mysql")
    assert list(got.source_ranges) == ["192.168.0.0/16"]
