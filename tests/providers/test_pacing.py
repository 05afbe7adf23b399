"""The in-process call budget: a bucket per key at its API's rate, holds from Retry-After,
and no pacing where no rate is documented (a fake clock; nothing sleeps)."""

from __future__ import annotations

from clamp.providers.azure.clients import call_key, seconds
from clamp.providers.pacing import LocalBudget, Rate, spare_calls


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, wait: float) -> None:
        self.slept.append(round(wait, 6))
        self.now += wait


def budget(clock: Clock) -> LocalBudget:
    return LocalBudget(
        rates={"arm": Rate(per_second=2.0, burst=3.0)}, clock=clock, sleep=clock.sleep
    )


def test_a_burst_goes_at_once_then_calls_wait_for_the_refill() -> None:
    clock = Clock()
    paced = budget(clock)

    for _ in range(5):
        paced.acquire("azure:s1:arm")

    assert clock.slept == [0.5, 0.5]


def test_each_key_has_its_own_bucket() -> None:
    clock = Clock()
    paced = budget(clock)

    for key in ("azure:s1:arm", "azure:s2:arm") * 3:
        paced.acquire(key)

    assert clock.slept == []


def test_a_retry_after_holds_every_call_under_its_key() -> None:
    clock = Clock()
    paced = budget(clock)
    paced.backoff("azure:resource-graph", 2.0)

    paced.acquire("azure:s1:arm")
    paced.acquire("azure:resource-graph")

    assert clock.slept == [2.0]


def test_an_api_without_a_documented_rate_is_not_paced() -> None:
    clock = Clock()
    paced = budget(clock)

    for _ in range(1000):
        paced.acquire("azure:resource-graph")

    assert clock.slept == []


def test_calls_are_keyed_by_subscription_and_api() -> None:
    base = "https://management.azure.com"
    assert call_key(
        f"{base}/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01"
    ) == ("azure:resource-graph")
    assert call_key(f"{base}/subscriptions/S1/providers/Microsoft.Network/x") == "azure:s1:arm"
    assert call_key(f"{base}/subscriptions?api-version=2022-12-01") == "azure:arm"


def test_retry_after_and_quota_resets_are_read_as_seconds() -> None:
    assert seconds("7") == 7.0
    assert seconds("00:00:03") == 3.0
    assert seconds("01:02:03") == 3723.0
    assert seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert seconds(None) is None


def test_spare_calls_leave_a_fifth_of_the_bucket_to_the_others() -> None:
    clock = Clock()
    paced = LocalBudget(
        rates={"arm": Rate(per_second=10.0, burst=10.0)}, clock=clock, sleep=clock.sleep
    )

    with spare_calls():
        for _ in range(8):  # 8 of 10 go at once; the last 2 stay for the others
            paced.acquire("azure:s1:arm")
    assert clock.slept == []
    for _ in range(2):
        paced.acquire("azure:s1:arm")  # a fix's calls: no wait behind the burst
    assert clock.slept == []

    with spare_calls():
        paced.acquire("azure:s1:arm")  # the bucket is empty: waits until 2 + 1 are back
    assert sum(clock.slept) == 0.3
