"""Shared fixtures.

Databases: every API test runs on SQLite and on PostgreSQL. PostgreSQL is HOKUSAI_TEST_DATABASE_URL, else the
local server at 127.0.0.1:5432 (database ``test``, user ``postgres``). Each test session creates a database of
its own there and drops it at the end, so concurrent runs never see each other. Redis likewise: a key prefix per
test, and only those keys are deleted. Under CI=true a missing PostgreSQL or Redis fails the run; elsewhere the
tests that need them are skipped with the reason. Those tests carry the ``postgres`` and ``redis`` markers, put on
by the fixtures they use, so ``-m 'not postgres and not redis'`` selects the tests that need neither.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from hokusai_auth.app import create_app
from hokusai_auth.clock import FrozenClock
from hokusai_auth.db import migrate
from hokusai_auth.settings import Settings

T = TypeVar("T")
CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("HOKUSAI_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HOKUSAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... in a pytest-xdist worker, else ""
if TYPE_CHECKING:
    from tests.smtp import SmtpServer

ADMIN_TOKEN = "test-admin-token-" + "x" * 32
SECRET_KEY = "test-secret-key-" + "y" * 40
TABLES = ("audit_events", "api_keys", "usage_rollups", "usage_idempotency_keys", "usage_flushes", "refresh_tokens",
          "user_sessions", "users", "siwe_nonces", "signing_keys", "mail_outbox", "organization_claims",
          "registration_verifications", "registrations", "organization_invitations", "organization_members",
          "organizations", "device_authorizations", "audit_chain_head")  # fmt: skip


def unavailable(what: str, reason: str) -> None:
    """Skip, or under CI=true fail: CI must never pass by silently not testing PostgreSQL or Redis."""
    message = f"{what} unavailable ({reason})"
    if CI:
        pytest.fail(f"{message}; it is required when CI=true", pytrace=False)
    pytest.skip(message)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """pyproject.toml's addopts spread the suite over pytest-xdist workers. Where xdist is not loaded (``-p
    no:xdist``, or a .venv installed before it was in the dev extra) those options are accepted and do nothing:
    the suite runs serially, as with ``-n 0``, instead of pytest refusing its own configuration."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "pytest-xdist is not loaded: the suite runs serially and these do nothing")
    group.addoption("--numprocesses", help="ignored without pytest-xdist")
    group.addoption("--dist", help="ignored without pytest-xdist")
    group.addoption("--no-loadscope-reorder", action="store_true", help="ignored without pytest-xdist")


# Terminal size variables: the controller's readline puts COLUMNS=80 and LINES=24 in the process environment (below
# Python's os.environ), so xdist workers start with them in os.environ, and the CLI (which folds its output to
# COLUMNS when set) would print 80 columns where a serial run prints 200. Each worker gets the controller's values.
TERMINAL_VARIABLES = ("COLUMNS", "LINES")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """(pytest-xdist, in the controller) Tell a worker this process's terminal size variables, set or not."""
    node.workerinput["terminal_environ"] = {name: os.environ.get(name) for name in TERMINAL_VARIABLES}


