"""Everything a running service holds: built once in the app's lifespan from Settings, closed on shutdown.

Nothing here connects at import time; tests build one per configuration. The embeddable validator (for
services that validate in-process, and the gateway) is built the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from hokusai_auth.audit.service import AuditService
from hokusai_auth.clock import Clock, SystemClock
from hokusai_auth.db.engine import Database, open_database
from hokusai_auth.keys.service import KeyService
from hokusai_auth.keys.tokens import KeyDigester
from hokusai_auth.ratelimit.memory import MemoryLimiter
from hokusai_auth.security.admin import AdminAuthenticator
from hokusai_auth.security.service import ServiceAuthenticator
from hokusai_auth.settings import Settings
from hokusai_auth.usage.service import UsageService
from hokusai_auth.validation.cache import LocalKeyCache
from hokusai_auth.validation.hashing import KeyHasher
from hokusai_auth.validation.invalidation import Invalidator
from hokusai_auth.validation.last_used import LastUsedRecorder
from hokusai_auth.validation.validator import Validator


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    database: Database
    hasher: KeyHasher
    validator: Validator
    invalidator: Invalidator
    last_used: LastUsedRecorder
    keys: KeyService
    audit: AuditService
    admin: AdminAuthenticator
    service_auth: ServiceAuthenticator
    usage: UsageService
    # name -> probe, reported by /ready; optional ones degrade the service rather than stop it
    readiness_probes: dict[str, Callable[[], Awaitable[bool]]] = field(default_factory=dict)
    optional_dependencies: set[str] = field(default_factory=set)

    def gauges(self) -> dict[str, float]:
        return {"key_cache_entries": float(len(self.validator.cache)), **self.usage.gauges()}


@asynccontextmanager
async def open_runtime(settings: Settings, *, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    clock = clock or SystemClock()
    database = open_database(settings.require_database_url())
    digester = KeyDigester(settings.require_secret_key())
    hasher = KeyHasher(settings.bcrypt_rounds)
    cache = LocalKeyCache(settings.cache_ttl, settings.negative_cache_ttl)
    invalidator = Invalidator(cache)
    last_used = LastUsedRecorder(database, settings.usage_flush_interval)
    validator = Validator(
        database=database,
        digester=digester,
        cache=cache,
        hasher=hasher,
        limiter=MemoryLimiter(now_us=lambda: int(clock.timestamp() * 1_000_000)),
        last_used=last_used,
        clock=clock,
    )
    runtime = Runtime(
        settings=settings,
        clock=clock,
        database=database,
        hasher=hasher,
        validator=validator,
        invalidator=invalidator,
        last_used=last_used,
        keys=KeyService(database=database, digester=digester, hasher=hasher, clock=clock, invalidator=invalidator),
        audit=AuditService(database, clock),
        admin=AdminAuthenticator(settings.admin_token_values()),
        service_auth=ServiceAuthenticator(settings.service_token_values()),
        usage=UsageService(
            database=database,
            clock=clock,
            flush_interval=settings.usage_flush_interval,
            negative_ttl=settings.negative_cache_ttl,
        ),
    )
    last_used.start()
    runtime.usage.start()
    try:
        yield runtime
    finally:
        await runtime.usage.stop()  # before the database closes: buffered usage is written on the way out
        await last_used.stop()
        hasher.close()
        await database.dispose()
