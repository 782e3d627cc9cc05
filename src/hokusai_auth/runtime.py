"""Everything a running service holds: built once in the app's lifespan from Settings, closed on shutdown.

Nothing here connects at import time; tests build one per configuration. The validation machinery comes from
``validation.stack`` (shared with the embedded validator and the gateway).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from hokusai_auth.audit.service import AuditService
from hokusai_auth.clock import Clock
from hokusai_auth.components import Components
from hokusai_auth.db.engine import Database
from hokusai_auth.keys.service import KeyService
from hokusai_auth.ops.readiness import ReadinessProbes
from hokusai_auth.propagation.invalidation import Invalidator
from hokusai_auth.security.admin import AdminAuthenticator
from hokusai_auth.security.failures import FailedCredentials
from hokusai_auth.security.principal import Credentials
from hokusai_auth.security.service import ServiceAuthenticator
from hokusai_auth.settings import Settings
from hokusai_auth.usage.service import UsageService
from hokusai_auth.validation.hashing import KeyHasher
from hokusai_auth.validation.last_used import LastUsedRecorder
from hokusai_auth.validation.stack import ValidationStack, open_validation
from hokusai_auth.validation.validator import Validator


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    stack: ValidationStack
    keys: KeyService
    audit: AuditService
    credentials: Credentials
    failed_credentials: FailedCredentials
    usage: UsageService
    readiness: ReadinessProbes

    def components(self) -> Components:
        """What the routes and the credential gate ask for (components.py)."""
        return Components(self.keys, self.audit, self.usage, self.credentials, self.readiness)

    @property
    def database(self) -> Database:
        return self.stack.database

    @property
    def validator(self) -> Validator:
        return self.stack.validator

    @property
    def hasher(self) -> KeyHasher:
        return self.stack.hasher

    @property
    def invalidator(self) -> Invalidator:
        return self.stack.invalidator

    @property
    def last_used(self) -> LastUsedRecorder:
        return self.stack.last_used

    def gauges(self) -> dict[str, float]:
        gauges = {
            "key_cache_entries": float(len(self.validator.cache)),
            "auth_throttled_requests": float(self.failed_credentials.throttled),
            **self.usage.gauges(),
        }
        if self.stack.redis is not None:
            gauges["redis_up"] = 1.0 if self.stack.redis.up else 0.0
        if self.stack.bus is not None:  # 0: pub/sub in doubt, revocations travel by the database change feed
            gauges["redis_pubsub_proven"] = 1.0 if self.stack.bus.heartbeat.proven else 0.0
        return gauges


@asynccontextmanager
async def open_runtime(settings: Settings, *, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as exits:
        stack = await exits.enter_async_context(open_validation(settings, clock=clock))
        failed_credentials = FailedCredentials(
            limiter=stack.limiter,
            database=stack.database,
            clock=stack.clock,
            burst=settings.auth_failure_burst,
            per_hour=settings.auth_failure_per_hour,
            window_s=settings.auth_failure_window,
        )
        failed_credentials.start()
        exits.push_async_callback(failed_credentials.stop)  # the last window's counts are written at shutdown
        yield Runtime(
            settings=settings,
            clock=stack.clock,
            stack=stack,
            keys=KeyService(
                database=stack.database,
                digester=stack.digester,
                hasher=stack.hasher,
                clock=stack.clock,
                invalidator=stack.invalidator,
            ),
            audit=AuditService(stack.database, stack.clock),
            credentials=Credentials(
                admin=AdminAuthenticator(settings.admin_token_values()),
                services=ServiceAuthenticator(settings.service_token_values()),
                failures=failed_credentials,
                trusted_proxies=settings.trusted_proxies,
            ),
            failed_credentials=failed_credentials,
            usage=stack.usage,
            readiness=ReadinessProbes({"database": stack.database.ping}, dict(stack.probes)),
        )
