"""A call budget shared by every worker: one token bucket per account and API in Redis.

Celery's ``rate_limit`` paces one worker's tasks; the clouds limit an account's calls
whatever process makes them, so the bucket lives in Redis and a Lua script takes a token
atomically (Redis runs a script alone: no two workers see the same token). A 429's
``Retry-After`` (``backoff``) holds the key back for every worker at once.

Keys are ``CallBudget`` keys (``azure:<subscription>:arm``, ``gcp:<project>:compute``); the
bucket of a key follows its API's documented limit (``API_LIMITS``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from clamp.errors import ConfigError, WorkersUnavailable

# Returns the seconds to wait before a token is free (0: one was taken now). The clock is
# Redis's own (TIME), so workers on several hosts share one clock.
_TAKE = """
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return tostring(held / 1000) end
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return tostring(wait)
"""
# Holds a key back until ``now + ARGV[1]`` ms unless it is already held longer.
_HOLD = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return ms
"""


@dataclass(frozen=True)
class Bucket:
    """A token bucket: ``capacity`` calls at once, refilled at ``rate`` calls a second."""

    capacity: float
    rate: float


API_LIMITS: Mapping[str, Bucket] = {
    # ARM throttling: a bucket of 250 reads per subscription, refilled 25 a second
    # (learn.microsoft.com, "Understand how Azure Resource Manager throttles requests").
    "arm": Bucket(250, 25),
    # Resource Graph: 15 queries per 5-second window per user (learn.microsoft.com,
    # "Guidance for throttled requests in Azure Resource Graph").
    "resource-graph": Bucket(15, 3),
    # Google quotas are per project and per minute and vary by API and project; these
    # are conservative defaults, not documented figures (README: "Workers").
    "compute": Bucket(100, 20),
    "cloudasset": Bucket(50, 1),
}
DEFAULT_BUCKET = Bucket(50, 10)


def bucket_for(key: str) -> Bucket:
    """The bucket of a ``CallBudget`` key: its API's (the last part), else the default."""
    return API_LIMITS.get(key.rsplit(":", 1)[-1], DEFAULT_BUCKET)


class RedisCallBudget:
    """A ``CallBudget`` every worker shares, kept in Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "clamp:budget:",
        buckets: Callable[[str], Bucket] = bucket_for,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.buckets = buckets
        self.sleep = sleep
        self._take: Any = client.register_script(_TAKE)
        self._hold: Any = client.register_script(_HOLD)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisCallBudget:
        """The budget in the Redis at ``url`` (``redis://host:port/db``)."""
        try:
            client = redis.Redis.from_url(url)
        except ValueError as exc:
            raise ConfigError(f"workers: not a Redis URL: {url!r}: {exc}") from None
        return cls(client, **kwargs)

    def try_acquire(self, key: str) -> float:
        """Take a token under ``key`` if one is free (0.0); else the seconds until one is
        (nothing taken)."""
        bucket = self.buckets(key)
        keys = [f"{self.prefix}{key}", f"{self.prefix}{key}:hold"]
        try:
            wait = float(self._take(keys=keys, args=[bucket.capacity, bucket.rate]))
        except redis.RedisError as exc:
            raise WorkersUnavailable(
                f"the shared call budget's Redis is unreachable: {exc}"
            ) from exc
        return wait

    def acquire(self, key: str) -> None:
        """Block until one call under ``key`` may go, for whichever worker asks."""
        while (wait := self.try_acquire(key)) > 0:
            self.sleep(wait)

    def backoff(self, key: str, seconds: float) -> None:
        """Hold ``key`` back ``seconds`` for every worker (a 429's ``Retry-After``)."""
        try:
            self._hold(keys=[f"{self.prefix}{key}:hold"], args=[max(1, int(seconds * 1000))])
        except redis.RedisError as exc:
            raise WorkersUnavailable(
                f"the shared call budget's Redis is unreachable: {exc}"
            ) from exc
