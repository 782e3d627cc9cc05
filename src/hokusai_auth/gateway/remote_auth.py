"""Authenticating over HTTP against the auth service (``--auth-service-url``), for gateways that do not share the
auth service's database.

Successes are cached briefly (``cache_ttl``, default 2 s) so that not every proxied request waits on the auth
service. Requests admitted from the cache still spend their rate-limit unit: they are counted and the count is
settled with the auth service every ``settle_interval`` (a validate call with that ``cost``); a cached key is
never admitted more times than its last-known remaining allowance. A revocation reaches the gateway when the
cache entry expires, or at once when the gateway shares the auth service's Redis (``REDIS_URL``): it listens to
the same invalidation channel. If the auth service cannot be reached, requests get 503 with Retry-After.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from hokusai import _keys as key_format
from hokusai._vocabulary import Failure
from hokusai_auth.background import Periodic
from hokusai_auth.validation.answer import UnreadableAnswer, read_answer
from hokusai_auth.validation.rejection import reject, unavailable
from hokusai_auth.validation.state import CheckRequest
from hokusai_auth.validation.validator import Verdict

logger = logging.getLogger("hokusai_auth.gateway.auth")
CacheKey = tuple[str, str | None, tuple[str, ...], str | None, str | None]


@dataclass(slots=True)
class _Entry:
    key: str
    check: CheckRequest
    verdict: Verdict  # valid, so it names the key
    remaining: int
    fresh_until: float
    pending: int = 0


class RemoteAuthenticator:
    def __init__(
        self,
        auth_service_url: str,
        *,
        cache_ttl: float = 2.0,
        settle_interval: float = 0.5,
        timeout: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=auth_service_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            headers={"User-Agent": "hokusai-gateway"},
            transport=transport,
        )
        self._ttl = cache_ttl
        self._cache: dict[CacheKey, _Entry] = {}
        self._settler = Periodic("gateway-settle", self.settle, lambda: settle_interval, final=self.settle)
        self.calls = 0

    def start(self) -> None:
        self._settler.start()

    async def close(self) -> None:
        await self._settler.stop()
        await self._client.aclose()

    def forget_key(self, key_id: str) -> None:
        """A revocation push: drop every cached success of that key."""
        for cache_key in [ck for ck, entry in self._cache.items() if _key_id(entry.verdict) == key_id]:
            self._cache.pop(cache_key, None)

    async def authenticate(self, key: str | None, check: CheckRequest) -> Verdict:
        if key is None:  # no need to ask anyone
            return Verdict(None, reject(Failure.MISSING), None)
        if not key_format.is_well_formed(key):
            return Verdict(None, reject(Failure.INVALID), None)
        cache_key: CacheKey = (
            hashlib.sha256(key.encode()).hexdigest(),
            check.service_id,
            check.any_scope,
            check.required_scope,
            str(check.client_ip) if check.client_ip else None,
        )
        entry = self._cache.get(cache_key)
        if entry is not None and time.monotonic() < entry.fresh_until and entry.pending < entry.remaining:
            entry.pending += 1
            return entry.verdict
        if entry is not None and entry.pending:
            # Spend what the cache admitted first, on its own: GCRA refuses a cost that does not fit whole, so
            # folding it into this request's cost could leave those units unspent.
            await self._settle_entry(cache_key, entry)
        verdict = await self._ask(key, check, cost=1)
        if verdict.valid:
            self._cache[cache_key] = _Entry(key, check, verdict, _remaining(verdict), time.monotonic() + self._ttl)
        else:
            self._cache.pop(cache_key, None)
        return verdict

    async def settle(self) -> None:
        """Spend, at the auth service, the units of requests admitted from the cache since the last call."""
        for cache_key, entry in list(self._cache.items()):
            if entry.pending:
                await self._settle_entry(cache_key, entry)

    async def _settle_entry(self, cache_key: CacheKey, entry: _Entry) -> None:
        owed, entry.pending = entry.pending, 0
        verdict = await self._ask(entry.key, entry.check, cost=owed)
        if verdict.rejection is None:
            entry.remaining, entry.verdict = _remaining(verdict), verdict
        elif verdict.rejection.code is Failure.UNAVAILABLE:
            entry.pending += owed  # try again next time
        else:
            self._cache.pop(cache_key, None)  # limited, revoked, ...: the next request asks again

    async def _ask(self, key: str, check: CheckRequest, *, cost: int) -> Verdict:
        body: dict[str, Any] = {"cost": cost}
        if check.service_id:
            body["service_id"] = check.service_id
        if check.required_scope:
            body["required_scope"] = check.required_scope
        if check.any_scope:
            body["any_scope"] = list(check.any_scope)
        if check.client_ip:
            body["client_ip"] = str(check.client_ip)
        self.calls += 1
        try:
            response = await self._client.post(
                "/api/v1/keys/validate", content=orjson.dumps(body),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )  # fmt: skip
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("auth service unreachable: %s", type(exc).__name__)
            return Verdict(None, unavailable("Auth service unreachable; retry shortly"), None)
        try:
            return read_answer(response.status_code, data, response.headers)
        except UnreadableAnswer as exc:
            return Verdict(None, unavailable(str(exc)), None)


def _key_id(verdict: Verdict) -> str | None:
    return verdict.state.key_id_text if verdict.state is not None else None


def _remaining(verdict: Verdict) -> int:
    """How many more requests the cache may admit before asking again."""
    return verdict.limit.remaining if verdict.limit is not None else 0
