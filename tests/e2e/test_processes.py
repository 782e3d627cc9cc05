"""Real server processes sharing PostgreSQL (and Redis): what a deployment behind a load balancer sees."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hokusai_auth.db import migrate
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, eventually, free_port, truncate_pg
from tests.e2e.helpers import ServerProcess, clean_env

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    return clean_env(
        ADMIN_TOKEN=ADMIN_TOKEN,
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url,
        BCRYPT_ROUNDS="4",
        ACCESS_LOG="false",
        **extra,
    )


class Cluster:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.servers: list[ServerProcess] = []
        self.urls: list[str] = []

    def start(self, env: dict[str, str], *extra_args: str) -> str:
        port = free_port()
        args = ["hokusai_auth", "serve", "--port", str(port), "--no-migrate", *extra_args]
        server = ServerProcess(args, env, self.tmp_path / f"server-{port}.log")
        self.servers.append(server)
        url = f"http://127.0.0.1:{port}"
        server.wait_healthy(f"{url}/health")
        self.urls.append(url)
        return url

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    processes = Cluster(tmp_path)
    yield processes
    processes.stop()


async def test_three_processes_admit_exactly_50_of_300(
    cluster: Cluster, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    await truncate_pg(pg_url)
    env = service_env(pg_url, REDIS_URL=redis_url, REDIS_PREFIX=redis_prefix)
    urls = [cluster.start(env) for _ in range(3)]
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=300)) as client:
        created = await client.post(
            f"{urls[0]}/api/v1/keys", json={"name": "limited", "service_id": "prediction", "rate_limit_per_hour": 50},
            headers=ADMIN,
        )  # fmt: skip
        key = created.json()["api_key"]
        responses = await asyncio.gather(
            *(client.post(f"{urls[i % 3]}/api/v1/keys/validate", headers={"X-API-Key": key}) for i in range(300))
        )
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) == 50
    assert statuses.count(429) == 250
    assert all(response.headers.get("retry-after") for response in responses if response.status_code == 429)


async def _revocation_reaches_every_worker(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        created = (
            await client.post("/api/v1/keys", json={"name": "w", "service_id": "platform"}, headers=ADMIN)
        ).json()
        key = created["api_key"]

        async def ask() -> int:
            # a new connection each time, so both workers answer
            async with httpx.AsyncClient(base_url=url, timeout=30) as fresh:
                return (await fresh.post("/api/v1/keys/validate", headers={"X-API-Key": key})).status_code

        async def all_answer(status: int) -> bool:
            return all(answer == status for answer in await asyncio.gather(*(ask() for _ in range(20))))

        assert await all_answer(200)
        await client.delete(f"/api/v1/keys/{created['key_id']}", headers=ADMIN)
        await eventually(lambda: all_answer(401), within=1.5)


async def test_workers_share_revocations_through_redis(
    cluster: Cluster, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    await truncate_pg(pg_url)
    env = service_env(pg_url, REDIS_URL=redis_url, REDIS_PREFIX=redis_prefix)
    await _revocation_reaches_every_worker(cluster.start(env, "--workers", "2"))


async def test_workers_share_revocations_without_redis(cluster: Cluster, tmp_path: Path) -> None:
    # The embedded default's database and no Redis: workers learn of changes through the database.
    env = service_env(f"sqlite:///{tmp_path / 'workers.db'}", CHANGE_FEED_INTERVAL="0.2")
    await migrate.upgrade(env["DATABASE_URL"])
    await _revocation_reaches_every_worker(cluster.start(env, "--workers", "2"))
