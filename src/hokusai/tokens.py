"""Verify Hokusai access tokens offline, in any Python service, with the auth service's published keys.

    from hokusai.tokens import TokenVerifier

    verifier = TokenVerifier("https://auth.example.com")      # the service's PUBLIC_URL: the tokens' issuer
    claims = verifier.verify(request_token)                   # AuthenticationError if it must be refused
    claims.user_id, claims.session_id, claims.wallet_address, claims.expires_at

A token is accepted when it is signed (EdDSA, Ed25519) by a key of the issuer's JWKS
(``<issuer>/.well-known/jwks.json``), names that issuer in ``iss`` and ``hokusai`` in ``aud``, and is within its
``nbf``..``exp``. The JWKS is fetched on the first verification and kept ``cache_ttl`` seconds; a token signed by
a key not in it (the service rotated its key: ``hokusai-auth rotate-signing-key``) makes the verifier fetch it
again, at most once every ``min_refetch_interval`` seconds, so a flood of made-up key ids costs the service
nothing (a token of a key rotated in within that interval of the last fetch is refused until the next one). A
verified token is remembered by its exact text, so a client's repeated requests cost a lookup, not a signature
check. Whoever can answer for the JWKS URL decides which tokens are good: use ``https://`` outside a laptop.

**Offline verification does not see revocations.** A token stays valid here until its ``exp`` (15 minutes by
default) even after a logout, the end of its session or the user being disabled. Where that matters, ask the
service: ``POST /api/v1/tokens/validate`` answers ``session_revoked`` and ``user_disabled`` as well.

Failures are ``hokusai`` errors: ``AuthenticationError`` with ``code`` ``invalid_token`` or ``token_expired`` for
the token; ``ServiceUnavailableError`` when no keys could be fetched yet; ``ConfigurationError`` when the JWKS
URL answers something that is not a JWKS. Needs the ``cryptography`` package: ``pip install
'hokusai-ml-platform[tokens]'``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Self

import httpx

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from hokusai import _jws
except ModuleNotFoundError as missing:  # the base install: say what to install, not where it failed
    if (missing.name or "").partition(".")[0] != "cryptography":
        raise
    raise ModuleNotFoundError(
        "hokusai.tokens needs the cryptography package: pip install 'hokusai-ml-platform[tokens]'",
        name="cryptography",
    ) from None
from hokusai._errors import AuthenticationError, ConfigurationError, HokusaiError, ServiceUnavailableError
from hokusai._version import __version__
from hokusai._vocabulary import TokenFailure

__all__ = ["AccessTokenClaims", "AsyncTokenVerifier", "TokenVerifier"]

DEFAULT_CACHE_TTL_S = 300.0
DEFAULT_MIN_REFETCH_INTERVAL_S = 30.0
NO_KEYS_RETRY_S = 1.0  # while no JWKS was ever fetched, a failed fetch is retried at most this often
FETCH_TIMEOUT_S = 5.0
MAX_JWKS_BYTES = 256 * 1024


@dataclass(frozen=True)
class AccessTokenClaims:
    """A verified access token: who (``user_id``, ``wallet_address``), which sign-in (``session_id``), until when."""

    user_id: str
    session_id: str
    wallet_address: str | None
    expires_at: datetime
    issued_at: datetime
    jti: str
    claims: Mapping[str, Any] = field(repr=False)  # every claim, as signed

    @classmethod
    def of(cls, claims: dict[str, Any]) -> AccessTokenClaims:
        return cls(
            user_id=claims["sub"],
            session_id=claims["sid"],
            wallet_address=claims.get("wallet_address"),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            jti=claims["jti"],
            claims=MappingProxyType(claims),
        )


def _refusal(error: _jws.InvalidToken) -> AuthenticationError:
    if isinstance(error, _jws.ExpiredToken):
        return AuthenticationError("access token has expired; refresh it", code=TokenFailure.EXPIRED)
    return AuthenticationError(f"invalid access token: {error.reason}", code=TokenFailure.INVALID)


def _unreachable(url: str, error: httpx.HTTPError) -> HokusaiError:
    return ServiceUnavailableError(f"cannot fetch the JWKS at {url}: {type(error).__name__}")


class _KeySet:
    """The JWKS as this verifier knows it, and when to fetch it again: the decisions, without the I/O that the
    sync and async verifiers each do their own way."""

    def __init__(self, *, cache_ttl: float, min_refetch_interval: float, clock: Callable[[], float]) -> None:
        self.keys: Mapping[str, Ed25519PublicKey] = MappingProxyType({})
        self._cache_ttl = cache_ttl
        self._min_interval = min_refetch_interval
        self._clock = clock
        self._fetched_at: float | None = None  # the last successful fetch
        self._attempted_at: float | None = None  # the last fetch, successful or not
        self.fetches = 0

    def due(self, unknown_kid: bool = False) -> bool:
        """Whether to fetch before verifying: never fetched, the copy is older than ``cache_ttl``, or a token
        named a key not in it; in every case no sooner than the last attempt allows."""
        now = self._clock()
        since_attempt = now - self._attempted_at if self._attempted_at is not None else None
        if self._fetched_at is None:
            return since_attempt is None or not 0 <= since_attempt < NO_KEYS_RETRY_S
        if since_attempt is not None and 0 <= since_attempt < self._min_interval:  # (< 0: the clock went back)
            return False
        return unknown_kid or not 0 <= now - self._fetched_at < self._cache_ttl

    def attempt(self) -> None:
        self._attempted_at = self._clock()
        self.fetches += 1

    def install(self, response: httpx.Response) -> None:
        """Take the keys of a JWKS answer (``HokusaiError`` if it is none). Entries this verifier cannot use
        (other key types or algorithms) are skipped."""
        if response.status_code != 200:
            kind = ServiceUnavailableError if response.status_code >= 500 else ConfigurationError
            raise kind(f"the JWKS at {response.request.url} answered HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise ConfigurationError(f"the JWKS at {response.request.url} is over {MAX_JWKS_BYTES} bytes")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise ConfigurationError(f"{response.request.url} did not answer a JWKS (no 'keys' list)")
        usable = (_jws.from_jwk(entry) for entry in body["keys"])
        self.keys = MappingProxyType(dict(pair for pair in usable if pair is not None))
        self._fetched_at = self._clock()

    @property
    def have_keys(self) -> bool:
        return self._fetched_at is not None


class _Verifying:
    """What the sync and async verifiers share: settings, the key set, the verified-token memory, the checks."""

    def __init__(
        self,
        issuer: str,
        *,
        audience: str,
        jwks_url: str | None,
        cache_ttl: float,
        min_refetch_interval: float,
        leeway_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.jwks_url = jwks_url or self.issuer + _jws.JWKS_PATH
        self.leeway_s = leeway_s
        self._clock = clock
        self._keys = _KeySet(cache_ttl=cache_ttl, min_refetch_interval=min_refetch_interval, clock=clock)
        self._verified = _jws.VerifiedTokens()

    @property
    def jwks_fetches(self) -> int:
        """How many times the JWKS was requested (for tests and metrics)."""
        return self._keys.fetches

    def _signed(self, token: str) -> dict[str, Any]:
        """The token's claims if a known key signed it; ``UnknownKey`` lets the caller fetch and try again."""
        try:
            return self._verified.verify(token, self._keys.keys)
        except _jws.UnknownKey:
            raise
        except _jws.InvalidToken as error:
            raise _refusal(error) from None

    def _checked(self, claims: dict[str, Any]) -> AccessTokenClaims:
        try:
            _jws.check_claims(
                claims, issuer=self.issuer, audience=self.audience, now=self._clock(), leeway_s=self.leeway_s
            )
        except _jws.InvalidToken as error:
            raise _refusal(error) from None
        return AccessTokenClaims.of(claims)

    def _require_keys(self) -> None:
        if not self._keys.have_keys:  # the first fetch failed less than NO_KEYS_RETRY_S ago
            raise ServiceUnavailableError(f"no keys fetched yet from {self.jwks_url}; retrying")

    def _unknown_key(self) -> AuthenticationError:
        return _refusal(_jws.InvalidToken("signed with a key the issuer does not publish (kid)"))


