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
from hokusai_auth.background import Periodic
from hokusai_auth.gateway.outcome import Outcome, unavailable
from hokusai_auth.validation.state import CheckRequest

logger = logging.getLogger("hokusai_auth.gateway.auth")
CacheKey = tuple[str, str | None, tuple[str, ...], str | None, str | None]


@dataclass(slots=True)
class _Entry:
    key: str
    check: CheckRequest
    outcome: Outcome
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
        for cache_key in [ck for ck, entry in self._cache.items() if entry.outcome.key_id == key_id]:
            self._cache.pop(cache_key, None)

    async def authenticate(self, key: str | None, check: CheckRequest) -> Outcome:
        if key is None or key_format.parse(key) is None:  # no need to ask anyone
            code, error = (
                ("missing_api_key", "API key required") if key is None else ("invalid_api_key", "Invalid API key")
            )
            return Outcome(False, code=code, error=error, detail=error)
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
            return entry.outcome
        if entry is not None and entry.pending:
            # Spend what the cache admitted first, on its own: GCRA refuses a cost that does not fit whole, so
            # folding it into this request's cost could leave those units unspent.
            await self._settle_entry(cache_key, entry)
        outcome, remaining = await self._ask(key, check, cost=1)
        if outcome.allowed:
            self._cache[cache_key] = _Entry(key, check, outcome, remaining, time.monotonic() + self._ttl)
        else:
            self._cache.pop(cache_key, None)
        return outcome

    async def settle(self) -> None:
        """Spend, at the auth service, the units of requests admitted from the cache since the last call."""
        for cache_key, entry in list(self._cache.items()):
            if entry.pending:
                await self._settle_entry(cache_key, entry)

    async def _settle_entry(self, cache_key: CacheKey, entry: _Entry) -> None:
        owed, entry.pending = entry.pending, 0
        outcome, remaining = await self._ask(entry.key, entry.check, cost=owed)
        if outcome.allowed:
            entry.remaining, entry.outcome = remaining, outcome
        elif outcome.code == "service_unavailable":
            entry.pending += owed  # try again next time
        else:
            self._cache.pop(cache_key, None)  # limited, revoked, ...: the next request asks again

    async def _ask(self, key: str, check: CheckRequest, *, cost: int) -> tuple[Outcome, int]:
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
            return unavailable("Auth service unreachable; retry shortly"), 0
        rate = tuple(
            (name, response.headers[name])
            for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
            if name in response.headers
        )
        remaining = int(response.headers.get("x-ratelimit-remaining", "0"))
        if not isinstance(data, dict):
            return unavailable(f"Auth service answered {response.status_code} without a JSON object"), 0
        if response.status_code == 200 and data.get("is_valid") is True:
            return Outcome(True, key_id=data["key_id"], user_id=data["user_id"], rate_headers=rate), remaining
        if "code" not in data or (response.status_code >= 500 and response.status_code != 503):
            return unavailable(f"Auth service answered {response.status_code}"), 0
        retry = response.headers.get("retry-after")
        extra = {"required_scope": data["required_scope"]} if "required_scope" in data else {}
        outcome = Outcome(
            False, code=data["code"], error=data.get("error"), detail=data.get("detail"),
            retry_after=int(retry) if retry and retry.isdigit() else None, extra=extra, rate_headers=rate,
        )  # fmt: skip
        return outcome, remaining
