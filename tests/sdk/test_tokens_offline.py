"""hokusai.tokens against a real JWKS endpoint: the service's own route and key ring (SQLite) served by uvicorn on
a socket, its keys rotated from outside as `hokusai-auth rotate-signing-key` does."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request, Response

from hokusai import AuthenticationError, ConfigurationError, ServiceUnavailableError, _jws
from hokusai.tokens import AccessTokenClaims, AsyncTokenVerifier, TokenVerifier
from hokusai_auth.clock import SystemClock
from hokusai_auth.components import Components
from hokusai_auth.db.engine import open_database
from hokusai_auth.signing.access_tokens import AccessTokens
from hokusai_auth.signing.keyring import SigningKeyRing
from hokusai_auth.signing.routes import router
from tests.conftest import SECRET_KEY, free_port, run_blocking
from tests.servers import serving_in_thread

TTL = 900
ISSUER = "https://auth.example.com"  # PUBLIC_URL: the tokens name it, the JWKS is wherever the test serves it


class Issuer:
    """The service's signing side, run from the test as another instance (or the CLI) would."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.tokens: AccessTokens | None = None

    def _run(self, operation: Callable[[SigningKeyRing], Any]) -> Any:
        async def run() -> Any:
            database = open_database(self.database_url)
            try:
                keyring = SigningKeyRing(database, SECRET_KEY, SystemClock(), TTL)
                await keyring.load()
                result = await operation(keyring)
                self.tokens = AccessTokens(keyring, ISSUER, ttl=TTL)  # signs with what it loaded: no I/O
                return result
            finally:
                await database.dispose()

        return run_blocking(run())

    def load(self) -> str:
        async def kid(keyring: SigningKeyRing) -> str:
            return keyring.current[0]

        kid_now: str = self._run(kid)
        return kid_now

    def rotate(self) -> str:
        async def rotate(keyring: SigningKeyRing) -> str:
            return (await keyring.rotate()).kid

        kid: str = self._run(rotate)
        return kid

    def issue(self, wallet_address: str | None = "0x52908400098527886E0F7030069857D2E4169EE7") -> str:
        assert self.tokens is not None
        now = SystemClock().now()
        return self.tokens.issue(
            user_id=uuid.uuid4(), session_id=uuid.uuid4(), wallet_address=wallet_address, now=now
        ).token


class JWKSServer:
    def __init__(self, url: str, counter: list[int], issuer: Issuer) -> None:
        self.url = url
        self.jwks_url = url + _jws.JWKS_PATH
        self._counter = counter
        self.issuer = issuer

    @property
    def requests(self) -> int:
        return self._counter[0]

    def published(self) -> set[str]:
        return {key["kid"] for key in httpx.get(self.jwks_url).json()["keys"]}

    def wait_published(self, kid: str) -> None:
        deadline = time.monotonic() + 10
        while kid not in self.published():
            assert time.monotonic() < deadline, "the server did not publish the new key"
            time.sleep(0.02)
        self._counter[0] = 0  # the test's own look-ups do not count


def jwks_app(database_url: str, counter: list[int]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = open_database(database_url)
        keyring = SigningKeyRing(database, SECRET_KEY, SystemClock(), TTL, reload_interval_s=0.05)
        await keyring.load()
        keyring.start()
        app.state.components = Components(keyring)
        try:
            yield
        finally:
            await keyring.stop()
            await database.dispose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Any]) -> Response:
        counter[0] += 1
        response: Response = await call_next(request)
        return response

    return app


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path) -> Iterator[JWKSServer]:
    path = tmp_path / "hokusai.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    issuer = Issuer(url)
    issuer.load()
    counter = [0]
    with serving_in_thread(jwks_app(url, counter)) as base:
        yield JWKSServer(base, counter, issuer)


