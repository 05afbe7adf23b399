"""The sandbox's Cloud Storage JSON API, driven only by google-cloud-storage: listing,
metageneration preconditions, bucket IAM with etags, and the rules Cloud Storage enforces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import google.cloud.storage as gcs
import pytest
from google.api_core import exceptions as gexc
from google.api_core.iam import Policy
from google.auth.credentials import AnonymousCredentials

from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault, SandboxState

FLIGHTS = Path(__file__).parents[3] / "shared" / "data" / "custodian" / "gcp-flights"
PROJECT = "p1"
DAY = 86400


def _bucket(name: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "storage#bucket", "name": name, **fields}


@pytest.fixture
def estate() -> Iterator[Sandbox]:
    scenario = {
        "gcp": {
            PROJECT: [
                _bucket("plain"),
                _bucket("kept", retentionPolicy={"retentionPeriod": str(DAY)}),
                _bucket("versioned", versioning={"enabled": True}, metageneration="4"),
                _bucket("sealed", iamConfiguration={"publicAccessPrevention": "enforced"}),
                _bucket(
                    "uniform",
                    iamConfiguration={
                        "uniformBucketLevelAccess": {
                            "enabled": True,
                            "lockedTime": "2020-08-07T09:01:36.403Z",
                        }
                    },
                ),
            ],
            "p2": [_bucket("elsewhere")],
        }
    }
    with Sandbox(SandboxState.from_scenario(scenario)) as sandbox:
        yield sandbox


def _client(sandbox: Sandbox, project: str = PROJECT) -> gcs.Client:
    return gcs.Client(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": sandbox.url},
    )


def _stored(sandbox: Sandbox, kind: str, name: str) -> dict[str, Any]:
    with sandbox.state.lock:
        return next(
            o
            for o in sandbox.state.gcp[PROJECT]
            if o["kind"] == kind and str(o.get("name", o.get("resourceId"))).endswith(name)
        )


def _members(policy: Policy) -> set[str]:
    return {m for binding in policy.bindings for m in binding["members"]}


def test_buckets_of_a_project_are_listed_by_name_in_pages(estate: Sandbox) -> None:
    client = _client(estate)
    pages = list(client.list_buckets(max_results=None, page_size=3).pages)

    assert [[b.name for b in page] for page in pages] == [
        ["kept", "plain", "sealed"],
        ["uniform", "versioned"],
    ]
    assert [b.name for b in client.list_buckets(prefix="p")] == ["plain"]
    assert [b.name for b in client.list_buckets(project="p2")] == ["elsewhere"]


def test_a_bucket_the_scenario_left_bare_is_served_and_stored_with_gcs_defaults(
    estate: Sandbox,
) -> None:
    plain = _client(estate).get_bucket("plain")

    assert (plain.metageneration, plain.etag, plain.id) == (1, "CAE=", "plain")
    assert plain.self_link == "https://www.googleapis.com/storage/v1/b/plain"
    assert plain.time_created is not None and plain.updated == plain.time_created
    assert plain.iam_configuration.uniform_bucket_level_access_enabled is False
    assert plain.iam_configuration.public_access_prevention == "inherited"
    stored = _stored(estate, "storage#bucket", "plain")
    assert (stored["metageneration"], stored["projectNumber"]) == ("1", str(plain.project_number))


@pytest.mark.skipif(not FLIGHTS.is_dir(), reason="../shared/data/custodian is not present")
def test_recorded_buckets_are_served_as_recorded_and_acls_only_with_full_projection() -> None:
    folder = FLIGHTS / "bucket-uniform-bucket-access"
    uniform = json.loads((folder / "get-storage-v1-b-c7n-dev-test_1.json").read_text())["body"]
    labelled = FLIGHTS / "bucket-label" / "patch-storage-v1-b-c7n-bucket_1.json"
    with_acl = json.loads(labelled.read_text())["body"]
    scenario = {"gcp": {"custodian": [uniform, with_acl]}}
    with Sandbox(SandboxState.from_scenario(scenario)) as sandbox:
        client = _client(sandbox, "custodian")
        served = client.get_bucket("c7n-dev-test")._properties
        default = {b.name: b._properties for b in client.list_buckets()}
        full = {b.name: b._properties for b in client.list_buckets(projection="full")}

    assert {k: served[k] for k in uniform if k != "iamConfiguration"} == {
        k: v for k, v in uniform.items() if k != "iamConfiguration"
    }
    # Recorded before public access prevention existed; GCS now reports its default.
    assert served["iamConfiguration"] == {
        **uniform["iamConfiguration"],
        "publicAccessPrevention": "inherited",
    }
    assert "acl" not in default["c7n-bucket"] and "defaultObjectAcl" not in default["c7n-bucket"]
    assert full["c7n-bucket"]["acl"] == with_acl["acl"]


def test_patching_versioning_on_and_off_bumps_metageneration_etag_and_updated(
    estate: Sandbox,
) -> None:
    plain = _client(estate).get_bucket("plain")
    created = plain.updated

    plain.versioning_enabled = True
    plain.patch()
    assert (plain.versioning_enabled, plain.metageneration, plain.etag) == (True, 2, "CAI=")
    assert plain.updated is not None and created is not None and plain.updated > created
    plain.versioning_enabled = False
    plain.patch(if_metageneration_match=2)

    again = _client(estate).get_bucket("plain")
    assert (again.versioning_enabled, again.metageneration) == (False, 3)


def test_a_write_on_a_stale_metageneration_fails_and_changes_nothing(estate: Sandbox) -> None:
    client = _client(estate)
    mine, theirs = client.get_bucket("plain"), client.get_bucket("plain")
    theirs.labels = {"team": "data"}
    theirs.patch()

    mine.versioning_enabled = True
    with pytest.raises(gexc.PreconditionFailed, match="pre-conditions"):
        mine.patch(if_metageneration_match=1)
    with pytest.raises(gexc.PreconditionFailed):
        mine.update(if_metageneration_match=1)

    now = client.get_bucket("plain")
    assert (now.versioning_enabled, now.labels, now.metageneration) == (False, {"team": "data"}, 2)


def test_a_read_conditional_on_the_metageneration_answers_412_or_304(estate: Sandbox) -> None:
    client = _client(estate)
    with pytest.raises(gexc.PreconditionFailed):
        client.get_bucket("versioned", if_metageneration_match=3)
    with pytest.raises(gexc.NotModified):
        client.get_bucket("versioned", if_metageneration_not_match=4)
    assert client.get_bucket("versioned", if_metageneration_match=4).metageneration == 4


def test_versioning_and_a_retention_policy_refuse_each_other(estate: Sandbox) -> None:
    client = _client(estate)
    kept = client.get_bucket("kept")
    kept.versioning_enabled = True
    with pytest.raises(gexc.BadRequest, match=r"Versioning cannot be enabled.*retention policy"):
        kept.patch()
    versioned = client.get_bucket("versioned")
    versioned.retention_period = 3600
    with pytest.raises(gexc.BadRequest, match=r"retention policy cannot be set.*Versioning"):
        versioned.patch()

    assert client.get_bucket("kept").versioning_enabled is False
    assert client.get_bucket("versioned").retention_period is None


def test_a_locked_retention_policy_is_never_removed_shortened_or_unlocked(
    estate: Sandbox,
) -> None:
    client = _client(estate)
    kept = client.get_bucket("kept")
    kept.lock_retention_policy()
    assert (kept.retention_policy_locked, kept.metageneration) == (True, 2)

    for period in (None, 60):
        again = client.get_bucket("kept")
        again.retention_period = period
        with pytest.raises(gexc.Forbidden, match="locked retention policy"):
            again.patch()
    unlock = client.get_bucket("kept")
    unlock._patch_property("retentionPolicy", {"retentionPeriod": str(DAY), "isLocked": False})
    unlock.patch()
    longer = client.get_bucket("kept")
    longer.retention_period = 2 * DAY
    longer.patch()

    final = client.get_bucket("kept")
    assert (final.retention_policy_locked, final.retention_period) == (True, 2 * DAY)


def test_locking_needs_the_current_metageneration_and_a_retention_policy(
    estate: Sandbox,
) -> None:
    client = _client(estate)
    stale = client.get_bucket("kept")
    client.get_bucket("kept").patch()  # someone else's write bumps the metageneration
    with pytest.raises(gexc.PreconditionFailed):
        stale.lock_retention_policy()
    assert client.get_bucket("kept").retention_policy_locked is False

    gone = client.get_bucket("plain")
    gone._properties["retentionPolicy"] = {"retentionPeriod": "60"}  # a stale local view
    with pytest.raises(gexc.BadRequest, match="no retention policy"):
        gone.lock_retention_policy()


def test_soft_delete_retention_must_be_zero_or_seven_to_ninety_days(estate: Sandbox) -> None:
    client = _client(estate)
    for seconds in (3600, 90 * DAY + 1):
        plain = client.get_bucket("plain")
        plain.soft_delete_policy.retention_duration_seconds = seconds
        with pytest.raises(gexc.BadRequest, match="7 and 90 days"):
            plain.patch()
    assert client.get_bucket("plain").metageneration == 1

    plain = client.get_bucket("plain")
    plain.soft_delete_policy.retention_duration_seconds = 7 * DAY
    plain.patch()
    assert plain.soft_delete_policy.retention_duration_seconds == 7 * DAY
    assert plain.soft_delete_policy.effective_time is not None
    plain.soft_delete_policy.retention_duration_seconds = 0
    plain.patch()
    assert plain.soft_delete_policy.retention_duration_seconds == 0
    assert plain.soft_delete_policy.effective_time is None


def test_public_access_prevention_takes_enforced_or_inherited_and_legacy_unspecified(
    estate: Sandbox,
) -> None:
    plain = _client(estate).get_bucket("plain")
    plain.iam_configuration.public_access_prevention = "unspecified"
    plain.patch()
    assert plain.iam_configuration.public_access_prevention == "inherited"

    plain.iam_configuration.public_access_prevention = "open"
    with pytest.raises(gexc.BadRequest, match="publicAccessPrevention"):
        plain.patch()


def test_enabling_uniform_access_stamps_a_lock_time_ninety_days_out(estate: Sandbox) -> None:
    plain = _client(estate).get_bucket("plain")
    plain.iam_configuration.uniform_bucket_level_access_enabled = True
    plain.patch()

    locked = plain.iam_configuration.uniform_bucket_level_access_locked_time
    assert plain.iam_configuration.uniform_bucket_level_access_enabled is True
    assert locked is not None
    assert abs(locked - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=1)
    assert plain.iam_configuration.bucket_policy_only_enabled is True


def test_uniform_access_cannot_be_disabled_after_its_lock_time(estate: Sandbox) -> None:
    uniform = _client(estate).get_bucket("uniform")
    uniform.iam_configuration.uniform_bucket_level_access_enabled = False

    with pytest.raises(gexc.BadRequest, match="no longer be disabled"):
        uniform.patch()
    assert _client(estate).get_bucket("uniform").metageneration == 1


def test_a_bucket_without_a_policy_gets_the_default_one_stored(estate: Sandbox) -> None:
    policy = _client(estate).bucket("plain").get_iam_policy(requested_policy_version=3)

    assert {b["role"]: set(b["members"]) for b in policy.bindings} == {
        "roles/storage.legacyBucketOwner": {f"projectOwner:{PROJECT}", f"projectEditor:{PROJECT}"},
        "roles/storage.legacyBucketReader": {f"projectViewer:{PROJECT}"},
    }
    assert policy.etag == "CAE="
    assert _stored(estate, "storage#policy", "/plain")["resourceId"] == "projects/_/buckets/plain"


def test_setting_a_policy_with_the_current_etag_stores_it_with_a_new_etag(
    estate: Sandbox,
) -> None:
    target = _client(estate).bucket("plain")
    policy = target.get_iam_policy()
    policy.bindings.append(
        {"role": "roles/storage.objectViewer", "members": {"group:readers@example.com"}}
    )

    saved = target.set_iam_policy(policy)

    assert saved.etag == "CAI=" and "group:readers@example.com" in _members(saved)
    assert "group:readers@example.com" in _members(target.get_iam_policy())


def test_setting_a_policy_on_a_stale_etag_fails_and_no_grant_is_lost(estate: Sandbox) -> None:
    target = _client(estate).bucket("plain")
    mine, theirs = target.get_iam_policy(), target.get_iam_policy()
    theirs.bindings.append({"role": "roles/storage.objectViewer", "members": {"user:a@x.com"}})
    target.set_iam_policy(theirs)

    mine.bindings.append({"role": "roles/storage.objectAdmin", "members": {"user:b@x.com"}})
    with pytest.raises(gexc.PreconditionFailed):
        target.set_iam_policy(mine)

    members = _members(target.get_iam_policy())
    assert "user:a@x.com" in members and "user:b@x.com" not in members


def test_public_grants_are_refused_only_while_public_access_prevention_is_enforced(
    estate: Sandbox,
) -> None:
    client = _client(estate)
    for name in ("sealed", "plain"):
        policy = client.bucket(name).get_iam_policy()
        policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"allUsers"}})
        if name == "sealed":
            with pytest.raises(gexc.PreconditionFailed, match="public access prevention"):
                client.bucket(name).set_iam_policy(policy)
        else:
            client.bucket(name).set_iam_policy(policy)

    assert "allUsers" not in _members(client.bucket("sealed").get_iam_policy())
    assert "allUsers" in _members(client.bucket("plain").get_iam_policy())


def test_an_unknown_bucket_is_not_found(estate: Sandbox) -> None:
    client = _client(estate)
    with pytest.raises(gexc.NotFound, match=r"The specified bucket does not exist\."):
        client.get_bucket("nope")
    with pytest.raises(gexc.NotFound):
        client.bucket("nope").get_iam_policy()
    assert client.lookup_bucket("nope") is None


def test_created_buckets_get_gcs_defaults_and_deleting_removes_the_policy_too(
    estate: Sandbox,
) -> None:
    client = _client(estate)
    created = client.create_bucket("fresh")
    assert (created.metageneration, created.soft_delete_policy.retention_duration_seconds) == (
        1,
        7 * DAY,
    )
    with pytest.raises(gexc.Conflict):
        client.create_bucket("fresh")
    client.bucket("fresh").get_iam_policy()

    client.bucket("fresh").delete()

    assert client.lookup_bucket("fresh") is None
    leftovers = [o for o in estate.state.gcp[PROJECT] if "fresh" in json.dumps(o)]
    assert leftovers == []


def test_the_caller_holds_the_permissions_it_tests(estate: Sandbox) -> None:
    asked = ["storage.buckets.get", "storage.buckets.setIamPolicy"]

    assert _client(estate).bucket("plain").test_iam_permissions(asked) == asked


def test_written_state_round_trips_through_a_scenario(estate: Sandbox) -> None:
    client = _client(estate)
    kept = client.get_bucket("kept")
    kept.lock_retention_policy()
    policy = client.bucket("kept").get_iam_policy()
    policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"user:a@x.com"}})
    saved = client.bucket("kept").set_iam_policy(policy)

    with Sandbox(SandboxState.from_scenario(estate.state.to_scenario())) as copy:
        again = _client(copy)
        assert again.get_bucket("kept")._properties == client.get_bucket("kept")._properties
        reread = again.bucket("kept").get_iam_policy()
        assert (reread.etag, _members(reread)) == (saved.etag, _members(saved))


def test_throttling_is_retried_by_the_sdk_and_surfaced_without_retries(
    estate: Sandbox,
) -> None:
    client = _client(estate)
    estate.state.faults.append(
        Fault(status=429, retry_after=0, provider="gcp", path="/storage/v1/b/plain", times=1)
    )
    assert client.get_bucket("plain").name == "plain"

    estate.state.faults.append(
        Fault(status=429, retry_after=0, provider="gcp", path="/storage/v1/b/plain", times=None)
    )
    with pytest.raises(gexc.TooManyRequests):
        client.get_bucket("plain", retry=None)
