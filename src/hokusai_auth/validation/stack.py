"""Everything a validator needs, built from Settings: the database, the caches (local and, with REDIS_URL,
shared), the limiter, the invalidation channels, the last-used recorder. The auth service, the embedded
validator (for services that validate in-process) and the gateway all open the same stack, so they validate
identically.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import text

from hokusai_auth.clock import Clock, SystemClock
from hokusai_auth.cluster.link import RedisLink
from hokusai_auth.db.engine import Database, open_database
from hokusai_auth.keys.tokens import KeyDigester
from hokusai_auth.propagation.change_feed import ChangeFeed
from hokusai_auth.propagation.invalidation import Invalidator
from hokusai_auth.propagation.invalidation_bus import RedisInvalidationBus
from hokusai_auth.propagation.shared_cache import SharedKeyCache
from hokusai_auth.ratelimit.base import Limiter
from hokusai_auth.ratelimit.memory import MemoryLimiter
from hokusai_auth.ratelimit.redis import RedisLimiter
from hokusai_auth.settings import Settings
from hokusai_auth.usage.service import UsageService
from hokusai_auth.validation.cache import LocalKeyCache
from hokusai_auth.validation.hashing import KeyHasher
from hokusai_auth.validation.last_used import LastUsedRecorder
from hokusai_auth.validation.quota import MonthlyQuota
from hokusai_auth.validation.validator import Validator

# While Redis pub/sub is proven by its heartbeat the database change feed is only a safety net and polls slowly.
RELAXED_CHANGE_FEED_INTERVAL_S = 5.0


@dataclass
class ValidationStack:
    settings: Settings
    clock: Clock
    database: Database
    digester: KeyDigester
    hasher: KeyHasher
    cache: LocalKeyCache
    limiter: Limiter
    last_used: LastUsedRecorder
    invalidator: Invalidator
    validator: Validator
    change_feed: ChangeFeed
    usage: UsageService
    redis: RedisLink | None = None
    bus: RedisInvalidationBus | None = None
    probes: dict[str, Callable[[], Awaitable[bool]]] = field(default_factory=dict)

    async def database_ok(self, within_s: float = 2.0) -> bool:
        """One round trip to the database (the readiness check)."""
        try:
            async with asyncio.timeout(within_s), self.database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready"
            return False
        return True


@asynccontextmanager
async def open_validation(settings: Settings, *, clock: Clock | None = None) -> AsyncIterator[ValidationStack]:
    clock = clock or SystemClock()
    async with AsyncExitStack() as exits:
        database = open_database(settings.require_database_url())
        exits.push_async_callback(database.dispose)
        hasher = KeyHasher(settings.bcrypt_rounds)
        exits.callback(hasher.close)
        cache = LocalKeyCache(settings.cache_ttl, settings.negative_cache_ttl)
        memory_limiter = MemoryLimiter(now_us=lambda: int(clock.timestamp() * 1_000_000))

        redis: RedisLink | None = None
        shared: SharedKeyCache | None = None
        bus: RedisInvalidationBus | None = None
        limiter: Limiter = memory_limiter
        probes: dict[str, Callable[[], Awaitable[bool]]] = {}
        if settings.redis_url:
            redis = RedisLink(settings.redis_url, prefix=settings.redis_prefix, timeout=settings.redis_timeout)
            exits.push_async_callback(redis.close)
            shared = SharedKeyCache(redis, settings.cache_ttl)
            bus = RedisInvalidationBus(redis, shared, cache)
            limiter = RedisLimiter(redis, memory_limiter, settings.rate_limit_failure_mode)
            probes["redis"] = redis.ping

        last_used = LastUsedRecorder(database, settings.usage_flush_interval)
        invalidator = Invalidator(cache, bus)
        validator = Validator(
            database=database,
            digester=KeyDigester(settings.require_secret_key()),
            cache=cache,
            hasher=hasher,
            limiter=limiter,
            last_used=last_used,
            clock=clock,
            shared=shared,
        )
        # Usage belongs here: the monthly quota reads it on the validation path, and in-process validators (the
        # gateway) record the usage of the requests they let through.
        usage = UsageService(
            database=database,
            clock=clock,
            flush_interval=settings.usage_flush_interval,
            negative_ttl=settings.negative_cache_ttl,
        )
        validator.quota = MonthlyQuota(usage, monotonic=clock.timestamp)
        change_feed = ChangeFeed(
            database,
            cache,
            clock,
            interval=settings.change_feed_interval,
            relaxed_interval=RELAXED_CHANGE_FEED_INTERVAL_S,
            push_proven_since=bus.proven_since if bus is not None else (lambda: None),
        )

        last_used.start()
        exits.push_async_callback(last_used.stop)
        usage.start()
        exits.push_async_callback(usage.stop)  # runs before the database closes: buffered usage is written
        change_feed.start()
        exits.push_async_callback(change_feed.stop)
        if bus is not None:
            bus.start()
            exits.push_async_callback(bus.stop)

        yield ValidationStack(
            settings=settings,
            clock=clock,
            database=database,
            digester=validator.digester,
            hasher=hasher,
            cache=cache,
            limiter=limiter,
            last_used=last_used,
            invalidator=invalidator,
            validator=validator,
            change_feed=change_feed,
            usage=usage,
            redis=redis,
            bus=bus,
            probes=probes,
        )
