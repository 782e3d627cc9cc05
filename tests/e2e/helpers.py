"""Running real server processes in tests: start on a free port, wait until healthy, always stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx


class ServerProcess:
    def __init__(self, args: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", *args], env=env, stdout=subprocess.PIPE, stderr=self._log, start_new_session=True
        )
        self.stdout_lines: list[str] = []

    def wait_healthy(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not healthy after {timeout}s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> str:
        """SIGTERM (graceful), then return everything it printed on stdout."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        out = self.process.stdout.read().decode() if self.process.stdout else ""
        self._log.close()
        return out


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus any Hokusai configuration of the machine running the tests."""
    names = {"ADMIN_TOKEN", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BCRYPT_ROUNDS", "CACHE_TTL", "TRUSTED_PROXIES"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKUSAI_") and k not in names}
    env.update(extra)
    return env


def start_auth_service(work: Path, port: int, **env: str) -> ServerProcess:
    """``hokusai-auth serve`` on SQLite in ``work``, with the test suite's admin token and secret, bcrypt cost 4."""
    from tests.conftest import ADMIN_TOKEN, SECRET_KEY

    settings = clean_env(ADMIN_TOKEN=ADMIN_TOKEN, SECRET_KEY=SECRET_KEY, DATABASE_URL=f"sqlite:///{work / 'auth.db'}",
                         BCRYPT_ROUNDS="4", **env)  # fmt: skip
    return ServerProcess(["hokusai_auth", "serve", "--port", str(port)], settings, work / "auth.log")


def start_mlflow_server(work: Path, port: int) -> ServerProcess:
    """A real ``mlflow server`` (SQLite backend, artifacts served from ``work``), without the caller's MLFLOW_*."""
    mlflow_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # MLflow's job runner (several huey consumer processes per server, for its GenAI jobs) is nothing these tests
    # use: without it a server is healthy in about half the time and leaves the CPU to the other xdist workers.
    mlflow_env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    return ServerProcess(
        ["mlflow", "server", "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}", "--artifacts-destination",
         str(work / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        mlflow_env, work / "mlflow.log",
    )  # fmt: skip