class Clock:
    """Real time, which a test can move forward (the verifier's refetch intervals and expiry both read it)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def verifier(server: JWKSServer, clock: Clock | None = None, **options: Any) -> TokenVerifier:
    return TokenVerifier(ISSUER, jwks_url=server.jwks_url, clock=clock or time.time, **options)


def refused(verify: Callable[[], Any], code: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        verify()
    assert caught.value.code == code
    return caught.value


# ------------------------------------------------------------------------------------------------ verifying


def test_a_good_token_verifies_with_one_fetch_of_the_jwks(server: JWKSServer) -> None:
    token = server.issuer.issue()
    with verifier(server) as tokens:
        claims = tokens.verify(token)
        assert isinstance(claims, AccessTokenClaims)
        assert claims.wallet_address == "0x52908400098527886E0F7030069857D2E4169EE7"
        uuid.UUID(claims.user_id)
        uuid.UUID(claims.session_id)
        assert claims.claims["sid"] == claims.session_id
        assert claims.jti == claims.claims["jti"]
        assert 0 < (claims.expires_at - claims.issued_at).total_seconds() == TTL
        assert claims.expires_at.tzinfo is not None
        for _ in range(20):
            tokens.verify(token)
            tokens.verify(server.issuer.issue(wallet_address=None))
        assert tokens.jwks_fetches == 1
    assert server.requests == 1


def test_the_default_jwks_url_is_under_the_issuer(server: JWKSServer) -> None:
    with TokenVerifier(server.url + "/") as tokens:
        assert tokens.jwks_url == server.jwks_url
        with pytest.raises(AuthenticationError) as caught:
            tokens.verify(server.issuer.issue())  # fetched from there; the token names another issuer
        assert caught.value.code == "invalid_token"
        assert "iss" in str(caught.value)
    assert server.requests == 1


def test_bad_tokens_are_refused_with_the_contracts_codes(server: JWKSServer) -> None:
    token = server.issuer.issue()
    clock = Clock()
    with verifier(server, clock) as tokens:
        header, payload, signature = token.split(".")
        refused(lambda: tokens.verify(f"{header}.{payload[:-4]}AAAA.{signature}"), "invalid_token")
        refused(lambda: tokens.verify("not a token"), "invalid_token")
        refused(lambda: tokens.verify(token + "." + signature), "invalid_token")
        with verifier(server, audience="another-service") as other:
            refused(lambda: other.verify(token), "invalid_token")
        with TokenVerifier("https://evil.example", jwks_url=server.jwks_url) as other:
            refused(lambda: other.verify(token), "invalid_token")
        tokens.verify(token)
        clock.advance(TTL)
        error = refused(lambda: tokens.verify(token), "token_expired")
        assert token not in str(error)


# ------------------------------------------------------------------------------------------------ rotation


def test_a_rotated_key_is_picked_up_by_one_refetch(server: JWKSServer) -> None:
    clock = Clock()
    old_token = server.issuer.issue()
    with verifier(server, clock) as tokens:
        tokens.verify(old_token)
        new_kid = server.issuer.rotate()
        server.wait_published(new_kid)
        new_token = server.issuer.issue()

        clock.advance(31)  # the last fetch is older than the refetch interval
        assert tokens.verify(new_token).jti
        assert tokens.jwks_fetches == 2
        assert server.requests == 1
        tokens.verify(old_token)  # still published: its tokens are still valid
        assert server.requests == 1


def test_a_key_rotated_in_right_after_a_fetch_waits_for_the_interval(server: JWKSServer) -> None:
    clock = Clock()
    with verifier(server, clock) as tokens:
        tokens.verify(server.issuer.issue())
        server.wait_published(server.issuer.rotate())
        new_token = server.issuer.issue()
        clock.advance(5)
        refused(lambda: tokens.verify(new_token), "invalid_token")  # no refetch 5 s after the last one
        assert server.requests == 0
        clock.advance(25)
        tokens.verify(new_token)
        assert server.requests == 1


def test_a_flood_of_made_up_kids_does_not_hammer_the_service(server: JWKSServer) -> None:
    clock = Clock()
    claims = {"iss": ISSUER, "sub": "u", "aud": "hokusai", "iat": int(time.time()), "nbf": int(time.time()),
              "exp": int(time.time()) + 600, "jti": "j", "sid": "s"}  # fmt: skip
    forged = [
        _jws.sign(claims, _jws.thumbprint(key.public_key()), key)
        for key in (Ed25519PrivateKey.generate() for _ in range(200))
    ]
    with verifier(server, clock) as tokens:
        tokens.verify(server.issuer.issue())
        server._counter[0] = 0
        clock.advance(31)
        for token in forged:
            refused(lambda: tokens.verify(token), "invalid_token")  # noqa: B023
        assert server.requests == 1  # the first made-up kid refetched; the other 199 waited
        clock.advance(31)
        for token in forged:
            refused(lambda: tokens.verify(token), "invalid_token")  # noqa: B023
        assert server.requests == 2


def test_the_cache_ttl_refetches_and_an_outage_keeps_the_known_keys(server: JWKSServer) -> None:
    clock = Clock()
    token = server.issuer.issue()
    dead = f"http://127.0.0.1:{free_port()}{_jws.JWKS_PATH}"
    with httpx.Client() as http:
        tokens = TokenVerifier(ISSUER, jwks_url=server.jwks_url, clock=clock, cache_ttl=60, http=http)
        tokens.verify(token)
        clock.advance(61)
        tokens.verify(token)
        assert server.requests == 2
        tokens.jwks_url = dead  # the service goes away
        clock.advance(61)
        tokens.verify(token)  # the keys it has still verify
        assert tokens.jwks_fetches == 3
        tokens.close()
        assert not http.is_closed  # a client passed in belongs to the caller


def test_threads_starting_together_fetch_once(server: JWKSServer) -> None:
    token = server.issuer.issue()
    errors: list[BaseException] = []
    with verifier(server) as tokens:
        barrier = threading.Barrier(8)

        def verify() -> None:
            barrier.wait()
            try:
                tokens.verify(token)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=verify) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert server.requests == 1


# ------------------------------------------------------------------------------------------------ no keys


def test_no_reachable_jwks_is_service_unavailable_and_retried_slowly() -> None:
    dead = f"http://127.0.0.1:{free_port()}{_jws.JWKS_PATH}"
    clock = Clock()
    with TokenVerifier(ISSUER, jwks_url=dead, clock=clock) as tokens:
        with pytest.raises(ServiceUnavailableError) as caught:
            tokens.verify("a.b.c")
        assert dead in str(caught.value)
        for _ in range(10):
            with pytest.raises(ServiceUnavailableError):
                tokens.verify("a.b.c")
        assert tokens.jwks_fetches == 1
        clock.advance(1)
        with pytest.raises(ServiceUnavailableError):
            tokens.verify("a.b.c")
        assert tokens.jwks_fetches == 2


def test_something_that_is_not_a_jwks_is_a_configuration_error(server: JWKSServer) -> None:
    with TokenVerifier(ISSUER, jwks_url=server.url + "/nothing-here") as tokens:
        with pytest.raises(ConfigurationError) as caught:
            tokens.verify(server.issuer.issue())
        assert "404" in str(caught.value)


# ------------------------------------------------------------------------------------------------ async


async def test_the_async_verifier_verifies_refetches_and_fetches_once_for_many(server: JWKSServer) -> None:
    clock = Clock()
    old_token = server.issuer.issue()
    async with AsyncTokenVerifier(ISSUER, jwks_url=server.jwks_url, clock=clock) as tokens:
        results = await asyncio.gather(*(tokens.verify(old_token) for _ in range(10)))
        assert {claims.jti for claims in results} == {results[0].jti}
        assert server.requests == 1

        new_kid = await asyncio.to_thread(server.issuer.rotate)
        await asyncio.to_thread(server.wait_published, new_kid)
        new_token = server.issuer.issue()
        with pytest.raises(AuthenticationError):
            await tokens.verify(new_token)  # within the refetch interval
        clock.advance(31)
        claims = await tokens.verify(new_token)
        assert claims.wallet_address == "0x52908400098527886E0F7030069857D2E4169EE7"
        assert server.requests == 1
        clock.advance(TTL)
        with pytest.raises(AuthenticationError) as caught:
            await tokens.verify(new_token)
        assert caught.value.code == "token_expired"


# ------------------------------------------------------------------------------------------------ installs

_WITHOUT_CRYPTOGRAPHY = """
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "cryptography":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NotInstalled())
import hokusai, hokusai.cli, hokusai.config  # the base install works without it
try:
    import hokusai.tokens
except ModuleNotFoundError as error:
    print(error)
"""


def test_the_base_install_never_loads_tokens_and_says_what_to_install_for_them() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, hokusai, hokusai.cli, hokusai.config;"
        "print(sorted(m for m in sys.modules if 'jws' in m or m.startswith('cryptography')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "[]"
    hint = subprocess.run([sys.executable, "-c", _WITHOUT_CRYPTOGRAPHY], capture_output=True, text=True, check=True,
                          timeout=60)  # fmt: skip
    assert hint.stdout.strip() == (
        "hokusai.tokens needs the cryptography package: pip install 'hokusai-ml-platform[tokens]'"
    )