def pytest_configure(config: pytest.Config) -> None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    for name, value in workerinput["terminal_environ"].items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# Fixtures that need a server, by marker. database_url reaches PostgreSQL through its "postgresql" parameter.
SERVER_FIXTURES = {
    "postgres": frozenset({"pg_url", "pg_session_url"}),
    "redis": frozenset({"redis_url", "redis_prefix", "private_redis"}),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgresql":
            fixtures.add("pg_url")
        for marker, needs in SERVER_FIXTURES.items():
            if fixtures & needs:
                item.add_marker(marker)
    if XDIST_WORKER:
        # The workers take whole files (--dist loadfile --no-loadscope-reorder) in this order: the files with slow
        # tests (real servers and processes, up to minutes each) go first, so none of them is left to start last
        # and keep one worker busy long after the others are done. Within a file the order stays; a serial run
        # (-n 0) keeps the files' order too.
        slow_files = {item.path for item in items if item.get_closest_marker("slow")}
        items.sort(key=lambda item: item.path not in slow_files)


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when called while an event loop runs (session
    fixtures are first requested from inside async tests)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------------- PostgreSQL


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(sql: str, url: str = PG_URL) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str | None]:
    """A fresh, migrated PostgreSQL database for this test session (None when PostgreSQL is not reachable)."""
    name = f"hokusai_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        run_blocking(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError):
        yield None
        return
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    run_blocking(migrate.upgrade(url))
    yield url
    run_blocking(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(pg_session_url: str | None) -> str:
    if pg_session_url is None:
        unavailable("PostgreSQL", f"cannot connect to {make_url(PG_URL).render_as_string()}")
    assert pg_session_url is not None
    return pg_session_url


async def truncate_pg(url: str) -> None:
    await _pg_admin(f"TRUNCATE {', '.join(TABLES)} CASCADE", url)


# ---------------------------------------------------------------------------------------------- SQLite


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    run_blocking(migrate.upgrade(f"sqlite:///{path}"))
    return path


# ---------------------------------------------------------------------------------------------- backends


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database of the parametrized backend."""
    if backend == "sqlite":
        path = tmp_path / "hokusai.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    await truncate_pg(url)
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "admin_tokens": ADMIN_TOKEN,
        "secret_key": SECRET_KEY,
        "database_url": database_url,
        "bcrypt_rounds": 4,
        "access_log": False,
        # No test's mail leaves by accident (to the user's data directory, or after its body was read): a test
        # that wants delivery sets its own interval, and a transport.
        "mail_send_interval": 60,
    }
    values.update(overrides)
    return Settings(**values)


# ---------------------------------------------------------------------------------------------- apps


class Service:
    """A running app (lifespan entered) and an HTTP client on it."""

    def __init__(self, app: Any, client: httpx.AsyncClient, clock: FrozenClock | None) -> None:
        self.app = app
        self.client = client
        self.clock = clock

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async def create_key(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "test key", "service_id": "platform", **fields}
        response = await self.client.post("/api/v1/keys", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def validate(self, key: str | None = None, **body: Any) -> httpx.Response:
        if key is not None:
            body["api_key"] = key
        return await self.client.post("/api/v1/keys/validate", json=body)


ServiceFactory = Callable[..., Awaitable[Service]]


@pytest.fixture
async def make_service() -> AsyncIterator[ServiceFactory]:
    async with AsyncExitStack() as stack:

        async def factory(database_url: str, *, clock: FrozenClock | None = None, **overrides: Any) -> Service:
            app = create_app(make_settings(database_url, **overrides), clock=clock)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 40000)), base_url="http://testserver"
            )
            await stack.enter_async_context(client)
            return Service(app, client, clock)

        yield factory


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def service(make_service: ServiceFactory, database_url: str, clock: FrozenClock) -> Service:
    return await make_service(database_url, clock=clock)


def new_uuid() -> str:
    return str(uuid.uuid4())


# ---------------------------------------------------------------------------------------------- Redis


async def _redis_reachable(url: str) -> bool:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


@pytest.fixture
async def redis_url() -> str:
    """The shared Redis server. Tests use a key prefix of their own (redis_prefix) and delete only those keys."""
    if not await _redis_reachable(REDIS_URL):
        unavailable("Redis", f"cannot connect to {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    import redis.asyncio as aioredis

    prefix = f"hktest{secrets.token_hex(4)}"
    yield prefix
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


class PrivateRedis:
    """A redis-server of the test's own on a free port, so it can be stopped and started at will (the shared
    server on 6379 is never stopped). A restart reloads the last snapshot taken with SAVE, if any."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: Any = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import subprocess
        import time

        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server", "not installed (apt-get install redis-server)")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """Hang the server (SIGSTOP): connections stay open and silent, as with a server stuck or unreachable."""
        import signal

        assert self.process is not None, "the server is not running"
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        import signal

        assert self.process is not None, "the server is not running"
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float, step: float = 0.02) -> float:
    """Wait until ``check`` holds; the seconds it took. Fails if it does not hold ``within`` seconds: used where
    the contract itself states a bound (e.g. a revocation reaches every instance within a second)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        if await check():
            return loop.time() - started
        if loop.time() - started > within:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(step)


# ---------------------------------------------------------------------------------------------- SMTP


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd, tests/smtp.py) on a free port, running; what it received is ``received``."""
    from tests.smtp import SmtpServer  # tests/smtp.py takes free_port from here

    server = SmtpServer(auth_require_tls=False)
    server.start()
    yield server
    server.stop()
