"""The examples in docs/examples.md, run as written against a real service, so the docs cannot drift."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.sdk.conftest import HOKUSAI_VARIABLES, LiveService

DOC = Path(__file__).resolve().parents[2] / "docs" / "examples.md"


def block(section: str, language: str) -> str:
    """The first ``language`` code block under the ``## section`` heading."""
    text = DOC.read_text()
    start = text.index(f"## {section}")
    match = re.compile(rf"```{language}\n(.*?)```", re.DOTALL).search(text, start)
    assert match is not None, f"no {language} block under {section}"
    return match.group(1)


def run(command: list[str], service: LiveService, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in HOKUSAI_VARIABLES}
    env.update(HOME=str(tmp_path), HOKUSAI_AUTH_SERVICE_URL=service.url, HOKUSAI_ADMIN_TOKEN=ADMIN_TOKEN)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_python_example(live_service: LiveService, tmp_path: Path) -> None:
    out = run([sys.executable, "-c", block("Python", "python")], live_service, tmp_path)
    assert "valid:" in out
    assert "refused: 401 insufficient_scope Key does not have required scope" in out
    assert "rotated to" in out
    assert "revoked" in out


def test_the_javascript_example(live_service: LiveService, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    script = tmp_path / "example.mjs"
    script.write_text(block("JavaScript", "javascript"))
    out = run([node, str(script)], live_service, tmp_path)
    assert "valid: true" in out
    assert "refused: 401 insufficient_scope Key does not have required scope" in out
    assert "old key still valid: true" in out
    assert "API key revoked successfully revoked" in out


def test_the_curl_example(live_service: LiveService, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    out = run(["bash", "-euo", "pipefail", "-c", block("curl", "sh")], live_service, tmp_path)
    assert "valid: 200" in out
    assert out.count('{"message":"API key revoked successfully"}') == 2
    assert "after revoke: 401" in out
