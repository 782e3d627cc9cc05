"""GCRA in Redis: one atomic script on one key per limiter, timed by the Redis server's clock, so every instance
shares one exact count and instance clocks do not matter. One key per script keeps it Redis Cluster-safe.

When Redis does not answer, the policy decides: ``open`` (default) carries on with the in-process limiter (each
instance then limits on its own), ``closed`` refuses with 503 and Retry-After (never a 401: an outage says
nothing about the key).
"""

from __future__ import annotations

from typing import Literal

from redis.asyncio import Redis

from hokusai_auth.cluster.link import RedisDown, RedisLink
from hokusai_auth.ratelimit.gcra import HOUR_US, Decision, ceil_div
from hokusai_auth.ratelimit.memory import MemoryLimiter

FailureMode = Literal["open", "closed"]

# KEYS[1] = the limiter's TAT; ARGV = interval_us, capacity_us, cost.
# Returns {allowed, tat_after - now, retry_us}; integers in microseconds (exact in Lua's doubles below 2**53).
_GCRA = """
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + cost * interval
if new_tat - now > capacity then
  return {0, tat - now, new_tat - now - capacity}
end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
end
return {1, new_tat - now, 0}
"""


class LimiterUnavailable(Exception):
    """Redis is down and the failure mode is ``closed``."""


class RedisLimiter:
    def __init__(self, link: RedisLink, fallback: MemoryLimiter, mode: FailureMode = "open") -> None:
        self._link = link
        self._fallback = fallback
        self.mode = mode
        self._script = link.client.register_script(_GCRA)
        self.fallbacks = 0

    async def hit(self, bucket: str, limit_per_hour: int, burst: int, cost: int) -> Decision:
        interval = HOUR_US // limit_per_hour
        capacity = burst * interval

        async def run(client: Redis) -> list[int]:
            result = await self._script(
                keys=[self._link.key("rl", bucket)], args=[interval, capacity, cost], client=client
            )
            return [int(value) for value in result]

        try:
            allowed, ahead_us, retry_us = await self._link.call(run)
        except RedisDown:
            if self.mode == "closed":
                raise LimiterUnavailable from None
            self.fallbacks += 1
            return self._fallback.hit_now(bucket, limit_per_hour, burst, cost)
        remaining = max(0, (capacity - ahead_us) // interval)
        reset = ceil_div(ahead_us, 1_000_000)
        if allowed:
            return Decision(True, limit_per_hour, remaining, reset, None)
        return Decision(False, limit_per_hour, remaining, reset, max(1, ceil_div(retry_us, 1_000_000)))
