"""The composition root: everything a running process holds, built once from Settings and closed on shutdown.

``open_validation`` builds what validates a key in this process: the database, the caches (local and, with
REDIS_URL, shared), the limiter, usage and its monthly quota, the validator, and the propagation of key changes
between instances. The auth service, the embedded validator and the in-process gateway all open it, so they
validate identically. ``open_runtime`` adds what only the service has: key management, the audit log, the admin
and service credentials, and users: wallet sign-in, sessions and their tokens. Every part gets its collaborators
through its constructor; nothing is set afterwards, and nothing connects at import time (tests build one runtime
per configuration).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, fields
from typing import Any

from hokusai_auth.audit.service import AuditService
from hokusai_auth.bootstrap import default_data_dir
from hokusai_auth.clock import Clock, SystemClock
from hokusai_auth.cluster.link import RedisLink
from hokusai_auth.components import Components
from hokusai_auth.dashboard.csrf import CsrfTokens
from hokusai_auth.dashboard.identity import DashboardIdentity
from hokusai_auth.dashboard.services import DashboardServices
from hokusai_auth.db.engine import Database, open_database
from hokusai_auth.device.service import DeviceAuthorizations
from hokusai_auth.errors import UNAVAILABLE_ERRORS
from hokusai_auth.keys.hashing import KeyHasher
from hokusai_auth.keys.last_used import LastUsedRecorder
from hokusai_auth.keys.service import KeyService
from hokusai_auth.keys.store import DatabaseKeyStore
from hokusai_auth.keys.tokens import KeyDigester
from hokusai_auth.mail.sender import MailSender
from hokusai_auth.mail.transport import open_transport
from hokusai_auth.ops.readiness import ReadinessProbes
from hokusai_auth.organizations.invitations import Invitations
from hokusai_auth.organizations.keys import OrganizationKeys
from hokusai_auth.organizations.operators import OrganizationAdministration
from hokusai_auth.organizations.service import Organizations
from hokusai_auth.organizations.usage import OrganizationUsageReport
from hokusai_auth.propagation.change_feed import ChangeFeed
from hokusai_auth.propagation.invalidation import Invalidator
from hokusai_auth.propagation.invalidation_bus import RedisInvalidationBus
from hokusai_auth.propagation.shared_cache import SharedKeyCache
from hokusai_auth.ratelimit.base import Limiter
from hokusai_auth.ratelimit.memory import MemoryLimiter
from hokusai_auth.ratelimit.redis import RedisLimiter
from hokusai_auth.registrations.service import Registrations
from hokusai_auth.security.address_limit import AddressLimit
from hokusai_auth.security.failures import FailedCredentials
from hokusai_auth.security.principal import Credentials
from hokusai_auth.security.tokens import BearerTokens
from hokusai_auth.sessions.feed import SessionFeed
from hokusai_auth.sessions.refresh_tokens import RefreshDigester
from hokusai_auth.sessions.service import SessionService
from hokusai_auth.sessions.states import SessionStates
from hokusai_auth.sessions.verification import TokenChecker
from hokusai_auth.settings import Settings
from hokusai_auth.signing.access_tokens import AccessTokens
from hokusai_auth.signing.keyring import SigningKeyRing
from hokusai_auth.siwe.service import SignIn
from hokusai_auth.usage.quota import MonthlyQuota
from hokusai_auth.usage.service import UsageService
from hokusai_auth.user_admin.service import UserAdministration
from hokusai_auth.users.service import UserService
from hokusai_auth.validation.cache import LocalKeyCache
from hokusai_auth.validation.validator import Validator
from hokusai_auth.web.client_ip import IPNetwork

logger = logging.getLogger("hokusai_auth.runtime")
# While Redis pub/sub is proven by its heartbeat the database change feed is only a safety net and polls slowly.
RELAXED_CHANGE_FEED_INTERVAL_S = 5.0


@dataclass(frozen=True, kw_only=True)
class ValidationRuntime:
    """What validates keys in this process (the embedded validator's and the in-process gateway's whole runtime)."""

    settings: Settings
    clock: Clock
    database: Database
    digester: KeyDigester
    hasher: KeyHasher
    cache: LocalKeyCache
    limiter: Limiter
    key_store: DatabaseKeyStore
    last_used: LastUsedRecorder
    usage: UsageService
    validator: Validator
    key_changes: Invalidator  # where a change committed in this process is announced
    change_feed: ChangeFeed
    redis: RedisLink | None
    bus: RedisInvalidationBus | None

    @property
    def trusted_proxies(self) -> tuple[IPNetwork, ...]:
        """Which proxies may name the client's address (validation.endpoint.Validating)."""
        return self.settings.trusted_proxies

    def gauges(self) -> dict[str, float]:
        gauges = {"key_cache_entries": float(len(self.cache)), **self.usage.gauges()}
        if self.redis is not None:
            gauges["redis_up"] = 1.0 if self.redis.up else 0.0
        if self.bus is not None:  # 0: pub/sub in doubt, revocations travel by the database change feed
            gauges["redis_pubsub_proven"] = 1.0 if self.bus.heartbeat.proven else 0.0
        return gauges


