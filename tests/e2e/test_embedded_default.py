"""The README path: `hokusai-auth serve` on a machine with no database server and no configuration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hokusai_auth.db import migrate
from tests.conftest import free_port
from tests.e2e.helpers import ServerProcess, clean_env

pytestmark = pytest.mark.slow


def test_first_start_from_an_empty_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(HOKUSAI_DATA_DIR=str(data_dir), BCRYPT_ROUNDS="4")

    server = ServerProcess(["hokusai_auth", "serve", "--port", str(port)], env, tmp_path / "first.log")
    try:
        server.wait_healthy(f"{base}/health")
        stored = json.loads((data_dir / "secrets.json").read_text())
        token = stored["admin_token"]
        created = httpx.post(
            f"{base}/api/v1/keys",
            json={"name": "readme", "service_id": "platform"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201
        key = created.json()["api_key"]
        for way in (
            {"headers": {"Authorization": f"Bearer {key}"}},
            {"headers": {"Authorization": f"ApiKey {key}"}},
            {"headers": {"X-API-Key": key}},
            {"json": {"api_key": key}},
            {"params": {"api_key": key}},
        ):
            response = httpx.post(f"{base}/api/v1/keys/validate", **way)
            assert response.status_code == 200, way
        assert httpx.get(f"{base}/ready").json()["checks"]["database"] is True
    finally:
        printed = server.stop()

    assert token in printed, "the generated admin token is printed on first start"
    curl = re.search(r"curl -s -X POST .*?-d '.*?'", printed, re.S)
    assert curl is not None, "a ready-to-paste curl line is printed"
    assert key not in printed
    log = (tmp_path / "first.log").read_text()
    assert key not in log
    assert token not in log, "the admin token goes to the terminal once, never to the log stream"
    for line in log.splitlines():
        json.loads(line)  # structured logs: one JSON object per line

    # A second start reuses the credentials and does not print the token again.
    second = ServerProcess(["hokusai_auth", "serve", "--port", str(port)], env, tmp_path / "second.log")
    try:
        second.wait_healthy(f"{base}/health")
        assert httpx.post(f"{base}/api/v1/keys/validate", headers={"X-API-Key": key}).status_code == 200
    finally:
        printed_again = second.stop()
    assert token not in printed_again


def test_production_refuses_to_start_without_strong_secrets(tmp_path: Path) -> None:
    env = clean_env(HOKUSAI_ENV="production", HOKUSAI_DATA_DIR=str(tmp_path), ADMIN_TOKEN="changeme")
    result = subprocess.run(
        [sys.executable, "-m", "hokusai_auth", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "ADMIN_TOKEN must be at least 32" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr
    assert not list(tmp_path.iterdir()), "nothing is generated in production"


def test_migrate_command(tmp_path: Path) -> None:
    env = clean_env(HOKUSAI_DATA_DIR=str(tmp_path))
    run = [sys.executable, "-m", "hokusai_auth", "migrate"]
    result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert f"revision {migrate.head_revision()}" in result.stdout
    down = subprocess.run([*run, "--downgrade", "--revision", "base"], env=env, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert "revision base" in down.stdout
