"""The Redis call budget is one bucket for every process: tokens taken by one are gone
for the other, and a 429's Retry-After holds the key back for both."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from clamp.errors import WorkersUnavailable
from clamp.workers.budget import Bucket, RedisCallBudget, bucket_for
from worker_cluster import SRC, redis_or_skip

# A bucket that does not refill while the test runs: 5 calls, then one an hour.
SLOW = "Bucket(5, 1 / 3600)"
TAKE_ALL = """
import sys
from clamp.workers.budget import Bucket, RedisCallBudget
budget = RedisCallBudget.from_url(sys.argv[1], buckets=lambda key: {slow})
waits = [budget.try_acquire(sys.argv[2]) for _ in range(int(sys.argv[3]))]
print(sum(1 for w in waits if w == 0), max(waits))
"""


def other_process(url: str, key: str, tries: int) -> tuple[int, float]:
    """Another process tries ``tries`` calls under ``key``: (granted, longest wait)."""
    out = subprocess.run(
        [sys.executable, "-c", TAKE_ALL.format(slow=SLOW), url, key, str(tries)],
        env={"PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), float(out[1])


def test_two_processes_share_one_bucket_per_account_and_api() -> None:
    url = redis_or_skip()
    key = f"azure:{uuid.uuid4()}:arm"
    budget = RedisCallBudget.from_url(url, buckets=lambda _: Bucket(5, 1 / 3600))
    mine = [budget.try_acquire(key) for _ in range(3)]
    assert mine == [0.0, 0.0, 0.0]
    granted, wait = other_process(url, key, 5)
    assert granted == 2  # what this process left of the 5
    assert wait > 60  # the rest must wait for the refill
    other_key = key.replace(":arm", ":resource-graph")
    assert other_process(url, other_key, 5)[0] == 5  # another API has its own bucket


def test_a_retry_after_holds_the_key_back_in_every_process() -> None:
    url = redis_or_skip()
    key = f"gcp:{uuid.uuid4()}:compute"
    budget = RedisCallBudget.from_url(url)
    budget.backoff(key, 30)
    granted, wait = other_process(url, key, 1)
    assert granted == 0
    assert 25 < wait <= 30


def test_the_buckets_follow_the_documented_limits() -> None:
    assert bucket_for("azure:sub-1:arm") == Bucket(250, 25)
    assert bucket_for("azure:resource-graph") == Bucket(15, 3)


def test_an_unreachable_redis_is_a_clear_error() -> None:
    budget = RedisCallBudget.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(WorkersUnavailable, match="unreachable"):
        budget.acquire("azure:sub-1:arm")
