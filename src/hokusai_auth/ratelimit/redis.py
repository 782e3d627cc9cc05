"""GCRA in Redis: one atomic script on one key per limiter, timed by the Redis server's clock, so every instance
shares one exact count and instance clocks do not matter. One key per script keeps it Redis Cluster-safe.

Concurrent checks are batched: every check made in one turn of the event loop goes to Redis in one pipeline (one
write, one read), so under load a check costs a fraction of a round trip.

When Redis does not answer, the policy decides: ``open`` (default) carries on with the in-process limiter (each
instance then limits on its own), ``closed`` refuses with 503 and Retry-After (never a 401: an outage says
nothing about the key).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from hokusai_auth.cluster.link import RedisDown, RedisLink
from hokusai_auth.ratelimit.base import LimiterUnavailable
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


@dataclass
class _Batch:
    calls: list[tuple[str, list[int]]] = field(default_factory=list)
    futures: list[asyncio.Future[list[int]]] = field(default_factory=list)


class RedisLimiter:
    def __init__(self, link: RedisLink, fallback: MemoryLimiter, mode: FailureMode = "open") -> None:
        self._link = link
        self._fallback = fallback
        self.mode = mode
        self._script = link.client.register_script(_GCRA)
        self._batch: _Batch | None = None
        self._sending: set[asyncio.Task[None]] = set()  # held so the event loop cannot drop a batch mid-flight
        self.fallbacks = 0  # checks answered by the in-process fallback while Redis was down

    async def hit(self, bucket: str, limit_per_hour: int, burst: int, cost: int) -> Decision:
        interval = HOUR_US // limit_per_hour
        capacity = burst * interval
        try:
            allowed, ahead_us, retry_us = await self._enqueue(bucket, [interval, capacity, cost])
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

    async def _enqueue(self, bucket: str, args: list[int]) -> list[int]:
        if not self._link.up:
            raise RedisDown
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = _Batch()
            loop.call_soon(self._send)  # after every coroutine ready in this turn has had its chance to join
        future: asyncio.Future[list[int]] = loop.create_future()
        self._batch.calls.append((self._link.key("rl", bucket), args))
        self._batch.futures.append(future)
        return await future

    def _send(self) -> None:
        batch, self._batch = self._batch, None
        if batch is not None:
            task = asyncio.ensure_future(self._execute(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _execute(self, batch: _Batch) -> None:
        try:
            replies = await self._link.call(lambda client: self._pipeline(client, batch))
        except RedisDown:
            for future in batch.futures:
                if not future.done():
                    future.set_exception(RedisDown())
            return
        for future, reply in zip(batch.futures, replies, strict=True):
            if not future.done():
                future.set_result(reply)

    async def _pipeline(self, client: Redis, batch: _Batch) -> list[list[int]]:
        sha = self._script.sha
        for _ in range(2):
            pipe = client.pipeline(transaction=False)
            for key, args in batch.calls:
                pipe.evalsha(sha, 1, key, *args)
            try:
                return [[int(value) for value in reply] for reply in await pipe.execute()]
            except NoScriptError:  # a restarted or flushed Redis forgot the script: load it, then once more
                await client.script_load(_GCRA)
        raise RedisDown
