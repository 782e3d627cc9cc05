"""The key validator: the one place that decides whether a presented key may be used.

Order of work (cheapest first, and no I/O until a key is well-formed):
parse + checksum → in-process cache by lookup digest → on a miss, the shared cache (Redis) → else one indexed
query and at most one bcrypt (shared by concurrent callers of the same key) → state checks → rate limit.
The HTTP endpoint, the embedded validator and its ASGI middleware, and the gateway all call ``validate``.
Everything outside this core (the database, Redis, usage counts) comes in through the protocols of ports.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

from hokusai import _keys as key_format
from hokusai._vocabulary import Failure
from hokusai_auth.clock import Clock
from hokusai_auth.ratelimit.base import Limiter, LimiterUnavailable
from hokusai_auth.ratelimit.gcra import Decision
from hokusai_auth.validation.cache import LocalKeyCache, Lookup, Miss
from hokusai_auth.validation.ports import Digester, KeyStore, LastUse, Quota, SharedStates, StoreUnavailable, Verifier
from hokusai_auth.validation.rejection import Rejection, reject, unavailable
from hokusai_auth.validation.state import CheckRequest, KeyFacts, KeyState

logger = logging.getLogger("hokusai_auth.validation")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer about one key, whoever decided it: this validator (``state`` is then the full ``KeyState``) or,
    for a gateway without the database, the validate endpoint over HTTP (``state`` read back from its answer)."""

    state: KeyFacts | None  # what is known of the key whenever it was found
    rejection: Rejection | None  # None: valid
    limit: Decision | None  # rate-limit position, for the X-RateLimit-* headers

    @property
    def valid(self) -> bool:
        return self.rejection is None


def _unavailable(what: str) -> Rejection:
    return unavailable(f"{what} unavailable; retry shortly")


class Validator:
    def __init__(
        self,
        *,
        store: KeyStore,
        digester: Digester,
        cache: LocalKeyCache,
        hasher: Verifier,
        limiter: Limiter,
        last_used: LastUse,
        clock: Clock,
        shared: SharedStates | None = None,
        quota: Quota | None = None,
    ) -> None:
        self._store = store
        self.digester = digester
        self.cache = cache
        self.hasher = hasher
        self._limiter = limiter
        self._last_used = last_used
        self._clock = clock
        self._shared = shared
        self._quota = quota
        self._inflight: dict[str, asyncio.Future[KeyState | None]] = {}
        self.outcomes: Counter[str] = Counter()  # read by /metrics at scrape time

    async def validate(self, presented: str | None, request: CheckRequest) -> Verdict:
        if presented is None:
            return self._rejected(reject(Failure.MISSING), None)
        if not key_format.is_well_formed(presented):
            return self._rejected(reject(Failure.INVALID), None)
        digest = self.digester.digest(presented)
        state = self.cache.get_fresh(digest)
        if state is Miss.MISS:
            try:
                state = await self._load(digest, presented)
            except StoreUnavailable:
                return self._rejected(_unavailable("Key store"), None)
        if state is None:
            return self._rejected(reject(Failure.INVALID), None)

        now = self._clock.now()
        rejection = state.check(request, now)
        # Only keys with a monthly limit have a quota to look up; skip the coroutine for the rest.
        if rejection is None and self._quota is not None and state.monthly_prediction_limit is not None:
            try:
                rejection = await self._quota.check(state, now)
            except StoreUnavailable:
                return self._rejected(_unavailable("Usage store"), state)
        try:
            if rejection is not None:
                position = await self._limiter.hit(
                    state.key_id_text, state.rate_limit_per_hour, state.effective_burst, 0
                )
                return self._rejected(rejection, state, position)
            decision = await self._limiter.hit(
                state.key_id_text, state.rate_limit_per_hour, state.effective_burst, request.cost
            )
        except LimiterUnavailable:
            return self._rejected(_unavailable("Rate limiter"), state)
        if not decision.allowed:
            detail = f"Rate limit of {state.rate_limit_per_hour} requests per hour exceeded"
            return self._rejected(
                reject(Failure.RATE_LIMITED, detail, retry_after=decision.retry_after_s), state, decision
            )
        self._last_used.touch(state.key_id, now)
        self.outcomes["valid"] += 1
        return Verdict(state, None, decision)

    def _rejected(self, rejection: Rejection, state: KeyState | None, limit: Decision | None = None) -> Verdict:
        self.outcomes[rejection.code.value] += 1
        return Verdict(state, rejection, limit)

    async def _load(self, digest: str, presented: str) -> KeyState | None:
        """Single flight: concurrent cold validations of one key share one lookup and at most one bcrypt."""
        future = self._inflight.get(digest)
        if future is None:
            future = asyncio.ensure_future(self._load_once(digest, presented))
            self._inflight[digest] = future
            future.add_done_callback(lambda _: self._inflight.pop(digest, None))
        # shield: a caller that gives up (client gone) must not cancel the load the others are waiting on
        return await asyncio.shield(future)

    async def _load_once(self, digest: str, presented: str) -> KeyState | None:
        epoch = self.cache.epoch
        previous = self.cache.get(digest)
        floor = previous.min_version if previous is not None else 0
        if self._shared is not None:
            shared = await self._shared.get(digest)
            if shared is not None and shared.version >= floor:
                if self.cache.epoch == epoch:
                    self.cache.put(digest, shared)
                return shared
        state = await self._read_store(digest, presented, previous)
        if self.cache.epoch == epoch:
            self.cache.put(digest, state)
        elif state is not None:  # changed meanwhile: read it again next time, but without a second bcrypt
            self.cache.remember_verified(digest, state)
        if state is not None and self._shared is not None:
            await self._shared.put(digest, state)
        return state

    async def _read_store(self, digest: str, presented: str, previous: Lookup | None) -> KeyState | None:
        try:
            stored = await self._store.find(digest)
        except StoreUnavailable as exc:
            if previous is not None and not previous.invalidated:
                # Stale but never contradicted: better than refusing every key while the database is away.
                logger.warning("key store unavailable, serving cached state: %s", exc)
                return previous.state
            raise
        if stored is None:
            return None
        state = stored.state
        verified_before = (
            previous is not None
            and previous.state is not None
            and previous.state.key_id == state.key_id
            and previous.state.hash_fingerprint == state.hash_fingerprint
        )
        if verified_before or await self.hasher.verify(presented, stored.key_hash):
            return state
        # the digest matched but bcrypt did not: tampering or a digest collision
        logger.error("lookup digest matched but bcrypt verification failed", extra={"key_id": state.key_id_text})
        return None