class TokenVerifier(_Verifying):
    """Verifies access tokens offline (see the module's documentation); safe to share between threads.

    ``issuer``: the auth service's ``PUBLIC_URL``. ``jwks_url``: where its keys are, by default
    ``issuer + "/.well-known/jwks.json"``. ``http``: an ``httpx.Client`` to fetch with (not closed by
    ``close()``); by default one of its own. ``clock``: seconds since the epoch, for tests.
    """

    def __init__(
        self,
        issuer: str,
        *,
        audience: str = _jws.AUDIENCE,
        jwks_url: str | None = None,
        cache_ttl: float = DEFAULT_CACHE_TTL_S,
        min_refetch_interval: float = DEFAULT_MIN_REFETCH_INTERVAL_S,
        leeway_s: float = _jws.DEFAULT_LEEWAY_S,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            issuer,
            audience=audience,
            jwks_url=jwks_url,
            cache_ttl=cache_ttl,
            min_refetch_interval=min_refetch_interval,
            leeway_s=leeway_s,
            clock=clock,
        )
        self._own_http = http is None
        self._http = http or httpx.Client(timeout=FETCH_TIMEOUT_S, headers={"User-Agent": f"hokusai/{__version__}"})
        self._lock = threading.Lock()

    def verify(self, token: str) -> AccessTokenClaims:
        """The token's claims, or ``AuthenticationError`` (``invalid_token``, ``token_expired``)."""
        self._refresh()
        self._require_keys()
        try:
            claims = self._signed(token)
        except _jws.UnknownKey:
            self._refresh(unknown_kid=True)  # perhaps rotated; or another caller just fetched: try again
            try:
                claims = self._signed(token)
            except _jws.UnknownKey:
                raise self._unknown_key() from None
        return self._checked(claims)

    def _refresh(self, *, unknown_kid: bool = False) -> None:
        """Fetch the JWKS if it is due. A failure raises only while no keys were ever fetched; afterwards the
        keys already known stay in use until a fetch succeeds."""
        if self._keys.have_keys and not self._keys.due(unknown_kid):
            return  # the common case, without the lock; with no keys yet, wait for a fetch in flight
        with self._lock:
            if not self._keys.due(unknown_kid):  # another thread fetched while this one waited
                return
            self._keys.attempt()
            try:
                self._keys.install(self._http.get(self.jwks_url))
            except (httpx.HTTPError, HokusaiError) as error:
                if self._keys.have_keys:
                    return  # keep verifying with the keys already known
                if isinstance(error, httpx.HTTPError):
                    raise _unreachable(self.jwks_url, error) from None
                raise

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncTokenVerifier(_Verifying):
    """``TokenVerifier`` for asyncio services: the same checks, ``await verifier.verify(token)``, fetching the
    JWKS with an ``httpx.AsyncClient``. Use it from one event loop."""

    def __init__(
        self,
        issuer: str,
        *,
        audience: str = _jws.AUDIENCE,
        jwks_url: str | None = None,
        cache_ttl: float = DEFAULT_CACHE_TTL_S,
        min_refetch_interval: float = DEFAULT_MIN_REFETCH_INTERVAL_S,
        leeway_s: float = _jws.DEFAULT_LEEWAY_S,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            issuer,
            audience=audience,
            jwks_url=jwks_url,
            cache_ttl=cache_ttl,
            min_refetch_interval=min_refetch_interval,
            leeway_s=leeway_s,
            clock=clock,
        )
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=FETCH_TIMEOUT_S, headers={"User-Agent": f"hokusai/{__version__}"}
        )
        self._lock: asyncio.Lock | None = None  # made in the event loop on first use

    async def verify(self, token: str) -> AccessTokenClaims:
        """The token's claims, or ``AuthenticationError`` (``invalid_token``, ``token_expired``)."""
        await self._refresh()
        self._require_keys()
        try:
            claims = self._signed(token)
        except _jws.UnknownKey:
            await self._refresh(unknown_kid=True)  # perhaps rotated; or another caller just fetched: try again
            try:
                claims = self._signed(token)
            except _jws.UnknownKey:
                raise self._unknown_key() from None
        return self._checked(claims)

    async def _refresh(self, *, unknown_kid: bool = False) -> None:
        if self._keys.have_keys and not self._keys.due(unknown_kid):
            return  # the common case, without the lock; with no keys yet, wait for a fetch in flight
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._keys.due(unknown_kid):  # another task fetched while this one waited
                return
            self._keys.attempt()
            try:
                self._keys.install(await self._http.get(self.jwks_url))
            except (httpx.HTTPError, HokusaiError) as error:
                if self._keys.have_keys:
                    return
                if isinstance(error, httpx.HTTPError):
                    raise _unreachable(self.jwks_url, error) from None
                raise

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
