"""README's quick start, pasted into bash as written, against a real ``hokusai-auth serve`` on a fresh home.

The service starts with nothing configured (its data directory is the default one under the temporary HOME), so the
README's own line that reads the admin token from that directory is what the shell runs. Only the address changes:
the README's ``http://127.0.0.1:8000`` becomes the free port the test serves on. Every ``curl`` reports its status
on stderr, and each must be the status the README states for that step (``# → 201``, ``# 200: ...``); ``set -u``
makes a variable the README uses without setting fail the run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.docs_blocks import blocks, commands
from tests.e2e.helpers import ServerProcess, clean_env

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"
# Each request's status, method and address on stderr; the body still goes to stdout as the README shows it.
CURL_REPORTS = "curl() { command curl -w '%{stderr}%{http_code} %{method} %{url_effective}\\n' \"$@\"; }\n"
STATUS_ON_THE_LINE = re.compile(r"#\s*(?:→\s*)?(\d{3})\b")
STATUS_BELOW = re.compile(r"^#\s*→\s*(\d{3})\b")


def shell_blocks(heading: str) -> list[str]:
    return [block.text for block in blocks(README, "sh", heading=heading)]


def documented_statuses(block: str) -> list[int]:
    """For every curl in the block, the status the README gives it: on its own lines, or the next ``# → NNN``."""
    lines = commands(block)
    statuses: list[int] = []
    for index, command in enumerate(lines):
        if not re.search(r"(^|\$\()curl ", command.lstrip()):
            continue
        found = STATUS_ON_THE_LINE.search(command)
        if found is None:
            found = next((m for later in lines[index + 1 :] if (m := STATUS_BELOW.match(later.strip()))), None)
        assert found is not None, f"README states no status for: {command}"
        statuses.append(int(found.group(1)))
    return statuses


@dataclass
class Request:
    status: int
    method: str
    url: str


def test_the_readme_blocks_document_a_status_for_every_request() -> None:
    blocks = shell_blocks("Quick start")
    assert len(blocks) == 3, "create, validate, manage"
    assert documented_statuses(blocks[0]) == [201]
    assert documented_statuses(blocks[1]) == [200] * 5
    assert documented_statuses(blocks[2]) == [200, 200, 201, 200, 200]


@pytest.mark.skipif(sys.platform != "linux", reason="the README's data directory path is the Linux default")
def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(HOME=str(home))
    env.pop("XDG_DATA_HOME", None)  # the default data directory: ~/.local/share/hokusai-auth
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = ServerProcess(["hokusai_auth", "serve", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        server.wait_healthy(f"{base}/health")
        blocks = shell_blocks("Quick start")
        script = CURL_REPORTS + "\n".join(blocks).replace(DOCUMENTED_URL, base)
        shell_env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}
        result = subprocess.run(["bash", "-eu", "-o", "pipefail", "-c", script], env=shell_env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr

    requests = [Request(int(status), method, url) for status, method, url in
                (line.split(" ", 2) for line in result.stderr.splitlines() if line)]  # fmt: skip
    expected = [status for block in blocks for status in documented_statuses(block)]
    assert [r.status for r in requests] == expected, result.stdout + result.stderr

    # The steps reached the key they were meant for: KEY_ID was set, and every path carries it.
    created_id = re.search(r'"key_id":\s*"([0-9a-f-]{36})"', result.stdout)
    assert created_id is not None, result.stdout
    key_id = created_id.group(1)
    managed = requests[6:]
    assert [(r.method, r.url.removeprefix(base)) for r in managed] == [
        ("GET", "/api/v1/keys"),
        ("PATCH", f"/api/v1/keys/{key_id}"),
        ("POST", f"/api/v1/keys/{key_id}/rotate"),
        ("DELETE", f"/api/v1/keys/{key_id}"),
        ("GET", f"/api/v1/audit-logs?key_id={key_id}"),
    ]
    assert result.stdout.count('"is_valid":true') == 5, result.stdout
    for action in ("api_key.create", "api_key.update", "api_key.rotate", "api_key.revoke"):
        assert f'"{action}"' in result.stdout, f"the audit query shows {action}"