@dataclass(frozen=True, kw_only=True)
class Runtime(ValidationRuntime):
    """The auth service: validation, plus key management, the audit log and the operators' credentials."""

    keys: KeyService
    audit: AuditService
    credentials: Credentials
    failed_credentials: FailedCredentials
    readiness: ReadinessProbes
    users: UserService
    user_administration: UserAdministration
    sessions: SessionService
    session_states: SessionStates
    session_feed: SessionFeed
    sign_in: SignIn
    signing_keys: SigningKeyRing
    token_checker: TokenChecker  # what /api/v1/tokens/validate's fast path asks
    registrations: Registrations
    organizations: Organizations
    invitations: Invitations
    organization_keys: OrganizationKeys
    organization_usage: OrganizationUsageReport
    organization_administration: OrganizationAdministration
    mail_sender: MailSender
    device_authorizations: DeviceAuthorizations
    dashboard: DashboardServices

    def components(self) -> Components:
        """What the routes and the credential gate ask for (components.py)."""
        return Components(
            self.keys,
            self.audit,
            self.usage,
            self.credentials,
            self.readiness,
            self.users,
            self.user_administration,
            self.sessions,
            self.sign_in,
            self.signing_keys,
            self.registrations,
            self.organizations,
            self.invitations,
            self.organization_keys,
            self.organization_usage,
            self.organization_administration,
            self.mail_sender,
            self.device_authorizations,
            self.dashboard,
        )

    def gauges(self) -> dict[str, float]:
        return {
            **super().gauges(),
            "auth_throttled_requests": float(self.failed_credentials.throttled),
            **self.mail_sender.gauges(),
        }


@asynccontextmanager
async def open_validation(settings: Settings, *, clock: Clock | None = None) -> AsyncIterator[ValidationRuntime]:
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
        if settings.redis_url:
            redis = RedisLink(settings.redis_url, prefix=settings.redis_prefix, timeout=settings.redis_timeout)
            exits.push_async_callback(redis.close)
            shared = SharedKeyCache(redis, settings.cache_ttl)
            bus = RedisInvalidationBus(redis, shared, cache)
            limiter = RedisLimiter(redis, memory_limiter, settings.rate_limit_failure_mode)

        digester = KeyDigester(settings.require_secret_key())
        key_store = DatabaseKeyStore(database)
        last_used = LastUsedRecorder(database, settings.usage_flush_interval)
        # Usage belongs here: the monthly quota reads it on the validation path, and in-process validators (the
        # gateway) record the usage of the requests they let through.
        usage = UsageService(
            database=database,
            clock=clock,
            flush_interval=settings.usage_flush_interval,
            negative_ttl=settings.negative_cache_ttl,
        )
        validator = Validator(
            store=key_store,
            digester=digester,
            cache=cache,
            hasher=hasher,
            limiter=limiter,
            last_used=last_used,
            clock=clock,
            shared=shared,
            quota=MonthlyQuota(usage, monotonic=clock.timestamp),
        )
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

        yield ValidationRuntime(
            settings=settings,
            clock=clock,
            database=database,
            digester=digester,
            hasher=hasher,
            cache=cache,
            limiter=limiter,
            key_store=key_store,
            last_used=last_used,
            usage=usage,
            validator=validator,
            key_changes=Invalidator(cache, bus),
            change_feed=change_feed,
            redis=redis,
            bus=bus,
        )


@asynccontextmanager
async def open_runtime(settings: Settings, *, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as exits:
        validation = await exits.enter_async_context(open_validation(settings, clock=clock))
        failed_credentials = FailedCredentials(
            limiter=validation.limiter,
            database=validation.database,
            clock=validation.clock,
            burst=settings.auth_failure_burst,
            per_hour=settings.auth_failure_per_hour,
            window_s=settings.auth_failure_window,
        )
        failed_credentials.start()
        exits.push_async_callback(failed_credentials.stop)  # the last window's counts are written at shutdown
        redis = validation.redis
        database, clock = validation.database, validation.clock

        tokens = await exits.enter_async_context(open_token_checking(settings, database, clock))
        signing_keys, access_tokens, session_states = tokens.signing_keys, tokens.access_tokens, tokens.states
        users = UserService(database=database)
        sessions = SessionService(
            database=database,
            clock=clock,
            access_tokens=access_tokens,
            digester=RefreshDigester(settings.require_secret_key()),
            refresh_ttl=settings.refresh_token_ttl,
            states=session_states,
        )
        token_checker = tokens.checker
        smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url is not None else None
        mail_sender = MailSender(
            database,
            open_transport(smtp_url, settings.data_dir or default_data_dir()),  # unset: .eml files in outbox/
            clock,
            mail_from=settings.mail_from,
            interval=settings.mail_send_interval,
            max_attempts=settings.mail_max_attempts,
        )
        mail_sender.start()
        exits.push_async_callback(mail_sender.stop)
        keys = KeyService(
            database=database,
            digester=validation.digester,
            hasher=validation.hasher,
            clock=clock,
            changes=validation.key_changes,
            max_keys_per_user=settings.max_keys_per_user,
        )

        def members_changed(user_ids: Iterable[uuid.UUID]) -> None:
            """This instance forgets their sessions' state at once; the others hear through the session feed."""
            for user_id in user_ids:
                session_states.user_changed(user_id)

        registrations = Registrations(
            database=database,
            clock=clock,
            keys=keys,
            members_changed=members_changed,
            limiter=validation.limiter,
            secret_key=settings.require_secret_key(),
            public_url=settings.public_url,
            registrations_per_hour=settings.registrations_per_hour,
            status_checks_per_hour=settings.registration_status_per_hour,
        )
        device_authorizations = DeviceAuthorizations(
            database=database,
            clock=clock,
            sessions=sessions,
            limiter=validation.limiter,
            secret_key=settings.require_secret_key(),
            public_url=settings.public_url,
            codes_per_hour=settings.device_codes_per_hour,
        )
        admin_tokens = BearerTokens("admin", _admin_tokens(settings))
        organizations = Organizations(database=database, clock=clock, keys=keys, members_changed=members_changed)
        invitations = Invitations(
            database=database,
            clock=clock,
            secret_key=settings.require_secret_key(),
            public_url=settings.public_url,
            members_changed=members_changed,
        )
        organization_keys = OrganizationKeys(keys=keys)
        organization_usage = OrganizationUsageReport(database=database, clock=clock)
        user_administration = UserAdministration(
            database=database, clock=clock, key_changes=validation.key_changes, session_states=session_states
        )
        audit = AuditService(database, clock)
        sign_in = SignIn(
            database=database,
            clock=clock,
            public_url=settings.public_url,
            chain_ids=settings.siwe_chain_ids,
            users=users,
            sessions=sessions,
            per_address=AddressLimit(
                validation.limiter,
                "sign-in",
                per_hour=settings.sign_in_per_hour,
                burst=max(1, settings.sign_in_per_hour // 10),
            ),
        )
        dashboard = DashboardServices(
            identity=DashboardIdentity(
                checker=token_checker,
                sessions=sessions,
                admin=admin_tokens,
                secret_key=settings.require_secret_key(),
                clock=clock,
                proxies=settings.trusted_proxies,
                refresh_ttl=settings.refresh_token_ttl,
            ),
            csrf=CsrfTokens(settings.require_secret_key()),
            failures=failed_credentials,
            sign_in=sign_in,
            keys=keys,
            usage=validation.usage,
            limiter=validation.limiter,
            organizations=organizations,
            invitations=invitations,
            organization_keys=organization_keys,
            organization_usage=organization_usage,
            registrations=registrations,
            users=users,
            user_administration=user_administration,
            audit=audit,
            mail=mail_sender,
            devices=device_authorizations,
        )
        yield Runtime(
            **_fields_of(validation),
            keys=keys,
            registrations=registrations,
            organizations=organizations,
            invitations=invitations,
            organization_keys=organization_keys,
            organization_usage=organization_usage,
            dashboard=dashboard,
            organization_administration=OrganizationAdministration(database=database, clock=clock, keys=keys),
            audit=audit,
            credentials=Credentials(
                admin=admin_tokens,
                services=BearerTokens("service", settings.service_token_values()),
                failures=failed_credentials,
                trusted_proxies=settings.trusted_proxies,
                users=token_checker,
            ),
            users=users,
            user_administration=user_administration,
            sessions=sessions,
            session_states=session_states,
            session_feed=tokens.feed,
            sign_in=sign_in,
            signing_keys=signing_keys,
            token_checker=token_checker,
            mail_sender=mail_sender,
            device_authorizations=device_authorizations,
            failed_credentials=failed_credentials,
            # Redis is optional: when it is down the service carries on (degraded), so it is not required.
            readiness=ReadinessProbes(
                required={"database": validation.database.ping},
                optional={"redis": redis.ping} if redis is not None else {},
            ),
        )


@dataclass(frozen=True, kw_only=True)
class TokenChecking:
    """What checks access tokens in this process: the signing keys, the session states and their feed."""

    signing_keys: SigningKeyRing
    access_tokens: AccessTokens
    states: SessionStates
    feed: SessionFeed
    checker: TokenChecker


@asynccontextmanager
async def open_token_checking(settings: Settings, database: Database, clock: Clock) -> AsyncIterator[TokenChecking]:
    """The service opens this, and so does the embedded middleware that accepts session tokens: both check a
    token the same way, against the same database."""
    async with AsyncExitStack() as exits:
        signing_keys = SigningKeyRing(database, settings.require_secret_key(), clock, settings.access_token_ttl)
        try:
            await signing_keys.load()
        except UNAVAILABLE_ERRORS:  # start anyway, as with the rest: sign-in answers 503 until the keys load
            logger.warning("signing keys not loaded: the database did not answer; retrying in the background")
        signing_keys.start()  # reloads now and then: a key rotated on another instance is signed with here too
        exits.push_async_callback(signing_keys.stop)
        access_tokens = AccessTokens(signing_keys, issuer=settings.public_url, ttl=settings.access_token_ttl)
        states = SessionStates(database, ttl=settings.cache_ttl)
        feed = SessionFeed(database, states, clock, interval=settings.change_feed_interval)
        feed.start()
        exits.push_async_callback(feed.stop)
        yield TokenChecking(
            signing_keys=signing_keys,
            access_tokens=access_tokens,
            states=states,
            feed=feed,
            checker=TokenChecker(access_tokens, states, clock),
        )


def _fields_of(validation: ValidationRuntime) -> dict[str, Any]:
    """The parts already built, to hand on to the service's Runtime (which has them all, and more)."""
    return {field.name: getattr(validation, field.name) for field in fields(ValidationRuntime)}


def _admin_tokens(settings: Settings) -> tuple[str, ...]:
    tokens = settings.admin_token_values()
    if not tokens:  # bootstrap.prepare fills one in (or refuses to start): an empty list here is a wiring bug
        raise ValueError("at least one admin token is required")
    return tokens
